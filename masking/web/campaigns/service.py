"""Confirmation campaigns on behalf of a :class:`Principal`: the shop's orders in, the
campaigns and who works them, the worklist (each order's "why not now" as machine
fields), preview and progressive dialing, the outcome of an order, the day report.

Who may do what (:mod:`masking.policy` and the assignment rule of issue 11):

- an employee sees and works only a campaign assigned to them today (the campaign's own
  date), and the orders that campaign covers;
- owner, staff manager and QA see every campaign of their site, admin every site's,
  read-only; owner and staff manager also work a campaign assigned to them;
- the shop's system (admin, owner, staff manager tokens) sends orders.

No view carries the customer's number or a temporary number: the customer is reached
only through click-to-call of the order (reason ``order_confirmation``).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from masking.calls import call_log
from masking.calls.contract import Originator
from masking.campaigns import orders, progressive, worklist
from masking.campaigns.policy import AttemptPolicy, PolicyError, Verdict, created_since
from masking.cases import lifecycle
from masking.cases.rules import RuleBroken
from masking.hours import ScheduleError, zone
from masking.policy import Action, may
from masking.refusals import Refused
from masking.service import MaskingService
from masking.shapes import CODE_RE, AdminError
from masking.states import Disposition
from masking.storage.models import (
    CallRecord,
    Campaign,
    CampaignAssignment,
    Case,
    DialSession,
    Order,
    Site,
    Staff,
)
from masking.web.auth import Principal, need
from masking.web.calls.service import get_call
from masking.web.case_views import attempt_view, events_view, login_of, notes_view
from masking.web.errors import ApiError, bad_input, forbidden, not_found, other_site, refused
from masking.web.lookups import check_login, check_page, iso, site_for

MAX_PAGE = 200
MAX_NOTE = lifecycle.MAX_NOTE
# the domain names the fields as stored; the API as the shop's system sends them
FIELD_NAMES = {"external_ref": "order_id", "customer_phone": "phone"}
_FIELD = re.compile(r"^(\w+):")


# ---- errors ------------------------------------------------------------------------------
def _bad(exc: ValueError) -> ApiError:
    message = _FIELD.sub(lambda m: FIELD_NAMES.get(m[1], m[1]) + ":", str(exc), count=1)
    return bad_input(message)


def _rule(exc: RuleBroken) -> ApiError:
    """409 with the rule as the code and its ``params``, as the appeals API answers."""
    return ApiError(409, exc.rule, str(exc), params=dict(getattr(exc, "params", {}) or {}))


def verdict_fields(verdict: Verdict) -> dict[str, Any]:
    """A verdict as machine fields: ``dialable``, ``reason`` (a WaitReason value or None),
    ``until`` (ISO, UTC) and ``window``."""
    return {
        "dialable": verdict.dialable,
        "reason": verdict.reason.value if verdict.reason is not None else None,
        "until": None if verdict.dialable else iso(verdict.until),
        "window": verdict.window,
    }


def not_dialable(verdict: Verdict) -> ApiError:
    fields = verdict_fields(verdict)
    why = fields["reason"] or "unknown"
    when = f" until {fields['until']}" if fields["until"] else ""
    return ApiError(
        409,
        "not_dialable",
        f"{why}{when}",
        reason=fields["reason"],
        until=fields["until"],
        window=fields["window"],
    )


def not_assigned() -> ApiError:
    return ApiError(403, "not_assigned", "campaign: it is not assigned to you today")


# ---- small lookups -----------------------------------------------------------------------
def staff_name(session: Session, staff_id: int | None) -> str | None:
    """How the console names a colleague: the display name, else the login."""
    if staff_id is None:
        return None
    staff = session.get(Staff, staff_id)
    return (staff.display_name or staff.login) if staff else None


def today_of(campaign: Campaign, now: datetime) -> date:
    """The campaign's date now (assignments are by the campaign's own dates)."""
    return now.astimezone(zone(campaign.tz)).date()


def policy_of(campaign: Campaign) -> AttemptPolicy:
    try:
        return AttemptPolicy.from_json(campaign.policy or None)
    except PolicyError:
        return AttemptPolicy()


def _covers(campaign: Campaign, order: Order) -> bool:
    """Whether the campaign's rule takes orders like this one (its dates and confirmation
    aside: an order stays open to the person who worked it after it was confirmed)."""
    return campaign.site_id == order.site_id and orders.matches(campaign, order)


def _assigned_campaigns(session: Session, p: Principal, now: datetime) -> list[Campaign]:
    """The campaigns of ``p``'s site assigned to ``p`` today."""
    if p.site_id is None:
        return []
    utc_day = now.date()
    # a day either side of the UTC date: each campaign's own date is checked below
    mine = select(CampaignAssignment.campaign_id).where(
        CampaignAssignment.staff_id == p.id,
        CampaignAssignment.starts_on <= utc_day + timedelta(days=1),
        CampaignAssignment.ends_on >= utc_day - timedelta(days=1),
    )
    rows = session.scalars(
        select(Campaign)
        .where(Campaign.site_id == p.site_id, Campaign.id.in_(mine))
        .order_by(Campaign.id)
    )
    return [c for c in rows if worklist.assignee_on(session, c.id, today_of(c, now)) == p.id]


