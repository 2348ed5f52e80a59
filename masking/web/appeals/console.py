"""``/appeals``: the site's queue (live), one appeal with its attempts and forms, and the
report. The Call button and the live refresh use the API (``/static/appeals.js``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from masking.service import MaskingService
from masking.states import AppealChannel, AppealType, CaseStatus
from masking.storage.models import Site
from masking.web.appeals import service as appeals
from masking.web.auth import Service, check_csrf
from masking.web.errors import ApiError
from masking.web.pages import act, fetch, flash_redirect, render, who

MANUAL_SOURCE = "console"
router = APIRouter(include_in_schema=False)

PAGE = 50


def site_zone(service: MaskingService, code: str | None) -> str:
    """The time zone the site's appeals are shown in (the service's default without one)."""
    if code:
        with service.db.session() as session:
            tz = session.scalar(select(Site.timezone).where(Site.code == code))
        if tz:
            return tz
    return service.settings.timezone


@router.get("/appeals")
def queue_page(
    request: Request,
    service: Service,
    site: str = "",
    topic: str = "",
    status: str = "",
    assignee: str = "",
    offset: int = 0,
) -> Response:
    p = who(request)
    offset = max(0, offset)
    query = {"site": site, "topic": topic, "status": status, "assignee": assignee}
    result: dict[str, Any]
    result, error = fetch(
        lambda: appeals.queue(
            service,
            p,
            site=site or None,
            topic=topic or None,
            status=status or None,
            assignee=assignee or None,
            limit=PAGE,
            offset=offset,
        ),
        {"site": site or p.site_code, "total": 0, "appeals": []},
    )
    rows: list[dict[str, Any]] = sorted(
        result["appeals"],
        key=lambda a: (a.get("minutes_left") is None, a.get("minutes_left") or 0),
    )
    assignees = sorted({a["assignee"] for a in rows if a.get("assignee")} | {p.login})
    return render(
        request,
        "appeals.html",
        p,
        result=result,
        rows=rows,
        error=error,
        query=query,
        offset=offset,
        tz=site_zone(service, result.get("site")),
        types=[t.value for t in AppealType],
        channels=[c.value for c in AppealChannel],
        statuses=[s.value for s in CaseStatus],
        assignees=assignees,
        api_url="/api/v1/appeals?" + urlencode({k: v for k, v in query.items() if v}),
        more_url="/appeals?" + urlencode({**query, "offset": offset + PAGE}),
    )


def _default_period(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    until = until or today
    return since or until - timedelta(days=6), until


@router.get("/appeals/report")
def report_page(
    request: Request,
    service: Service,
    site: str = "",
    since: date | None = None,
    until: date | None = None,
) -> Response:
    p = who(request)
    since, until = _default_period(since, until, service.clock().date())
    code = site or p.site_code or ""
    result, error = fetch(
        lambda: appeals.report(service, p, site=code or None, since=since, until=until),
        None,
    )
    query = {"site": code, "since": since.isoformat(), "until": until.isoformat()}
    return render(
        request,
        "appeals_report.html",
        p,
        result=result,
        error=error,
        query=query,
        csv_url="/api/v1/appeals/report?" + urlencode({**query, "format": "csv"}),
    )


@router.get("/appeals/{case_id}")
def appeal_page(request: Request, service: Service, case_id: str) -> Response:
    p = who(request)
    appeal, error = fetch(lambda: appeals.detail(service, p, case_id), None)
    return render(
        request,
        "appeal.html",
        p,
        status=200 if error is None else error.status,
        appeal=appeal,
        error=error,
        tz=site_zone(service, appeal["site"] if appeal else None),
        statuses=[s.value for s in CaseStatus if s != CaseStatus.NEW],
    )


@router.post("/appeals/{case_id}/take")
def take(
    request: Request, service: Service, case_id: str, csrf: str = Form("", max_length=100)
) -> Response:
    return act(request, csrf, f"/appeals/{case_id}", lambda p: appeals.take(service, p, case_id))


@router.post("/appeals/{case_id}/note")
def add_note(
    request: Request,
    service: Service,
    case_id: str,
    text: str = Form("", max_length=4000),
    csrf: str = Form("", max_length=100),
) -> Response:
    return act(
        request, csrf, f"/appeals/{case_id}", lambda p: appeals.note(service, p, case_id, text)
    )


@router.post("/appeals/{case_id}/status")
def set_status(
    request: Request,
    service: Service,
    case_id: str,
    status: str = Form("", max_length=40),
    note: str = Form("", max_length=4000),
    csrf: str = Form("", max_length=100),
) -> Response:
    # a refusal by the case rules is worded in the console's language (pages.error_sentence)
    return act(
        request,
        csrf,
        f"/appeals/{case_id}",
        lambda p: appeals.set_status(service, p, case_id, status, note),
    )


@router.post("/appeals/new")
def enter_appeal(
    request: Request,
    service: Service,
    site: str = Form("", max_length=64),
    appeal_id: str = Form("", max_length=64),
    topic: str = Form("", max_length=40),
    channel: str = Form("", max_length=20),
    order: str = Form("", max_length=64),
    phone: str = Form("", max_length=40),
    text: str = Form("", max_length=4000),
    csrf: str = Form("", max_length=100),
) -> Response:
    """A staff manager types in an appeal that reached the site another way (source
    ``console``); on success the appeal's page opens."""
    p = who(request)
    body = {
        "site": site,
        "source": MANUAL_SOURCE,
        "appeal_id": appeal_id,
        "type": topic,
        "channel": channel,
        "order": order,
        "phone": phone,
        "text": text,
    }
    try:
        check_csrf(request, csrf)
        view, _ = appeals.receive(service, p, body)
    except ApiError as exc:
        return flash_redirect(request, "/appeals", err=exc)
    return flash_redirect(request, f"/appeals/{view['id']}", ok="saved")
