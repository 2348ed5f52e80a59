"""The web console: server-rendered pages for counter staff, owners, admins and QA.

Forms post back here (with the session's CSRF token) and redirect with a one-line
message; the Call button uses the JSON API and follows the call over server-sent events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from masking.hours import weekly_text
from masking.states import Direction, Disposition, Role
from masking.web import auth as auth_mod
from masking.web import i18n, ops
from masking.web.auth import Principal, check_csrf, csrf_token, optional_principal, service_of
from masking.web.errors import ApiError

T = TypeVar("T")
router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class NeedLogin(Exception):
    """Raised by a page whose visitor is not signed in (the app redirects to /login)."""


def home_for(p: Principal) -> str:
    if p.role == Role.ADMIN:
        return "/admin/sites"
    if p.role == Role.QA:
        return "/qa/recordings"
    return "/search"


def who(request: Request) -> Principal:
    try:
        p = optional_principal(request)
    except ApiError:
        p = None
    if p is None:
        raise NeedLogin
    return p


def render(
    request: Request,
    name: str,
    p: Principal | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = i18n.lang_of(request)
    flash = request.session.pop("flash", None) if p is not None else None
    error = context.pop("error", None)
    if isinstance(error, ApiError):
        error = i18n.error_text(error.code, lang, error.message)
    base = {
        "request": request,
        "me": p,
        "lang": lang,
        "t": lambda key: i18n.text(key, lang),
        "csrf": csrf_token(request),
        "flash": flash,
        "error": error,
        "path": request.url.path,
        "errors_json": json.dumps({k: v[0 if lang == "ru" else 1] for k, v in i18n.ERRORS.items()}),
        "status_json": json.dumps(
            {
                k.split("_", 1)[1]: v[0 if lang == "ru" else 1]
                for k, v in i18n.TEXT.items()
                if k.startswith(("st_", "d_"))
            }
        ),
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


def flash_redirect(
    request: Request, url: str, *, ok: str | None = None, err: Any = None
) -> Response:
    lang = i18n.lang_of(request)
    if isinstance(err, ApiError):
        request.session["flash"] = {
            "kind": "error",
            "text": i18n.error_text(err.code, lang, err.message),
        }
    elif ok:
        request.session["flash"] = {"kind": "ok", "text": i18n.text(ok, lang)}
    return RedirectResponse(url, status_code=303)


def fetch(load: Callable[[], T], default: T) -> tuple[T, ApiError | None]:
    """What a page shows: the data, or the default and the refusal to show instead."""
    try:
        return load(), None
    except ApiError as exc:
        return default, exc


def require_admin(p: Principal) -> Principal:
    if not p.is_admin:
        raise ApiError(403, "forbidden", "")
    return p


def act(request: Request, csrf: str, url: str, action: Callable[[], Any]) -> Response:
    try:
        check_csrf(request, csrf)
        action()
    except ApiError as exc:
        return flash_redirect(request, url, err=exc)
    return flash_redirect(request, url, ok="saved")


# ---- login -------------------------------------------------------------------------------
@router.get("/")
def index(request: Request) -> Response:
    try:
        p = who(request)
    except NeedLogin:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_for(p), status_code=303)


@router.get("/lang/{lang}")
def set_lang(request: Request, lang: str, next: str = "/") -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if lang in i18n.LANGS:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    return render(request, "login.html", None)


@router.post("/login")
def login_submit(
    request: Request,
    login: str = Form("", max_length=100),
    password: str = Form("", max_length=200),
    csrf: str = Form("", max_length=100),
) -> Response:
    try:
        check_csrf(request, csrf)
    except ApiError as exc:
        return render(request, "login.html", None, status=403, error=exc)
    p = auth_mod.login(service_of(request), login.strip(), password)
    if p is None:
        lang = i18n.lang_of(request)
        return render(request, "login.html", None, status=401, error=i18n.text("bad_login", lang))
    request.session.clear()
    request.session["staff_id"] = p.id
    csrf_token(request)
    return RedirectResponse(home_for(p), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: str = Form("", max_length=100)) -> Response:
    try:
        check_csrf(request, csrf)
    except ApiError:
        pass
    else:
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


# ---- item search ---------------------------------------------------------------------------
@router.get("/search")
def search_page(request: Request, shipment: str = "") -> Response:
    p = who(request)
    item, error = None, None
    if shipment.strip():
        try:
            item = ops.search_item(service_of(request), p, shipment)
        except ApiError as exc:
            error = exc
    elif p.site_id is None:
        error = ApiError(403, "forbidden", "")
    return render(request, "search.html", p, shipment=shipment.strip()[:64], item=item, error=error)


@router.post("/search/reveal")
def search_reveal(
    request: Request,
    shipment: str = Form("", max_length=64),
    reason: str = Form("", max_length=40),
    csrf: str = Form("", max_length=100),
) -> Response:
    p = who(request)
    service = service_of(request)
    revealed, error, item = None, None, None
    try:
        check_csrf(request, csrf)
        if not reason:
            raise ApiError(422, "bad_reason", "choose one of the allowed reasons")
        revealed = ops.reveal(service, p, shipment, reason, channel="console")
    except ApiError as exc:
        error = exc
    try:
        item = ops.search_item(service, p, shipment)
    except ApiError as exc:
        error = error or exc
    return render(
        request,
        "search.html",
        p,
        status=200 if error is None else error.status,
        shipment=shipment.strip(),
        item=item,
        revealed=revealed,
        reason=reason,
        error=error,
    )


# ---- call history ----------------------------------------------------------------------------
@router.get("/calls")
def calls_page(
    request: Request,
    site: str = "",
    direction: str = "",
    disposition: str = "",
    shipment: str = "",
    since: date | None = None,
    until: date | None = None,
    offset: int = 0,
) -> Response:
    p = who(request)
    result, error = {"total": 0, "calls": []}, None
    try:
        result = ops.list_calls(
            service_of(request),
            p,
            site=site or None,
            direction=direction or None,
            disposition=disposition or None,
            shipment=shipment.strip() or None,
            since=since,
            until=until,
            limit=50,
            offset=max(0, offset),
        )
    except ApiError as exc:
        error = exc
    query: dict[str, str] = {"site": site, "direction": direction, "disposition": disposition}
    query |= {"shipment": shipment, "since": str(since or ""), "until": str(until or "")}
    return render(
        request,
        "calls.html",
        p,
        result=result,
        error=error,
        query=query,
        offset=max(0, offset),
        more_url="/calls?" + urlencode({**query, "offset": max(0, offset) + 50}),
        directions=[d.value for d in Direction],
        dispositions=[d.value for d in Disposition],
    )


# ---- team -------------------------------------------------------------------------------------
@router.get("/team")
def team_page(request: Request, site: str = "") -> Response:
    p = who(request)
    data, error = fetch(lambda: ops.team(service_of(request), p, site or None), None)
    return render(request, "team.html", p, data=data, error=error)


@router.post("/team/{login}/visibility")
def team_visibility(
    request: Request,
    login: str,
    visible: str = Form("0", max_length=1),
    csrf: str = Form("", max_length=100),
    site: str = Form("", max_length=64),
) -> Response:
    p = who(request)
    back = "/team" + (f"?site={quote(site)}" if site else "")
    return act(
        request,
        csrf,
        back,
        lambda: ops.set_visibility(service_of(request), p, login, visible == "1"),
    )


# ---- admin: sites -------------------------------------------------------------------------------
@router.get("/admin/sites")
def sites_page(request: Request) -> Response:
    p = who(request)
    sites, error = fetch(lambda: ops.list_sites(service_of(request), p), list[dict[str, Any]]())
    return render(request, "sites.html", p, sites=sites, error=error)


@router.get("/admin/sites/{code}")
def site_page(request: Request, code: str) -> Response:
    p = who(request)
    site, error = fetch(lambda: ops.get_site(service_of(request), require_admin(p), code), None)
    hours_text = weekly_text(site["weekly_hours"]) if site else ""
    return render(request, "site.html", p, site=site, hours_text=hours_text, error=error)


def _site_url(code: str) -> str:
    return "/admin/sites/" + quote(code, safe="")


@router.post("/admin/sites/{code}/hours")
def site_hours(
    request: Request, code: str, hours: str = Form("", max_length=1000), csrf: str = Form("")
) -> Response:
    p = who(request)
    return act(
        request, csrf, _site_url(code), lambda: ops.set_hours(service_of(request), p, code, hours)
    )


@router.post("/admin/sites/{code}/exceptions")
def site_exception(
    request: Request,
    code: str,
    day: str = Form("", max_length=10),
    intervals: str = Form("", max_length=200),
    note: str = Form("", max_length=200),
    csrf: str = Form(""),
) -> Response:
    p = who(request)

    def change() -> None:
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise ApiError(422, "bad_input", "date: use YYYY-MM-DD") from None
        parts = [i.strip() for i in intervals.replace(";", ",").split(",") if i.strip()]
        ops.add_exception(service_of(request), p, code, parsed, parts, note)

    return act(request, csrf, _site_url(code), change)


@router.post("/admin/sites/{code}/exceptions/{day}/delete")
def site_exception_delete(request: Request, code: str, day: date, csrf: str = Form("")) -> Response:
    p = who(request)
    return act(
        request,
        csrf,
        _site_url(code),
        lambda: ops.delete_exception(service_of(request), p, code, day),
    )


@router.post("/admin/sites/{code}/suspend")
def site_suspend(
    request: Request, code: str, reason: str = Form("", max_length=1000), csrf: str = Form("")
) -> Response:
    p = who(request)

    def change() -> None:
        if not reason.strip():
            raise ApiError(422, "bad_input", "напишите причину / give a reason")
        ops.suspend(service_of(request), p, code, reason)

    return act(request, csrf, _site_url(code), change)


@router.post("/admin/sites/{code}/resume")
def site_resume(request: Request, code: str, csrf: str = Form("")) -> Response:
    p = who(request)
    return act(request, csrf, _site_url(code), lambda: ops.resume(service_of(request), p, code))


# ---- admin: pool, reasons, audit ---------------------------------------------------------
@router.get("/admin/pool")
def pool_page(request: Request) -> Response:
    p = who(request)
    data, error = fetch(lambda: ops.pool_view(service_of(request), p), None)
    return render(request, "pool.html", p, data=data, error=error)


@router.post("/admin/pool")
def pool_add(
    request: Request,
    numbers: str = Form("", max_length=200_000),
    region: str = Form("", max_length=2),
    csrf: str = Form(""),
) -> Response:
    p = who(request)
    lines = [n.strip() for n in numbers.splitlines() if n.strip()]
    return act(
        request,
        csrf,
        "/admin/pool",
        lambda: ops.add_numbers(service_of(request), p, lines, region.upper() or None),
    )


@router.get("/admin/reasons")
def reasons_page(request: Request) -> Response:
    p = who(request)
    reasons, error = fetch(
        lambda: ops.list_reasons(service_of(request), require_admin(p), True),
        list[dict[str, Any]](),
    )
    return render(request, "reasons.html", p, reasons=reasons, error=error)


@router.post("/admin/reasons")
def reasons_add(
    request: Request,
    code: str = Form("", max_length=40),
    title_ru: str = Form("", max_length=300),
    title_en: str = Form("", max_length=300),
    kind: str = Form("pickup_point", max_length=20),
    csrf: str = Form(""),
) -> Response:
    p = who(request)
    return act(
        request,
        csrf,
        "/admin/reasons",
        lambda: ops.create_reason(service_of(request), p, code, title_ru, title_en, kind),
    )


@router.post("/admin/reasons/{code}/active")
def reasons_toggle(
    request: Request, code: str, active: str = Form("0", max_length=1), csrf: str = Form("")
) -> Response:
    p = who(request)
    return act(
        request,
        csrf,
        "/admin/reasons",
        lambda: ops.update_reason(
            service_of(request), p, code, active=active == "1", title_ru=None, title_en=None
        ),
    )


@router.get("/admin/audit")
def audit_page(request: Request, site: str = "", staff: str = "", offset: int = 0) -> Response:
    p = who(request)
    data, error = {"total": 0, "entries": []}, None
    try:
        data = ops.audit(
            service_of(request),
            p,
            site=site or None,
            staff=staff or None,
            granted=None,
            limit=100,
            offset=max(0, offset),
        )
    except ApiError as exc:
        error = exc
    return render(request, "audit.html", p, data=data, error=error, site=site, staff=staff)


# ---- QA: recordings ------------------------------------------------------------------------
@router.get("/qa/recordings")
def recordings_page(
    request: Request, site: str = "", sample: int = 0, size: int = 5, days: int = 7
) -> Response:
    p = who(request)
    service = service_of(request)
    rows: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    error = None
    try:
        sites = ops.list_sites(service, p)
        if sample:
            rows = ops.sample_recordings(service, p, site, size, days)["recordings"]
        else:
            rows = ops.list_recordings(service, p, site or None, 50, 0)["recordings"]
    except ApiError as exc:
        error = exc
    return render(
        request,
        "recordings.html",
        p,
        rows=rows,
        sites=sites,
        site=site,
        sample=sample,
        size=size,
        days=days,
        error=error,
    )
