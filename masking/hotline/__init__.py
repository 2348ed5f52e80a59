"""Hotline: identify a caller by number (exact and 1-2 digit typos) for a brand's team."""
