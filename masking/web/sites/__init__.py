"""Sites: the list, one site, its hours and exceptions, suspension of its numbers."""

from masking.web.sites import api, console

__all__ = ["api", "console"]
