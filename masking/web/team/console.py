"""``/team``: the site's staff; the owner switches number visibility per employee."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from masking.web.auth import Service
from masking.web.pages import act, fetch, render, who
from masking.web.team.service import list_team, set_visibility

router = APIRouter(include_in_schema=False)


@router.get("/team")
def team_page(request: Request, service: Service, site: str = "") -> Response:
    p = who(request)
    data, error = fetch(lambda: list_team(service, p, site or None), None)
    return render(request, "team.html", p, data=data, error=error)


@router.post("/team/{login}/visibility")
def team_visibility(
    request: Request,
    service: Service,
    login: str,
    visible: str = Form("0", max_length=1),
    csrf: str = Form("", max_length=100),
    site: str = Form("", max_length=64),
) -> Response:
    back = "/team" + (f"?site={quote(site)}" if site else "")
    return act(request, csrf, back, lambda p: set_visibility(service, p, login, visible == "1"))
