"""Audit: every reveal of a temporary number, granted or refused."""

from masking.web.audit import api, console

__all__ = ["api", "console"]