def _may_work(session: Session, p: Principal, campaign: Campaign, now: datetime) -> bool:
    return (
        may(p.role, Action.WORK_CAMPAIGNS)
        and p.site_id == campaign.site_id
        and worklist.assignee_on(session, campaign.id, today_of(campaign, now)) == p.id
    )


# ---- who sees which campaign and order ---------------------------------------------------
def _campaign(session: Session, p: Principal, campaign_id: int, now: datetime) -> Campaign:
    """The campaign, if ``p`` may see it."""
    if not (may(p.role, Action.SEE_CAMPAIGNS) or may(p.role, Action.WORK_CAMPAIGNS)):
        raise forbidden()
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found("campaign")
    if p.site_id is not None and campaign.site_id != p.site_id:
        raise other_site()
    if not may(p.role, Action.SEE_CAMPAIGNS) and not _may_work(session, p, campaign, now):
        raise not_assigned()
    return campaign


def _working_campaign(session: Session, p: Principal, campaign_id: int, now: datetime) -> Campaign:
    """The campaign, if ``p`` works it today (others: read-only or nothing)."""
    campaign = _campaign(session, p, campaign_id, now)
    if not may(p.role, Action.WORK_CAMPAIGNS):
        raise forbidden("campaigns are worked by the site's staff they are assigned to")
    if not _may_work(session, p, campaign, now):
        raise not_assigned()
    return campaign


def _order(session: Session, p: Principal, order_id: int, now: datetime) -> Order:
    """The order, if ``p`` may see it: the site's campaign readers every order of the
    site; an employee the orders of a campaign assigned to them today."""
    if not (may(p.role, Action.SEE_CAMPAIGNS) or may(p.role, Action.WORK_CAMPAIGNS)):
        raise forbidden()
    order = session.get(Order, order_id)
    if order is None:
        raise not_found("order")
    if p.site_id is not None and order.site_id != p.site_id:
        raise other_site()
    if not may(p.role, Action.SEE_CAMPAIGNS) and not any(
        _covers(c, order) for c in _assigned_campaigns(session, p, now)
    ):
        raise not_assigned()
    return order


def _working_order(session: Session, p: Principal, order_id: int, now: datetime) -> Order:
    """The order, if ``p`` works a campaign covering it today."""
    order = _order(session, p, order_id, now)
    if not may(p.role, Action.WORK_CAMPAIGNS):
        raise forbidden("orders are worked by the site's staff a campaign is assigned to")
    if not any(_covers(c, order) for c in _assigned_campaigns(session, p, now)):
        raise not_assigned()
    return order


def _check_work(service: MaskingService, p: Principal, order_id: int) -> str:
    """Refuse unless ``p`` works the order; returns its case id."""
    with service.db.session() as session:
        return _working_order(session, p, order_id, service.clock()).case_id


def _policy_for(session: Session, p: Principal, order: Order, now: datetime) -> AttemptPolicy:
    """The attempt policy the order is dialed under: the campaign ``p`` works it in, else
    the site's first active campaign covering it, else the defaults."""
    for campaign in _assigned_campaigns(session, p, now):
        if _covers(campaign, order):
            return policy_of(campaign)
    return orders.context_of(session, order).policy


