"""``/admin/sites``: the admin's sites, one site's hours, exceptions and suspension."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from masking.hours import weekly_text
from masking.policy import Action
from masking.web.auth import Principal, Service, need
from masking.web.errors import bad_input
from masking.web.pages import act, fetch, render, who
from masking.web.sites.service import (
    add_exception,
    delete_exception,
    get_site,
    list_sites,
    resume,
    set_hours,
    suspend,
)

router = APIRouter(include_in_schema=False)


def _site_url(code: str) -> str:
    return "/admin/sites/" + quote(code, safe="")


@router.get("/admin/sites")
def sites_page(request: Request, service: Service) -> Response:
    p = who(request)
    sites, error = fetch(lambda: list_sites(service, p), list[dict[str, Any]]())
    return render(request, "sites.html", p, sites=sites, error=error)


@router.get("/admin/sites/{code}")
def site_page(request: Request, service: Service, code: str) -> Response:
    p = who(request)

    def load() -> dict[str, Any]:
        need(p, Action.CHANGE_SITES)
        return get_site(service, p, code)

    site, error = fetch(load, None)
    hours_text = weekly_text(site["weekly_hours"]) if site else ""
    return render(request, "site.html", p, site=site, hours_text=hours_text, error=error)


@router.post("/admin/sites/{code}/hours")
def site_hours(
    request: Request,
    service: Service,
    code: str,
    hours: str = Form("", max_length=1000),
    csrf: str = Form(""),
) -> Response:
    return act(request, csrf, _site_url(code), lambda p: set_hours(service, p, code, hours))


@router.post("/admin/sites/{code}/exceptions")
def site_exception(
    request: Request,
    service: Service,
    code: str,
    day: str = Form("", max_length=10),
    intervals: str = Form("", max_length=200),
    note: str = Form("", max_length=200),
    csrf: str = Form(""),
) -> Response:
    def change(p: Principal) -> None:
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise bad_input("date: use YYYY-MM-DD") from None
        parts = [i.strip() for i in intervals.replace(";", ",").split(",") if i.strip()]
        add_exception(service, p, code, parsed, parts, note)

    return act(request, csrf, _site_url(code), change)


@router.post("/admin/sites/{code}/exceptions/{day}/delete")
def site_exception_delete(
    request: Request, service: Service, code: str, day: date, csrf: str = Form("")
) -> Response:
    return act(request, csrf, _site_url(code), lambda p: delete_exception(service, p, code, day))


@router.post("/admin/sites/{code}/suspend")
def site_suspend(
    request: Request,
    service: Service,
    code: str,
    reason: str = Form("", max_length=1000),
    csrf: str = Form(""),
) -> Response:
    def change(p: Principal) -> None:
        if not reason.strip():
            raise bad_input("напишите причину / give a reason")
        suspend(service, p, code, reason)

    return act(request, csrf, _site_url(code), change)


@router.post("/admin/sites/{code}/resume")
def site_resume(request: Request, service: Service, code: str, csrf: str = Form("")) -> Response:
    return act(request, csrf, _site_url(code), lambda p: resume(service, p, code))
