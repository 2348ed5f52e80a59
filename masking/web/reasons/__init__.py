"""Reasons for a call: the list staff choose from, edited by admins."""

from masking.web.reasons import api, console

__all__ = ["api", "console"]
