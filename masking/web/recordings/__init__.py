"""Recordings: list, random samples for review, the audio file, retention."""

from masking.web.recordings import api, console

__all__ = ["api", "console"]
