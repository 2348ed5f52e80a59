"""Calls: the call log, one call, and its live status as server-sent events."""

from masking.web.calls import api, console

__all__ = ["api", "console"]
