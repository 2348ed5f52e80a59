"""Confirmation campaigns (issue 11): orders from the shop's system, campaigns and their
assignments, the worklist with why an order is not dialable now, preview and progressive
dialing, confirming an order, and the day report."""

from masking.web.campaigns import api, console

__all__ = ["api", "console"]
