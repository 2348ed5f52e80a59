"""The appeals queue on behalf of a :class:`Principal`: intake, the site's queue, one
appeal with its attempts, notes and audit, take / note / status, the masked call back and
the report.

No view carries the customer's number or a temporary number: the customer is reached
only through click-to-call of the appeal's order (:func:`call`).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from masking.calls.contract import Originator
from masking.cases import appeals, lifecycle
from masking.cases.rules import OPEN, RuleBroken
from masking.cases.sla import sla_state
from masking.hours import zone
from masking.policy import Action, may
from masking.service import MaskingService
from masking.shapes import AdminError
from masking.states import AppealType, CaseKind, CaseStatus, Role
from masking.storage.models import CallRecord, Case, Shipment, Site, Staff
from masking.web.auth import Principal, need
from masking.web.case_views import attempt_view, events_view, login_of, notes_view
from masking.web.errors import ApiError, bad_input, forbidden, not_found, other_site
from masking.web.items.service import start_call
from masking.web.lookups import check_login, check_one_of, check_page, iso, site_for

CALL_REASON = "appeal_callback"
MAX_PAGE = 200
REPORT_DAYS = 30  # the report's default period, ending today
# the domain names the fields as stored; the API as the upstream system sends them
FIELD_NAMES = {
    "external_ref": "appeal_id",
    "topic": "type",
    "order_ref": "order",
    "customer_phone": "phone",
}
_FIELD = re.compile(r"^(\w+):")


def _bad(exc: AdminError) -> ApiError:
    message = _FIELD.sub(lambda m: FIELD_NAMES.get(m[1], m[1]) + ":", str(exc), count=1)
    return bad_input(message)


def _refused(exc: RuleBroken) -> ApiError:
    """409 with the rule as the code, its English message, and its ``params`` (statuses,
    seconds) from which the console words the refusal in its own language."""
    return ApiError(409, exc.rule, str(exc), params=dict(exc.params))


# ---- views -------------------------------------------------------------------------------
def _minutes_left(case: Case, now: datetime) -> int | None:
    if case.status not in OPEN or case.due_at is None:
        return None
    return int((case.due_at - now).total_seconds() // 60)


def appeal_view(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    site = session.get(Site, case.site_id)
    order = session.get(Shipment, case.shipment_id)
    return {
        "id": case.id,
        "site": site.code if site else None,
        "source": case.source,
        "appeal_id": case.external_ref,
        "type": case.topic,
        "channel": case.channel,
        "order": order.external_number if order else None,
        "text": case.text,
        "status": case.status,
        "assignee": login_of(session, case.assignee_id),
        "received_at": iso(case.received_at),
        "first_call_due_at": iso(case.first_call_due_at),
        "due_at": iso(case.due_at),
        "first_attempt_at": iso(case.first_attempt_at),
        "closed_at": iso(case.closed_at),
        "closed_automatically": case.closed_automatically,
        "sla": sla_state(case, now),
        "minutes_left": _minutes_left(case, now),
    }


# ---- who sees which appeal ---------------------------------------------------------------
def _readable(session: Session, p: Principal, case_id: str) -> Case:
    """The appeal, if ``p`` may see it: admins every one, site staff their site's."""
    if not (may(p.role, Action.SEE_ALL_APPEALS) or may(p.role, Action.WORK_APPEALS)):
        raise forbidden()
    case = session.get(Case, case_id) if len(case_id) <= 32 else None
    if case is None or case.kind != CaseKind.APPEAL:
        raise not_found("appeal")
    if not may(p.role, Action.SEE_ALL_APPEALS) and case.site_id != p.site_id:
        raise other_site()
    return case


def _workable(service: MaskingService, p: Principal, case_id: str) -> Case:
    """The appeal, if ``p`` works this site's queue (admins read, they do not work it)."""
    with service.db.session() as session:
        case = _readable(session, p, case_id)
        if not may(p.role, Action.WORK_APPEALS):
            raise forbidden("the site's staff work its appeals")
        session.expunge(case)
        return case


# ---- intake ------------------------------------------------------------------------------
def _received_at(value: Any, now: datetime) -> datetime:
    if value is None or value == "":
        return now
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise bad_input("received_at: an ISO 8601 time with its UTC offset") from None


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_input(f"{name}: must be text")
    return value or ""


