"""Pool: the virtual numbers per region, their headroom, adding numbers."""

from masking.web.pool import api, console

__all__ = ["api", "console"]
