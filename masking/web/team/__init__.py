"""Team: a site's staff, and the owner's switch for who sees numbers."""

from masking.web.team import api, console

__all__ = ["api", "console"]
