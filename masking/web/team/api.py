"""``/api/v1/team``: a site's staff and the number-visibility switch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from masking.web.auth import Service, Who
from masking.web.schemas import SiteFilter, Strict
from masking.web.team.service import list_team, set_visibility

router = APIRouter()


class VisibilityIn(Strict):
    visible: bool


@router.get("/team", tags=["team"])
def team(service: Service, p: Who, site: SiteFilter = None) -> Any:
    """The site's staff and who sees numbers (owners, staff managers, admins)."""
    return list_team(service, p, site)


@router.put("/team/{login}/visibility", tags=["team"])
def visibility(
    service: Service, p: Who, login: Annotated[str, Path(max_length=100)], body: VisibilityIn
) -> Any:
    """Switch number visibility for an employee (the site's owner, or an admin)."""
    return set_visibility(service, p, login, body.visible)
