"""Session: sign in and out, the interface language, who am I."""

from masking.web.session import api, console

__all__ = ["api", "console"]
