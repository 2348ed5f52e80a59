"""``/team``: the site's staff; the owner switches number visibility per employee, switches
accounts off or on and sets new passwords."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from masking.service import MaskingService
from masking.web.auth import Principal, Service
from masking.web.pages import act, fetch, render, who
from masking.web.team.service import list_team, reset_password, set_active, set_visibility

router = APIRouter(include_in_schema=False)


@router.get("/team")
def team_page(request: Request, service: Service, site: str = "") -> Response:
    p = who(request)
    data, error = fetch(lambda: list_team(service, p, site or None), None)
    return render(request, "team.html", p, data=data, error=error)


def _back(site: str) -> str:
    return "/team" + (f"?site={quote(site)}" if site else "")


@router.post("/team/{login}/password")
def team_password(
    request: Request,
    service: Service,
    login: str,
    password: str = Form("", max_length=200),
    csrf: str = Form("", max_length=100),
    site: str = Form("", max_length=64),
) -> Response:
    return act(request, csrf, _back(site), lambda p: reset_password(service, p, login, password))


# the two on/off switches of a team member: number visibility and the account itself
SWITCHES: dict[str, Callable[[MaskingService, Principal, str, bool], object]] = {
    "visibility": set_visibility,
    "active": set_active,
}


@router.post("/team/{login}/{switch}")
def team_switch(
    request: Request,
    service: Service,
    login: str,
    switch: Literal["visibility", "active"],
    on: str = Form("0", max_length=1),
    csrf: str = Form("", max_length=100),
    site: str = Form("", max_length=64),
) -> Response:
    change = SWITCHES[switch]
    return act(request, csrf, _back(site), lambda p: change(service, p, login, on == "1"))
