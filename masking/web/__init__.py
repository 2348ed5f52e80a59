"""HTTP API (``/api/v1``) and the server-rendered web console."""

from masking.web.app import create_app

__all__ = ["create_app"]