def receive(
    service: MaskingService, p: Principal, body: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Open the appeal (or find the one sent before with the same source and appeal_id);
    returns (its view, whether it is new)."""
    need(p, Action.RECEIVE_APPEALS, "appeals are received by an admin or the site's managers")
    now = service.clock()
    with service.db.session() as session:
        site = site_for(session, p, _text(body, "site") or None, required=True)
        assert site is not None
        code, site_id = site.code, site.id
    try:
        opened = appeals.receive_appeal(
            service,
            site_code=code,
            source=_text(body, "source"),
            external_ref=_text(body, "appeal_id"),
            topic=_text(body, "type"),
            channel=_text(body, "channel"),
            order_ref=_text(body, "order"),
            customer_phone=_text(body, "phone") or None,
            text=_text(body, "text"),
            received_at=_received_at(body.get("received_at"), now),
            staff_id=p.id if p.role == Role.STAFF_MANAGER else None,
        )
    except AdminError as exc:
        raise _bad(exc) from None
    with service.db.session() as session:
        case = session.get(Case, opened.case_id)
        assert case is not None
        if case.site_id != site_id:
            # the source already sent this appeal_id for another site
            raise other_site()
        return appeal_view(session, case, service.clock()), opened.new


# ---- the queue ---------------------------------------------------------------------------
def queue(
    service: MaskingService,
    p: Principal,
    *,
    site: str | None = None,
    topic: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The appeals by time left: open ones first, soonest due first; then closed ones,
    newest first. Site staff see their site; admins every site or the one named."""
    if not (may(p.role, Action.SEE_ALL_APPEALS) or may(p.role, Action.WORK_APPEALS)):
        raise forbidden()
    check_page(limit, offset, MAX_PAGE)
    if topic:
        check_one_of("type", topic, AppealType)
    if status:
        check_one_of("status", status, CaseStatus)
    if assignee:
        check_login("assignee", assignee)
    now = service.clock()
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
        query = select(Case).where(Case.kind == CaseKind.APPEAL)
        if target is not None:
            query = query.where(Case.site_id == target.id)
        if topic:
            query = query.where(Case.topic == topic)
        if status:
            query = query.where(Case.status == status)
        if assignee:
            query = query.where(
                Case.assignee_id
                == select(Staff.id).where(Staff.login == assignee).scalar_subquery()
            )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        is_open = Case.status.in_(OPEN)
        rows = session.scalars(
            query.order_by(
                when((is_open, 0), else_=1),
                when((is_open, Case.due_at), else_=None),
                Case.closed_at.desc(),
                Case.id,
            )
            .limit(limit)
            .offset(offset)
        )
        return {
            "site": target.code if target else None,
            "total": total,
            "appeals": [appeal_view(session, c, now) for c in rows],
        }


def detail(service: MaskingService, p: Principal, case_id: str) -> dict[str, Any]:
    """One appeal with its call attempts, notes and audit, oldest first."""
    with service.db.session() as session:
        case = _readable(session, p, case_id)
        view = appeal_view(session, case, service.clock())
        records = session.scalars(
            select(CallRecord)
            .where(CallRecord.case_id == case.id)
            .order_by(CallRecord.started_at, CallRecord.id)
        )
        view["attempts"] = [attempt_view(session, p, r) for r in records]
        view["notes"] = notes_view(session, case.id)
        view["events"] = events_view(session, case.id)
        return view


# ---- work on one appeal ------------------------------------------------------------------
def take(service: MaskingService, p: Principal, case_id: str) -> dict[str, Any]:
    """``p`` takes the appeal: assigned, In progress if it was New."""
    _workable(service, p, case_id)
    try:
        lifecycle.take(service, case_id, p.id)
    except RuleBroken as exc:
        raise _refused(exc) from None
    return detail(service, p, case_id)


def note(service: MaskingService, p: Principal, case_id: str, text: str) -> dict[str, Any]:
    text = (text or "").strip()
    if not text:
        raise bad_input("text: write the note")
    if len(text) > lifecycle.MAX_NOTE:
        raise bad_input(f"text: at most {lifecycle.MAX_NOTE} characters")
    _workable(service, p, case_id)
    try:
        lifecycle.add_note(service, case_id, p.id, text)
    except RuleBroken as exc:
        raise _refused(exc) from None
    return detail(service, p, case_id)


def set_status(
    service: MaskingService, p: Principal, case_id: str, status: str, note: str
) -> dict[str, Any]:
    """Change the status with a note; 409 with the rule when the evidence is missing."""
    check_one_of("status", status, CaseStatus)
    if len(note or "") > lifecycle.MAX_NOTE:
        raise bad_input(f"note: at most {lifecycle.MAX_NOTE} characters")
    _workable(service, p, case_id)
    try:
        lifecycle.change_status(service, case_id, p.id, status, note or "")
    except RuleBroken as exc:
        raise _refused(exc) from None
    return detail(service, p, case_id)


async def call(
    service: MaskingService,
    p: Principal,
    case_id: str,
    originator: Originator | None,
    channel: str = "api",
) -> dict[str, Any]:
    """Click-to-call of the appeal's order (reason ``appeal_callback``): rings ``p``'s
    desk phone, then the customer through the order's temporary number. Returns the call."""
    case = await run_in_threadpool(_workable, service, p, case_id)
    if case.status not in OPEN:
        raise _refused(
            RuleBroken("closed", f"status: the appeal is {case.status}", current=case.status)
        )
    order = await run_in_threadpool(_order_of, service, case.shipment_id)
    return await start_call(service, p, originator, order, CALL_REASON, channel, case.id)


def _order_of(service: MaskingService, shipment_id: int | None) -> str:
    """The order an appeal is about (an appeal always has one; only an identification
    whose caller matched nothing has none)."""
    with service.db.session() as session:
        shipment = session.get(Shipment, shipment_id) if shipment_id is not None else None
        assert shipment is not None
        return shipment.external_number


# ---- report ------------------------------------------------------------------------------
def report(
    service: MaskingService,
    p: Principal,
    *,
    site: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """The site's appeals of a period (the site's local dates, both inclusive; by default
    the last 30 days): received, shares called and resolved in time, auto-closed, median
    minutes to the first call."""
    need(p, Action.APPEALS_REPORT)
    with service.db.session() as session:
        target = site_for(session, p, site, required=True)
        assert target is not None
        code, tz = target.code, target.timezone
    until = until or service.clock().astimezone(zone(tz)).date()
    since = since or until - timedelta(days=REPORT_DAYS - 1)
    try:
        return appeals.report(service, code, since, until)
    except AdminError as exc:
        raise _bad(exc) from None


def report_csv(data: dict[str, Any]) -> str:
    """The report as CSV: a header row and one row of values."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(data))
    writer.writerow(["" if v is None else v for v in data.values()])
    return out.getvalue()