# ---- views -------------------------------------------------------------------------------
def campaign_view(
    session: Session, p: Principal, campaign: Campaign, now: datetime
) -> dict[str, Any]:
    site = session.get(Site, campaign.site_id)
    tz = zone(campaign.tz)
    assignee = worklist.assignee_on(session, campaign.id, today_of(campaign, now))
    return {
        "id": campaign.id,
        "site": site.code if site else None,
        "code": campaign.code,
        "title": campaign.title,
        "tz": campaign.tz,
        "payment_methods": list(campaign.payment_methods or []),
        "statuses": list(campaign.statuses or []),
        "stores": list(campaign.stores or []),
        "lookback_days": campaign.lookback_days,
        "monday_from_friday": campaign.monday_from_friday,
        "since": iso(created_since(now, tz, campaign.lookback_days, campaign.monday_from_friday)),
        "policy": policy_of(campaign).to_json(),
        "active": campaign.active,
        "today": today_of(campaign, now).isoformat(),
        "assignee": login_of(session, assignee),
        "assignee_name": staff_name(session, assignee),
        "may_work": _may_work(session, p, campaign, now),
    }


def _assignment_view(session: Session, a: CampaignAssignment) -> dict[str, Any]:
    return {
        "id": a.id,
        "staff": login_of(session, a.staff_id),
        "staff_name": staff_name(session, a.staff_id),
        "starts_on": a.starts_on.isoformat(),
        "ends_on": a.ends_on.isoformat(),
        "assigned_by": login_of(session, a.assigned_by),
    }


def order_view(
    session: Session,
    order: Order,
    verdict: Verdict | None = None,
) -> dict[str, Any]:
    site = session.get(Site, order.site_id)
    case = session.get(Case, order.case_id)
    view: dict[str, Any] = {
        "id": order.id,
        "site": site.code if site else None,
        "source": order.source,
        "order_id": order.external_ref,
        "status": order.status,
        "payment_method": order.payment_method,
        "store": order.store,
        "created_at": iso(order.created_at),
        "customer_tz": order.customer_tz,
        "updated_at": iso(order.updated_at),
        "confirmed_at": iso(order.confirmed_at),
        "payment_details_resent_at": iso(order.payment_details_resent_at),
        "case_id": order.case_id,
        "case_status": case.status if case else None,
        "callback": (
            {
                "at": iso(order.callback_at),
                "owner": login_of(session, order.callback_owner_id),
                "owner_name": staff_name(session, order.callback_owner_id),
            }
            if order.callback_at is not None
            else None
        ),
        "dialing": order.dialing_call_id is not None,
    }
    if verdict is not None:
        view["verdict"] = verdict_fields(verdict)
    return view


# ---- orders in ---------------------------------------------------------------------------
def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_input(f"{name}: must be text")
    return (value or "").strip()


def _moment(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value or "").strip())
        except ValueError:
            raise bad_input(f"{name}: an ISO 8601 time with its UTC offset") from None
    if moment.tzinfo is None:
        raise bad_input(f"{name}: an ISO 8601 time with its UTC offset")
    return moment


