"""Appeals: intake from an upstream system, the site's queue, the masked call back and
the report."""

from masking.web.appeals import api, console

__all__ = ["api", "console"]
