"""``/api/v1/me``: who the token (or the console session) belongs to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from masking.web.auth import Who
from masking.web.session.service import whoami

router = APIRouter()


@router.get("/me", tags=["session"])
def me(p: Who) -> dict[str, Any]:
    return whoami(p)