def receive_order(
    service: MaskingService, p: Principal, body: Mapping[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Create or update the order (the same source and order_id: the same order); returns
    (its view, whether it is new). The phone is needed for a new order and is never
    shown back."""
    need(p, Action.RECEIVE_ORDERS, "orders are sent by an admin or the site's managers")
    with service.db.session() as session:
        site = site_for(session, p, _text(body, "site") or None, required=True)
        assert site is not None
        code, site_id, site_tz = site.code, site.id, site.timezone
    incoming = orders.IncomingOrder(
        source=_text(body, "source"),
        external_ref=_text(body, "order_id"),
        status=_text(body, "status"),
        payment_method=_text(body, "payment_method"),
        store=_text(body, "store"),
        created_at=_moment(body.get("created_at"), "created_at"),
        customer_phone=_text(body, "phone") or None,
        customer_tz=_text(body, "customer_tz") or site_tz,
        model=_text(body, "model"),
        customer_name=_text(body, "name"),
        customer_city=_text(body, "city"),
        customer_address=_text(body, "address"),
    )
    try:
        order_id, created = orders.upsert_order(service, code, incoming)
    except (AdminError, ScheduleError) as exc:
        raise _bad(exc) from None
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        if order.site_id != site_id:
            raise other_site()
        return order_view(session, order), created


# ---- campaigns ---------------------------------------------------------------------------
def list_campaigns(
    service: MaskingService, p: Principal, *, site: str | None = None
) -> dict[str, Any]:
    """The campaigns ``p`` may see: employees only those assigned to them today."""
    if not (may(p.role, Action.SEE_CAMPAIGNS) or may(p.role, Action.WORK_CAMPAIGNS)):
        raise forbidden()
    now = service.clock()
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
        if may(p.role, Action.SEE_CAMPAIGNS):
            query = select(Campaign).order_by(Campaign.site_id, Campaign.code)
            if target is not None:
                query = query.where(Campaign.site_id == target.id)
            rows = list(session.scalars(query))
        else:
            rows = _assigned_campaigns(session, p, now)
        return {
            "site": target.code if target else None,
            "campaigns": [campaign_view(session, p, c, now) for c in rows],
        }


def campaign_detail(service: MaskingService, p: Principal, campaign_id: int) -> dict[str, Any]:
    now = service.clock()
    with service.db.session() as session:
        campaign = _campaign(session, p, campaign_id, now)
        view = campaign_view(session, p, campaign, now)
        since = today_of(campaign, now) - timedelta(days=31)
        assignments = session.scalars(
            select(CampaignAssignment)
            .where(
                CampaignAssignment.campaign_id == campaign.id,
                CampaignAssignment.ends_on >= since,
            )
            .order_by(CampaignAssignment.starts_on)
        )
        view["assignments"] = [_assignment_view(session, a) for a in assignments]
        return view


def _names(body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_input(f"{name}: a list of codes")
    cleaned = [v.strip() for v in value if v.strip()]
    for v in cleaned:
        if len(v) > 64:
            raise bad_input(f"{name}: at most 64 characters each")
    return cleaned


def save_campaign(
    service: MaskingService, p: Principal, body: Mapping[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Create the campaign, or change the one with the same site and code; returns (its
    view, whether it is new)."""
    need(p, Action.MANAGE_CAMPAIGNS, "campaigns are set up by an admin or the site's managers")
    code = _text(body, "code")
    if not CODE_RE.match(code):
        raise bad_input("code: 1-64 lower-case letters, digits, '-' or '_'")
    policy = body.get("policy")
    if policy is not None and not isinstance(policy, Mapping):
        raise bad_input("policy: an object")
    lookback = body.get("lookback_days", 1)
    if isinstance(lookback, bool) or not isinstance(lookback, int) or not 0 <= lookback <= 31:
        raise bad_input("lookback_days: a whole number from 0 to 31")
    monday = body.get("monday_from_friday", True)
    if not isinstance(monday, bool):
        raise bad_input("monday_from_friday: true or false")
    if policy is not None:
        try:
            AttemptPolicy.from_json(policy)
        except PolicyError as exc:
            raise bad_input(f"policy.{exc}") from None
    with service.db.session() as session:
        site = site_for(session, p, _text(body, "site") or None, required=True)
        assert site is not None
        site_code, tz = site.code, _text(body, "tz") or site.timezone
        existed = session.scalar(
            select(Campaign.id).where(Campaign.site_id == site.id, Campaign.code == code)
        )
    try:
        zone(tz)
    except ScheduleError:
        raise bad_input("tz: an IANA time zone, as Europe/Kyiv") from None
    try:
        campaign_id = worklist.save_campaign(
            service,
            site_code,
            code,
            title=_text(body, "title"),
            tz=tz,
            payment_methods=_names(body, "payment_methods"),
            statuses=_names(body, "statuses"),
            stores=_names(body, "stores"),
            lookback_days=lookback,
            monday_from_friday=monday,
            policy=dict(policy) if policy is not None else None,
        )
    except PolicyError as exc:
        raise bad_input(f"policy.{exc}") from None
    except (AdminError, ScheduleError) as exc:
        raise _bad(exc) from None
    return campaign_detail(service, p, campaign_id), existed is None


def _day(value: Any, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise bad_input(f"{name}: a date, YYYY-MM-DD") from None


def assign(
    service: MaskingService, p: Principal, campaign_id: int, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Assign the campaign to a staff member of its site from ``starts_on`` to
    ``ends_on`` (a week by default)."""
    need(p, Action.MANAGE_CAMPAIGNS, "campaigns are assigned by an admin or the site's managers")
    login = check_login("staff", _text(body, "staff"))
    starts_on = _day(body.get("starts_on"), "starts_on")
    ends_on = _day(body["ends_on"], "ends_on") if body.get("ends_on") else None
    now = service.clock()
    with service.db.session() as session:
        campaign = _campaign(session, p, campaign_id, now)
        staff = session.scalar(select(Staff).where(Staff.login == login))
        if staff is None:
            raise bad_input("staff: no such login")
        if staff.site_id != campaign.site_id or not may(staff.role, Action.WORK_CAMPAIGNS):
            raise bad_input("staff: not a member of the campaign's site who may work it")
        if not staff.active:
            raise bad_input("staff: the account is disabled")
        staff_id = staff.id
    try:
        worklist.assign(service, campaign_id, staff_id, starts_on, ends_on, by=p.id)
    except AdminError as exc:
        raise _bad(exc) from None
    return campaign_detail(service, p, campaign_id)


# ---- the worklist ------------------------------------------------------------------------
def row_view(session: Session, row: worklist.WorklistRow) -> dict[str, Any]:
    """A worklist row: the order's facts, its attempts today and the last outcome, and
    whether it may be dialed now; if not, why (``reason``) and until when (``until``)."""
    return {
        "id": row.order_id,
        "order_id": row.external_ref,
        "status": row.status,
        "payment_method": row.payment_method,
        "store": row.store,
        "created_at": iso(row.created_at),
        "customer_tz": row.customer_tz,
        "attempts": row.attempts,
        "attempts_today": row.attempts_today,
        "last_outcome": row.last_outcome,
        "last_attempt_at": iso(row.last_attempt_at),
        **verdict_fields(row.verdict),
        "callback": (
            {
                "at": iso(row.callback_at),
                "owner": login_of(session, row.callback_owner_id),
                "owner_name": staff_name(session, row.callback_owner_id),
            }
            if row.callback_at is not None
            else None
        ),
        "payment_details_resent_at": iso(row.payment_details_resent_at),
    }


def worklist_view(
    service: MaskingService,
    p: Principal,
    campaign_id: int,
    *,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The campaign's orders, newest first, each with whether it may be dialed now by
    ``p`` and, if not, why and from when (``reason``, ``until``, ``window``); ``due``,
    ``counts`` by reason and ``earliest_until`` say why nothing is due. When the whole list
    is on the page these come from the rows' verdicts, else from the stored hints."""
    check_page(limit, offset, MAX_PAGE)
    now = service.clock()
    with service.db.session() as session:
        campaign = _campaign(session, p, campaign_id, now)
        head = campaign_view(session, p, campaign, now)
    page = worklist.worklist(service, campaign_id, now, staff_id=p.id, offset=offset, limit=limit)
    with service.db.session() as session:
        rows = [row_view(session, r) for r in page.rows]
    if offset == 0 and page.total <= len(rows):
        waiting = [r for r in rows if not r["dialable"]]
        due = len(rows) - len(waiting)
        counts = dict(Counter(str(r["reason"]) for r in waiting))
        untils = [r["until"] for r in waiting if r["until"]]
        earliest = min(untils, key=datetime.fromisoformat, default=None)
    else:
        counts = dict(page.counts)
        due = counts.pop(worklist.READY, 0)
        earliest = iso(page.earliest)
    return {
        "campaign": head,
        "now": iso(now),
        "total": page.total,
        "due": due,
        "counts": counts,
        "earliest_until": earliest,
        "orders": rows,
    }


# ---- one order ---------------------------------------------------------------------------
def order_detail(service: MaskingService, p: Principal, order_id: int) -> dict[str, Any]:
    """One order: its verdict now as ``p`` would dial it (with the policy of the campaign
    they work it in, else of the campaign it fits), attempts, notes and audit."""
    now = service.clock()
    with service.db.session() as session:
        order = _order(session, p, order_id, now)
        campaign_id = _campaign_for(session, p, order, now)
        policy = _policy_for(session, p, order, now)
    row = worklist.order_row(service, order_id, now, staff_id=p.id, campaign_id=campaign_id)
    with service.db.session() as session:
        fresh = session.get(Order, order_id)
        assert fresh is not None
        view = order_view(session, fresh, row.verdict)
        view["attempts_today"] = row.attempts_today
        view["may_work"] = campaign_id is not None and may(p.role, Action.WORK_CAMPAIGNS)
        view["campaign"] = campaign_id
        view["policy"] = policy.to_json()
        records = session.scalars(
            select(CallRecord)
            .where(CallRecord.case_id == fresh.case_id)
            .order_by(CallRecord.started_at, CallRecord.id)
        )
        view["attempts"] = [attempt_view(session, p, r) for r in records]
        view["notes"] = notes_view(session, fresh.case_id)
        view["events"] = events_view(session, fresh.case_id)
        return view


def _note_text(text: str | None, name: str = "note") -> str:
    text = (text or "").strip()
    if len(text) > MAX_NOTE:
        raise bad_input(f"{name}: at most {MAX_NOTE} characters")
    return text


def confirm(service: MaskingService, p: Principal, order_id: int, note: str) -> dict[str, Any]:
    """Confirmed: needs an answered call of at least 10 s and a note (else 409)."""
    note = _note_text(note)
    _check_work(service, p, order_id)
    try:
        orders.confirm(service, order_id, p.id, note)
    except RuleBroken as exc:
        raise _rule(exc) from None
    return order_detail(service, p, order_id)


def decline(service: MaskingService, p: Principal, order_id: int, note: str) -> dict[str, Any]:
    """Not confirmed (refused or cancelled on the phone): needs an attempt and a note."""
    note = _note_text(note)
    _check_work(service, p, order_id)
    try:
        orders.decline(service, order_id, p.id, note)
    except RuleBroken as exc:
        raise _rule(exc) from None
    return order_detail(service, p, order_id)


def set_callback(service: MaskingService, p: Principal, order_id: int, at: Any) -> dict[str, Any]:
    """The customer asked to be called back at ``at``: ``p``'s callback (for the hand-over
    time, then anyone's)."""
    moment = _moment(at, "at")
    _check_work(service, p, order_id)
    try:
        orders.set_callback(service, order_id, p.id, moment)
    except RuleBroken as exc:
        raise _rule(exc) from None
    except AdminError as exc:
        raise _bad(exc) from None
    return order_detail(service, p, order_id)


def resend_payment_details(service: MaskingService, p: Principal, order_id: int) -> dict[str, Any]:
    _check_work(service, p, order_id)
    try:
        orders.resend_payment_details(service, order_id, p.id)
    except RuleBroken as exc:
        raise _rule(exc) from None
    return order_detail(service, p, order_id)


def add_note(service: MaskingService, p: Principal, order_id: int, text: str) -> dict[str, Any]:
    text = _note_text(text, "text")
    if not text:
        raise bad_input("text: write the note")
    case_id = _check_work(service, p, order_id)
    try:
        lifecycle.add_note(service, case_id, p.id, text)
    except RuleBroken as exc:
        raise _rule(exc) from None
    return order_detail(service, p, order_id)


# ---- preview dialing ---------------------------------------------------------------------
async def _ring(
    service: MaskingService,
    p: Principal,
    originator: Originator,
    call_id: str,
    order_ref: str,
) -> dict[str, Any]:
    """Ring ``p``'s desk phone for the prepared call (the customer leg follows when it
    answers); a failure ends the call as failed, which releases the order's claim."""
    endpoint = await run_in_threadpool(_endpoint_of, service, call_id)
    try:
        await originator.originate_click2call(
            call_id=call_id, endpoint=endpoint, label=f"Order {order_ref}"[:40]
        )
    except Exception as exc:
        await run_in_threadpool(
            call_log.mark_ended, service, call_id, service.clock(), Disposition.FAILED
        )
        raise ApiError(
            502, "call_failed", "your desk phone could not be rung; try again", call_id=call_id
        ) from exc
    return await run_in_threadpool(get_call, service, p, call_id)


def _endpoint_of(service: MaskingService, call_id: str) -> str:
    with service.db.session() as session:
        record = session.get(CallRecord, call_id)
        assert record is not None and record.endpoint
        return record.endpoint


def _campaign_for(session: Session, p: Principal, order: Order, now: datetime) -> int | None:
    """The campaign ``p`` works ``order`` in today (its policy decides), if any."""
    return next((c.id for c in _assigned_campaigns(session, p, now) if _covers(c, order)), None)


def _dial(service: MaskingService, p: Principal, order_id: int, channel: str) -> tuple[str, str]:
    """Claim and prepare the call; the verdict is decided at this instant."""
    with service.db.session() as session:
        order = _working_order(session, p, order_id, service.clock())
        ref = order.external_ref
        campaign_id = _campaign_for(session, p, order, service.clock())
    try:
        call_id = worklist.dial_order(
            service, order_id, p.id, channel=channel, campaign_id=campaign_id
        )
    except worklist.NotDialable as exc:
        raise not_dialable(exc.verdict) from None
    except Refused as exc:
        raise refused(exc) from None
    return call_id, ref


def _no_originator() -> ApiError:
    return ApiError(503, "click_to_call_unavailable", "the telephone connection is not set up")


async def call_order(
    service: MaskingService,
    p: Principal,
    order_id: int,
    originator: Originator | None,
    channel: str = "api",
) -> dict[str, Any]:
    """Preview: call this order now, if its verdict allows it: ``p``'s desk phone, then
    the customer through the order's temporary number. Returns the call."""
    await run_in_threadpool(_check_work, service, p, order_id)
    if originator is None:
        raise _no_originator()
    call_id, ref = await run_in_threadpool(_dial, service, p, order_id, channel)
    call = await _ring(service, p, originator, call_id, ref)
    return {**call, "order": order_id}


def nothing_due(empty: worklist.Empty) -> ApiError:
    counts = dict(empty.counts)
    counts.pop(worklist.READY, None)
    return ApiError(
        409,
        "nothing_due",
        "no order of the campaign may be dialed now",
        total=empty.total,
        counts=counts,
        until=iso(empty.earliest),
        reason=empty.earliest_reason,
    )


def _pick(
    service: MaskingService, p: Principal, campaign_id: int, channel: str
) -> tuple[str, str, int]:
    """Pick the newest order due now for ``p``, claim it and prepare its call."""
    _check_campaign_work(service, p, campaign_id)
    try:
        picked = worklist.dial_next(service, campaign_id, p.id, channel=channel)
    except worklist.NotDialable as exc:
        raise not_dialable(exc.verdict) from None
    except Refused as exc:
        raise refused(exc) from None
    if isinstance(picked, worklist.Empty):
        raise nothing_due(picked)
    order, call_id = picked
    return call_id, order.external_ref, order.order_id


async def call_next(
    service: MaskingService,
    p: Principal,
    campaign_id: int,
    originator: Originator | None,
    channel: str = "api",
) -> dict[str, Any]:
    """Preview: pick the newest order that may be dialed now and call it."""
    if originator is None:
        await run_in_threadpool(_check_campaign_work, service, p, campaign_id)
        raise _no_originator()
    call_id, ref, order_id = await run_in_threadpool(_pick, service, p, campaign_id, channel)
    call = await _ring(service, p, originator, call_id, ref)
    return {**call, "order": order_id}


def _check_campaign_work(service: MaskingService, p: Principal, campaign_id: int) -> None:
    with service.db.session() as session:
        _working_campaign(session, p, campaign_id, service.clock())


# ---- progressive dialing -----------------------------------------------------------------
def _dial_session(session: Session, p: Principal, session_id: str, now: datetime) -> DialSession:
    """The dial session, if ``p`` may see it: its operator, or a reader of its campaign."""
    dial = session.get(DialSession, session_id) if len(session_id) <= 32 else None
    if dial is None:
        raise not_found("dial session")
    if dial.staff_id != p.id:
        _campaign(session, p, dial.campaign_id, now)
        if not may(p.role, Action.SEE_CAMPAIGNS):
            raise forbidden("a dial session is its operator's")
    return dial


def _check_session(service: MaskingService, p: Principal, session_id: str) -> None:
    with service.db.session() as session:
        _dial_session(session, p, session_id, service.clock())


def _session_call(session: Session, call_id: str | None) -> dict[str, Any] | None:
    """A call of the session: its live status and the order it is about (never a number)."""
    if not call_id:
        return None
    record = session.get(CallRecord, call_id)
    if record is None:
        return None
    order = (
        session.scalar(select(Order).where(Order.case_id == record.case_id))
        if record.case_id
        else None
    )
    return {
        "id": record.id,
        "status": record.status,
        "disposition": record.disposition,
        "started_at": iso(record.started_at),
        "answered_at": iso(record.answered_at),
        "ended_at": iso(record.ended_at),
        "bridged_seconds": record.bridged_seconds,
        "order": order.id if order else None,
        "order_id": order.external_ref if order else None,
    }


def session_view(service: MaskingService, p: Principal, session_id: str) -> dict[str, Any]:
    """The session: its state, the current call's live status, the attempt whose note is
    due, and why it waits (``idle_reason``, ``idle_until``)."""
    _check_session(service, p, session_id)
    try:
        view = progressive.state(service, session_id)
    except progressive.SessionNotFound:
        raise not_found("dial session") from None
    with service.db.session() as session:
        return {
            "id": view.id,
            "campaign": view.campaign_id,
            "staff": login_of(session, view.staff_id),
            "state": view.state,
            "started_at": iso(view.started_at),
            "ended_at": iso(view.ended_at),
            "last_pick_at": iso(view.last_pick_at),
            "idle_reason": view.idle_reason,
            "idle_until": iso(view.idle_until),
            "current_call": _session_call(session, view.current_call_id),
            "note_due": _session_call(session, view.note_due_call_id),
        }


def my_session(service: MaskingService, p: Principal, campaign_id: int) -> dict[str, Any] | None:
    """``p``'s running or paused session of this campaign, if any."""
    session_id = progressive.open_session(service, p.id)
    if session_id is None:
        return None
    view = session_view(service, p, session_id)
    return view if view["campaign"] == campaign_id else None


def _progressive_error(exc: Exception) -> ApiError:
    if isinstance(exc, RuleBroken):
        return _rule(exc)
    if isinstance(exc, Refused):
        return refused(exc)
    if isinstance(exc, progressive.SessionNotFound):
        return not_found("dial session")
    return _bad(exc) if isinstance(exc, AdminError) else ApiError(409, "session_state", str(exc))


_PROGRESSIVE_ERRORS = (RuleBroken, Refused, AdminError, progressive.SessionNotFound)


def start_session(service: MaskingService, p: Principal, campaign_id: int) -> dict[str, Any]:
    """Start progressive dialing of the campaign for ``p`` (one open session per
    person; 409 ``session_open`` with the open one's id otherwise)."""
    _check_campaign_work(service, p, campaign_id)
    try:
        session_id = progressive.start(service, campaign_id, p.id)
    except progressive.SessionConflict as exc:
        raise ApiError(409, exc.rule, str(exc), session=exc.session_id) from None
    except _PROGRESSIVE_ERRORS as exc:
        raise _progressive_error(exc) from None
    return session_view(service, p, session_id)


def act_on_session(
    service: MaskingService, p: Principal, session_id: str, action: str
) -> dict[str, Any]:
    """Pause, resume or stop the session (its operator; pause and stop also a manager of
    its site, which the dialer decides)."""
    _check_session(service, p, session_id)
    do = {"pause": progressive.pause, "resume": progressive.resume, "stop": progressive.stop}
    try:
        do[action](service, session_id, p.id)
    except _PROGRESSIVE_ERRORS as exc:
        raise _progressive_error(exc) from None
    return session_view(service, p, session_id)


def session_note(
    service: MaskingService, p: Principal, session_id: str, text: str
) -> dict[str, Any]:
    """The note of the last call (a note on its order); then the next call may start."""
    text = _note_text(text, "text")
    if not text:
        raise bad_input("text: write the note")
    _check_session(service, p, session_id)
    try:
        progressive.write_note(service, session_id, p.id, text)
    except _PROGRESSIVE_ERRORS as exc:
        raise _progressive_error(exc) from None
    return session_view(service, p, session_id)


# ---- the day report ----------------------------------------------------------------------
def day_report(
    service: MaskingService, p: Principal, campaign_id: int, day: date | None = None
) -> dict[str, Any]:
    """The campaign's day (its own date; today by default)."""
    need(p, Action.CAMPAIGNS_REPORT)
    now = service.clock()
    with service.db.session() as session:
        campaign = _campaign(session, p, campaign_id, now)
        day = day or today_of(campaign, now)
        head = {"campaign": campaign.id, "code": campaign.code, "tz": campaign.tz}
    data = worklist.day_report(service, campaign_id, day)
    data.pop("campaign_id", None)
    return {**head, **data}


def report_csv(data: Mapping[str, Any]) -> str:
    """The report as CSV: a header row and one row of values (nested counts flattened as
    ``skipped_gap``...)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            for sub, count in value.items():
                flat[f"{key}_{sub}"] = count
        else:
            flat[key] = value
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(flat))
    writer.writerow(["" if v is None else v for v in flat.values()])
    return out.getvalue()


# ---- for the console ---------------------------------------------------------------------
def site_zone(service: MaskingService, code: str | None) -> str:
    """The time zone of site ``code`` (the service's default without one)."""
    if code:
        with service.db.session() as session:
            tz = session.scalar(select(Site.timezone).where(Site.code == code))
        if tz:
            return tz
    return service.settings.timezone
