"""``/api/v1/team``: a site's staff, the number-visibility switch, and accounts switched
off or on or given a new password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from masking.web.auth import Service, Who
from masking.web.schemas import SiteFilter, Strict
from masking.web.team.service import list_team, reset_password, set_active, set_visibility

router = APIRouter()
Login = Annotated[str, Path(max_length=100)]


class VisibilityIn(Strict):
    visible: bool


class ActiveIn(Strict):
    active: bool


class PasswordIn(BaseModel):
    # not Strict: a password keeps its spaces
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=200)


@router.get("/team", tags=["team"])
def team(service: Service, p: Who, site: SiteFilter = None) -> Any:
    """The site's staff and who sees numbers (owners, staff managers, admins)."""
    return list_team(service, p, site)


@router.put("/team/{login}/visibility", tags=["team"])
def visibility(service: Service, p: Who, login: Login, body: VisibilityIn) -> Any:
    """Switch number visibility for an employee (the site's owner, or an admin)."""
    return set_visibility(service, p, login, body.visible)


@router.put("/team/{login}/active", tags=["team"])
def active(service: Service, p: Who, login: Login, body: ActiveIn) -> Any:
    """Switch an account off (console sessions end; token and desk phone refused at once)
    or on (an admin; an owner for the employees and staff managers of the site)."""
    return set_active(service, p, login, body.active)


@router.put("/team/{login}/password", tags=["team"])
def password(service: Service, p: Who, login: Login, body: PasswordIn) -> Any:
    """Set a new console password (at least 12 characters); the member's console
    sessions end (an admin; an owner for the employees and staff managers of the site)."""
    return reset_password(service, p, login, body.password)
