"""Campaigns (seed 003's saved filter), who works them, the live worklist, the pick of the
next due order and the dial of one, and the day report.

**The list** of a campaign is :func:`campaign_orders` (the one definition of the filter,
used by the worklist, the pick, the report and the benchmark): the site's orders of the
campaign's payment methods, statuses and stores (empty: any), created since "yesterday"
(on Monday: Friday) in the campaign's time zone, not confirmed, their case open; newest
first.

**Never dialed twice at once.** Whatever path dials an order (a progressive session, a
preview click, a desk phone dialing the temporary number) first *claims* it
(:func:`claim`): a conditional UPDATE that succeeds only while nobody else holds a live
claim and no other call about the order is under way, so on SQLite (one writer) and on
PostgreSQL (row locks; READ COMMITTED re-checks the condition on the row it waited for)
exactly one of several concurrent claimers wins. The claim names the call
(:func:`set_claim_call`) and ends with it (:func:`attempt_ended`, from
``call_log.mark_ended``); a claim whose call never ended expires after
:data:`CLAIM_STALE`.

**Eligibility at the moment of dialing.** The stored hint (``Order.next_at`` /
``wait_reason``) orders the candidates; each one is re-verified with the pure policy, and
once more after its claim, inside the claim's transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select, update
from sqlalchemy.orm import Session

from masking.calls.click2call import prepare_click2call
from masking.campaigns import orders
from masking.campaigns.orders import (
    CLAIM_STALE,
    REASON_CODE,
    Context,
    OrderNotFound,
    attempts_of,
    context_of,
    hint_values,
    parse_policy,
    verdict_for,
)
from masking.campaigns.policy import (
    AttemptPolicy,
    PolicyError,
    Verdict,
    created_since,
    local_day,
    window_of,
)
from masking.cases.rules import OPEN
from masking.hours import ScheduleError, zone
from masking.policy import Action, may
from masking.refusals import Refusal, Refused
from masking.service import MaskingService
from masking.shapes import CODE_RE, AdminError
from masking.sites import get_site, schedule_of
from masking.states import CallStatus, CaseStatus, Disposition, WaitReason
from masking.storage.models import (
    CallRecord,
    Campaign,
    CampaignAssignment,
    Case,
    Order,
    Site,
    Staff,
    new_id,
)

log = logging.getLogger("masking.campaigns")

__all__ = [
    "CLAIM_STALE",
    "READY",
    "CampaignNotFound",
    "Empty",
    "NotDialable",
    "OrderNotFound",
    "Picked",
    "WorklistPage",
    "WorklistRow",
]

READY = "dialable"  # the counts' key of orders dialable now (as far as the hint knows)
BATCH = 20  # candidates re-verified per round of a pick
MAX_ROUNDS = 10  # rounds of a pick before it answers with the counts
MAX_PAGE = 200
MAX_LOOKBACK = 14
DEFAULT_PERIOD_DAYS = 7  # an assignment: a week (seed 003)
MAX_TITLE = 200
# an in-progress call record older than this no longer blocks a claim (mirrors
# masking.calls.call_log.ABANDONED_AFTER: reconciliation closes such records)
ABANDONED = timedelta(hours=4)
THREE = 3  # seed 003: at least three attempts a day, each in a different window


class CampaignNotFound(LookupError):
    pass


class NotDialable(Exception):
    """The order may not be dialed now: ``verdict`` says why and from when."""

    def __init__(self, verdict: Verdict) -> None:
        reason = verdict.reason.value if verdict.reason else "unknown"
        until = f" until {verdict.until.isoformat()}" if verdict.until else ""
        super().__init__(f"order: not dialable now ({reason}{until})")
        self.verdict = verdict


# ---- campaigns and assignments ------------------------------------------------------------
def _tokens(values: Iterable[str], name: str) -> list[str]:
    result: list[str] = []
    for value in values:
        token = "_".join((value or "").strip().lower().split())
        if not orders.TOKEN_RE.match(token):
            raise AdminError(f"{name}: {value!r} is not a code (letters, digits, '-' or '_')")
        if token not in result:
            result.append(token)
    return result


def _stores(values: Iterable[str]) -> list[str]:
    result: list[str] = []
    for value in values:
        store = " ".join((value or "").split())
        if not store or len(store) > orders.MAX_STORE:
            raise AdminError(f"stores: each store has 1-{orders.MAX_STORE} characters")
        if store not in result:
            result.append(store)
    return result


def save_campaign(
    service: MaskingService,
    site_code: str,
    code: str,
    *,
    title: str = "",
    tz: str,
    payment_methods: Sequence[str],
    statuses: Sequence[str],
    stores: Sequence[str] = (),
    lookback_days: int = 1,
    monday_from_friday: bool = True,
    policy: dict[str, Any] | None = None,
    active: bool = True,
) -> int:
    """Create or update (by site and ``code``) a campaign; returns its id. Empty
    ``payment_methods`` / ``statuses`` / ``stores``: any. ``policy``: the attempt policy's
    fields (missing: the defaults); None keeps the saved one (a new campaign: defaults).
    Raises :class:`AdminError` naming the field."""
    if not CODE_RE.match(code or ""):
        raise AdminError("code: must be 1-64 lower-case letters, digits, '-' or '_'")
    title = " ".join((title or "").split())
    if len(title) > MAX_TITLE:
        raise AdminError(f"title: is longer than {MAX_TITLE} characters")
    try:
        zone(tz)
    except ScheduleError:
        raise AdminError(f"tz: {tz!r} is not an IANA time zone") from None
    methods = _tokens(payment_methods, "payment_methods")
    wanted_statuses = _tokens(statuses, "statuses")
    wanted_stores = _stores(stores)
    if isinstance(lookback_days, bool) or not 0 <= lookback_days <= MAX_LOOKBACK:
        raise AdminError(f"lookback_days: a whole number from 0 to {MAX_LOOKBACK}")
    stored: dict[str, Any] | None = None
    if policy is not None:
        try:
            stored = AttemptPolicy.from_json(policy).to_json() if policy else {}
        except PolicyError as exc:
            raise AdminError(f"policy.{exc}") from None
    now = service.clock()
    with service.db.session() as session:
        site = get_site(session, site_code)
        campaign = session.scalar(
            select(Campaign).where(Campaign.site_id == site.id, Campaign.code == code)
        )
        if campaign is None:
            campaign = Campaign(site_id=site.id, code=code, policy=stored or {}, created_at=now)
            session.add(campaign)
            policy_changed = bool(stored)  # the hints were computed with the defaults
        else:
            policy_changed = stored is not None and stored != (campaign.policy or {})
            if stored is not None:
                campaign.policy = stored
        campaign.title = title or code
        campaign.tz = tz
        campaign.payment_methods = methods
        campaign.statuses = wanted_statuses
        campaign.stores = wanted_stores
        campaign.lookback_days = lookback_days
        campaign.monday_from_friday = monday_from_friday
        campaign.active = active
        session.flush()
        if policy_changed:
            # the waiting orders' hints were computed with the old policy: look again
            session.execute(
                update(Order)
                .where(
                    Order.site_id == site.id,
                    Order.next_at > now,
                    Order.dialing_call_id.is_(None),
                )
                .values(next_at=now)
                .execution_options(synchronize_session=False)
            )
        campaign_id = campaign.id
    log.info("campaign %s (%s) of site %s saved", campaign_id, code, site_code)
    return campaign_id


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(campaign_id)
    return campaign


def find_campaign(session: Session, site_code: str, code: str) -> Campaign:
    """The campaign ``code`` of the site; raises :class:`AdminError` naming the field."""
    site = get_site(session, site_code)
    campaign = session.scalar(
        select(Campaign).where(Campaign.site_id == site.id, Campaign.code == code)
    )
    if campaign is None:
        raise AdminError(f"campaign: no campaign {code!r} at site {site_code}")
    return campaign


def list_size(session: Session, campaign: Campaign, now: datetime) -> int:
    """How many orders the campaign's list holds at ``now``."""
    query = campaign_orders(session, campaign, now).with_only_columns(func.count())
    return int(session.scalar(query.order_by(None)) or 0)


def campaign_context(session: Session, campaign: Campaign) -> Context:
    site = session.get(Site, campaign.site_id)
    return Context(parse_policy(campaign.policy), schedule_of(site) if site else None)


def campaign_today(campaign: Campaign, now: datetime) -> date:
    """Today in the campaign's time zone (the day assignments are counted in)."""
    return now.astimezone(ZoneInfo(campaign.tz)).date()


def assign(
    service: MaskingService,
    campaign_id: int,
    staff_id: int,
    starts_on: date,
    ends_on: date | None = None,
    *,
    by: int | None = None,
) -> int:
    """Give the campaign to one employee from ``starts_on`` to ``ends_on`` inclusive (a
    week by default); periods of one campaign never overlap. Returns the assignment id;
    raises :class:`AdminError` naming the field."""
    ends_on = ends_on or starts_on + timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if ends_on < starts_on:
        raise AdminError("ends_on: is before starts_on")
    now = service.clock()
    with service.db.session() as session:
        # the campaign row serialises assignments (a row lock; SQLite: the write lock)
        touched = session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(code=Campaign.code)
            .execution_options(synchronize_session=False)
        )
        if not getattr(touched, "rowcount", 0):
            raise CampaignNotFound(campaign_id)
        campaign = get_campaign(session, campaign_id)
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active or staff.site_id != campaign.site_id:
            raise AdminError(f"staff_id: no active staff member {staff_id} at the campaign's site")
        if not may(staff.role, Action.WORK_CAMPAIGNS):
            raise AdminError(f"staff_id: a {staff.role} does not work campaigns")
        clash = session.scalar(
            select(CampaignAssignment).where(
                CampaignAssignment.campaign_id == campaign_id,
                CampaignAssignment.starts_on <= ends_on,
                CampaignAssignment.ends_on >= starts_on,
            )
        )
        if clash is not None:
            raise AdminError(
                f"starts_on: the campaign is assigned from {clash.starts_on} to "
                f"{clash.ends_on} already"
            )
        assignment = CampaignAssignment(
            campaign_id=campaign_id,
            staff_id=staff_id,
            starts_on=starts_on,
            ends_on=ends_on,
            assigned_by=by,
            created_at=now,
        )
        session.add(assignment)
        session.flush()
        assignment_id = assignment.id
    log.info(
        "campaign %s assigned to staff %s from %s to %s", campaign_id, staff_id, starts_on, ends_on
    )
    return assignment_id


def assignee_on(session: Session, campaign_id: int, day: date) -> int | None:
    """Who works the campaign on ``day`` (None: nobody)."""
    return session.scalar(
        select(CampaignAssignment.staff_id).where(
            CampaignAssignment.campaign_id == campaign_id,
            CampaignAssignment.starts_on <= day,
            CampaignAssignment.ends_on >= day,
        )
    )


def campaigns_assigned(session: Session, staff_id: int, day: date) -> list[int]:
    """The campaigns ``staff_id`` works on ``day``."""
    return list(
        session.scalars(
            select(CampaignAssignment.campaign_id)
            .where(
                CampaignAssignment.staff_id == staff_id,
                CampaignAssignment.starts_on <= day,
                CampaignAssignment.ends_on >= day,
            )
            .order_by(CampaignAssignment.campaign_id)
        )
    )


# ---- the list -------------------------------------------------------------------------------
def _facts(campaign: Campaign) -> list[ColumnElement[bool]]:
    """The part of the rule about the shop's facts: site, payment method, status, store."""
    rule: list[ColumnElement[bool]] = [Order.site_id == campaign.site_id]
    if campaign.payment_methods:
        rule.append(Order.payment_method.in_(list(campaign.payment_methods)))
    if campaign.statuses:
        rule.append(Order.status.in_(list(campaign.statuses)))
    if campaign.stores:
        rule.append(Order.store.in_(list(campaign.stores)))
    return rule


def campaign_rule(campaign: Campaign, now: datetime) -> list[ColumnElement[bool]]:
    """The campaign's filter at ``now`` as conditions on ``Order`` alone: the facts,
    created since "yesterday" (Monday: Friday), not confirmed, not closed (every close of
    an order's case stamps ``wait_reason`` DONE on the order, see
    :func:`masking.campaigns.orders.confirm`), so the list and its counts need no join."""
    since = created_since(
        now, ZoneInfo(campaign.tz), campaign.lookback_days, campaign.monday_from_friday
    )
    return [
        *_facts(campaign),
        Order.created_at >= since,
        Order.confirmed_at.is_(None),
        or_(Order.wait_reason.is_(None), Order.wait_reason != WaitReason.DONE.value),
    ]


def campaign_orders(session: Session, campaign: Campaign, now: datetime) -> Select[Order]:
    """The campaign's orders at ``now``, newest first: the one definition of the list
    (the worklist, the pick, the counts, the report and the benchmark use it).
    (``session`` is not used; it is there for callers that compose it.)"""
    return (
        select(Order)
        .where(*campaign_rule(campaign, now))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


def _counts(
    session: Session, campaign: Campaign, now: datetime
) -> tuple[dict[str, int], datetime | None, str | None]:
    """Orders of the list by wait reason (``READY``: dialable as far as the stored hint
    knows: no reason, or its ``next_at`` has come), and the earliest moment a waiting one
    becomes dialable, with its reason; one pass, grouped by the stored reason."""
    ready = or_(Order.next_at.is_(None), Order.next_at <= now)
    rows = session.execute(
        campaign_orders(session, campaign, now)
        .with_only_columns(
            Order.wait_reason,
            func.count(),
            func.sum(case((ready, 1), else_=0)),
            func.min(case((~ready, Order.next_at))),
        )
        .order_by(None)
        .group_by(Order.wait_reason)
    ).all()
    counts: dict[str, int] = {}
    earliest: tuple[datetime, str] | None = None
    for reason, total, due, first in rows:
        if due:
            counts[READY] = counts.get(READY, 0) + int(due)
        if total - (due or 0) and reason is not None:
            counts[str(reason)] = int(total - (due or 0))
            if first is not None and (earliest is None or orders_utc(first) < earliest[0]):
                earliest = (orders_utc(first), str(reason))
    if earliest is None:
        return counts, None, None
    return counts, earliest[0], earliest[1]


def orders_utc(moment: datetime) -> datetime:
    """An aggregate's datetime (SQLite hands back naive UTC) as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class WorklistRow:
    order_id: int
    case_id: str
    external_ref: str
    status: str
    payment_method: str
    store: str
    created_at: datetime
    customer_tz: str
    attempts: int  # attempts in all
    attempts_today: int  # in the customer's local day
    last_outcome: str | None  # the latest attempt's Disposition
    last_attempt_at: datetime | None
    verdict: Verdict  # recomputed now for the viewer: dialable, or why not and until when
    callback_at: datetime | None
    callback_owner_id: int | None
    payment_details_resent_at: datetime | None


@dataclass(frozen=True)
class WorklistPage:
    campaign_id: int
    now: datetime
    total: int  # orders in the list
    offset: int
    limit: int
    rows: list[WorklistRow]
    # orders of the list by WaitReason value, READY for dialable now (from the stored hints)
    counts: dict[str, int] = field(default_factory=dict)
    earliest: datetime | None = None  # when the next waiting order becomes dialable
    earliest_reason: str | None = None


def _row(order: Order, attempts: Sequence[Any], verdict: Verdict, now: datetime) -> WorklistRow:
    tz = ZoneInfo(order.customer_tz)
    today = local_day(now, tz)
    last = attempts[-1] if attempts else None
    return WorklistRow(
        order_id=order.id,
        case_id=order.case_id,
        external_ref=order.external_ref,
        status=order.status,
        payment_method=order.payment_method,
        store=order.store,
        created_at=order.created_at,
        customer_tz=order.customer_tz,
        attempts=len(attempts),
        attempts_today=sum(1 for a in attempts if local_day(a.started_at, tz) == today),
        last_outcome=last.disposition if last else None,
        last_attempt_at=last.started_at if last else None,
        verdict=verdict,
        callback_at=order.callback_at,
        callback_owner_id=order.callback_owner_id,
        payment_details_resent_at=order.payment_details_resent_at,
    )


def _rows(
    session: Session,
    page: Sequence[Order],
    context: Context,
    now: datetime,
    staff_id: int | None,
    closed: frozenset[int] = frozenset(),
) -> list[WorklistRow]:
    attempts = attempts_of(session, [o.case_id for o in page])
    return [
        _row(
            o,
            attempts[o.case_id],
            verdict_for(
                o, attempts[o.case_id], context, now, closed=o.id in closed, staff_id=staff_id
            ),
            now,
        )
        for o in page
    ]


def _closed_of(session: Session, page: Sequence[Order]) -> frozenset[int]:
    """The orders of ``page`` whose case is closed (their hint not stamped yet: the
    verdict says DONE, and the next pick stores it)."""
    if not page:
        return frozenset()
    by_case = {o.case_id: o.id for o in page}
    closed = session.scalars(
        select(Case.id).where(Case.id.in_(list(by_case)), Case.status.not_in(list(OPEN)))
    )
    return frozenset(by_case[case_id] for case_id in closed)


def worklist(
    service: MaskingService,
    campaign_id: int,
    now: datetime,
    *,
    staff_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> WorklistPage:
    """One page of the campaign's list, newest first, each row with its verdict
    recomputed now (for ``staff_id``: an owned callback is dialable by its owner only);
    with the total and the counts by wait reason from the stored hints. Queries: the
    counts, the page, the page's attempts."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise AdminError(f"limit: from 1 to {MAX_PAGE}; offset: not negative")
    with service.db.session() as session:
        campaign = get_campaign(session, campaign_id)
        context = campaign_context(session, campaign)
        counts, earliest, earliest_reason = _counts(session, campaign, now)
        page = list(
            session.scalars(campaign_orders(session, campaign, now).offset(offset).limit(limit))
        )
        rows = _rows(session, page, context, now, staff_id, _closed_of(session, page))
    return WorklistPage(
        campaign_id=campaign_id,
        now=now,
        total=sum(counts.values()),
        offset=offset,
        limit=limit,
        rows=rows,
        counts=counts,
        earliest=earliest,
        earliest_reason=earliest_reason,
    )


def order_row(
    service: MaskingService,
    order_id: int,
    now: datetime,
    *,
    staff_id: int | None = None,
    campaign_id: int | None = None,
) -> WorklistRow:
    """One order as a worklist row (the order page): its verdict with the campaign's
    policy (``campaign_id`` None: the policy of the campaign it fits). Raises
    :class:`OrderNotFound`."""
    with service.db.session() as session:
        order = session.get(Order, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        if campaign_id is not None:
            context = campaign_context(session, get_campaign(session, campaign_id))
        else:
            context = context_of(session, order)
        status = session.scalar(select(Case.status).where(Case.id == order.case_id))
        closed = frozenset({order.id}) if status not in OPEN else frozenset()
        return _rows(session, [order], context, now, staff_id, closed)[0]


# ---- the claim ------------------------------------------------------------------------------
def _free(now: datetime, token: str | None = None) -> ColumnElement[bool]:
    """Nobody holds a live claim on the order (or ``token`` holds it)."""
    free = or_(Order.dialing_call_id.is_(None), Order.dialing_since < now - CLAIM_STALE)
    return or_(free, Order.dialing_call_id == token) if token is not None else free


def claim(session: Session, order_id: int, token: str, now: datetime) -> bool:
    """Claim the order for the call (or pick) ``token``, in the caller's transaction:
    True when this claim holds it (again: the same token may claim twice). False while
    another live claim holds it or another call about it is under way. One conditional
    UPDATE: the row lock (PostgreSQL) / the write lock (SQLite) settles concurrent
    claimers; the claimer's transaction should commit soon."""
    other_call = exists().where(
        CallRecord.case_id == Order.case_id,
        CallRecord.disposition == Disposition.IN_PROGRESS,
        CallRecord.id != token,
        CallRecord.started_at > now - ABANDONED,
    )
    done = session.execute(
        update(Order)
        .where(Order.id == order_id, _free(now, token), ~other_call)
        .values(
            dialing_call_id=token,
            dialing_since=now,
            next_at=now + CLAIM_STALE,
            wait_reason=WaitReason.DIALING.value,
        )
        .execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1


def set_claim_call(session: Session, order_id: int, token: str, call_id: str) -> bool:
    """The claim ``token`` now names the real call ``call_id`` (whose end releases it).
    False when the claim is no longer ``token``'s (it went stale and was taken)."""
    done = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.dialing_call_id == token)
        .values(dialing_call_id=call_id)
        .execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1


def _store_hint(order: Order, verdict: Verdict, now: datetime) -> None:
    for name, value in hint_values(verdict, now).items():
        setattr(order, name, value)


def release(
    session: Session,
    order_id: int,
    now: datetime,
    *,
    token: str | None = None,
    context: Context | None = None,
) -> bool:
    """Drop the claim (only ``token``'s, if given) and recompute the order's hint; True
    when a claim was dropped."""
    order = session.get(Order, order_id, with_for_update=True, populate_existing=True)
    if order is None:
        return False
    dropped = order.dialing_call_id is not None and token in (None, order.dialing_call_id)
    if dropped:
        order.dialing_call_id = None
        order.dialing_since = None
    session.flush()
    orders.refresh_hint(session, order, now, context)
    return dropped


def order_to_claim(session: Session, case_id: str) -> int | None:
    """The order whose confirmation case this is (None: not a confirmation)."""
    return session.scalar(select(Order.id).where(Order.case_id == case_id))


def attempt_ended(session: Session, record: CallRecord, now: datetime) -> None:
    """A call about a case ended (``call_log.mark_ended``, in its transaction; the desk
    for a denied leg): if the case is an order's, the call's claim is released, a
    callback it honoured is cleared, and the order's hint is recomputed."""
    if record.case_id is None:
        return
    order = session.scalar(select(Order).where(Order.case_id == record.case_id).with_for_update())
    if order is None:
        return
    if order.dialing_call_id == record.id:
        order.dialing_call_id = None
        order.dialing_since = None
    if (
        order.callback_at is not None
        and record.started_at >= order.callback_at
        and orders.is_attempt(record.disposition, record.recording_file)
    ):
        order.callback_at = None
        order.callback_owner_id = None
    session.flush()
    orders.refresh_hint(session, order, now)


# ---- the pick and the dial -------------------------------------------------------------------
@dataclass(frozen=True)
class Picked:
    """The order picked and claimed for ``staff_id``: dial it with
    :func:`dial_order` (``claimed=token``) or give it back with :func:`release`."""

    order_id: int
    token: str
    case_id: str
    external_ref: str
    verdict: Verdict


@dataclass(frozen=True)
class Empty:
    """Nothing is dialable now, and why: the list's orders by wait reason (``READY``
    left only when the pick ran out of rounds: ask again), and the earliest moment a
    waiting order becomes dialable, with its reason."""

    total: int
    counts: dict[str, int]
    earliest: datetime | None
    earliest_reason: str | None


def _claim_checked(
    service: MaskingService,
    order_id: int,
    token: str,
    context: Context,
    now: datetime,
    staff_id: int | None,
) -> tuple[bool, Verdict | None]:
    """Claim the order and re-verify it inside the claim's transaction. Returns
    ``(claimed, verdict)``: not claimed (another claim or call holds it): ``(False,
    None)``; claimed but no longer dialable: the claim is undone and the hint stored,
    ``(False, verdict)``; else ``(True, verdict)``."""
    with service.db.session() as session:
        if not claim(session, order_id, token, now):
            return False, None
        found = session.execute(
            select(Order, Case.status)
            .join(Case, Case.id == Order.case_id)
            .where(Order.id == order_id)
            .execution_options(populate_existing=True)
        ).one()
        order, status = found[0], found[1]
        attempts = attempts_of(session, [order.case_id])[order.case_id]
        verdict = verdict_for(
            order,
            attempts,
            context,
            now,
            closed=status not in OPEN,
            staff_id=staff_id,
            own_claim=token,
        )
        if verdict.dialable:
            return True, verdict
        order.dialing_call_id = None
        order.dialing_since = None
        _store_hint(order, verdict, now)
        return False, verdict


def _write_hints(
    service: MaskingService, verdicts: list[tuple[int, Verdict]], now: datetime
) -> None:
    """Store the hints of candidates found not dialable (ascending ids: no deadlock
    between two pickers); an order claimed meanwhile is left alone."""
    if not verdicts:
        return
    with service.db.session() as session:
        for order_id, verdict in sorted(verdicts, key=lambda v: v[0]):
            session.execute(
                update(Order)
                .where(Order.id == order_id, _free(now))
                .values(**hint_values(verdict, now))
                .execution_options(synchronize_session=False)
            )


def _candidates(
    session: Session, campaign: Campaign, context: Context, staff_id: int, now: datetime
) -> list[Order]:
    """Due callbacks this staff member may dial first (their own, or handed over), then
    the newest orders dialable as far as the hint knows; none claimed."""
    base = campaign_orders(session, campaign, now).where(_free(now))
    handover = now - timedelta(minutes=context.policy.callback_handover_minutes)
    # the site's due callbacks are few: found by their own index, then held to the rule
    due = list(
        session.scalars(
            select(Order.id)
            .where(
                Order.site_id == campaign.site_id,
                Order.callback_at <= now,
                or_(
                    Order.callback_owner_id == staff_id,
                    Order.callback_owner_id.is_(None),
                    Order.callback_at <= handover,
                ),
            )
            .order_by(Order.callback_at, Order.id)
            .limit(BATCH)
        )
    )
    callbacks = (
        list(
            session.scalars(
                base.where(Order.id.in_(due)).order_by(None).order_by(Order.callback_at, Order.id)
            )
        )
        if due
        else []
    )
    # dialable as far as the hint knows (a live claim's hint is DIALING until it goes
    # stale): the ids from the index alone, then their rows
    ready_ids = list(
        session.scalars(
            campaign_orders(session, campaign, now)
            .with_only_columns(Order.id)
            .where(or_(Order.next_at.is_(None), Order.next_at <= now))
            .limit(BATCH)
        )
    )
    seen = {o.id for o in callbacks}
    wanted = [i for i in ready_ids if i not in seen]
    loaded = {o.id: o for o in session.scalars(base.where(Order.id.in_(wanted)))} if wanted else {}
    return callbacks + [loaded[i] for i in wanted if i in loaded]


def _empty(service: MaskingService, campaign: Campaign, now: datetime) -> Empty:
    with service.db.session() as session:
        counts, earliest, reason = _counts(session, campaign, now)
    return Empty(sum(counts.values()), counts, earliest, reason)


def pick_next(
    service: MaskingService, campaign_id: int, staff_id: int, now: datetime
) -> Picked | Empty:
    """The newest order of the campaign dialable now by ``staff_id`` (a due callback of
    theirs, or handed over, first), claimed for them; else :class:`Empty` saying why.
    Candidates come from the stored hint in small batches and are re-verified with the
    pure policy; those found waiting get their hint written back."""
    with service.db.session() as session:
        campaign = get_campaign(session, campaign_id)
        context = campaign_context(session, campaign)
    for _ in range(MAX_ROUNDS):
        with service.db.session() as session:
            candidates = _candidates(session, campaign, context, staff_id, now)
            attempts = attempts_of(session, [o.case_id for o in candidates])
        if not candidates:
            break
        waiting: list[tuple[int, Verdict]] = []
        for order in candidates:
            verdict = verdict_for(
                order, attempts[order.case_id], context, now, closed=False, staff_id=staff_id
            )
            if not verdict.dialable:
                waiting.append((order.id, verdict))
                continue
            token = new_id()
            claimed, checked = _claim_checked(service, order.id, token, context, now, staff_id)
            if claimed and checked is not None:
                log.info(
                    "campaign %s: order %s picked for staff %s", campaign_id, order.id, staff_id
                )
                return Picked(order.id, token, order.case_id, order.external_ref, checked)
        _write_hints(service, waiting, now)
    return _empty(service, campaign, now)


def _abandon(session: Session, call_id: str, now: datetime) -> None:
    """A prepared click-to-call that will not be originated: ended, failed, no attempt."""
    record = session.get(CallRecord, call_id, with_for_update=True)
    if record is not None and record.ended_at is None:
        record.disposition = Disposition.FAILED
        record.status = CallStatus.ENDED
        record.ended_at = now


def dial_order(
    service: MaskingService,
    order_id: int,
    staff_id: int,
    *,
    channel: str = "api",
    campaign_id: int | None = None,
    claimed: str | None = None,
) -> str:
    """Prepare the masked click-to-call of the order for ``staff_id`` (reason
    ``order_confirmation``, the order's case): the verdict at this instant (with the
    campaign's policy; ``campaign_id`` None: the policy of the campaign it fits), the
    claim, then :func:`prepare_click2call`. ``claimed``: the token of a :class:`Picked`
    (already claimed and verified). Returns the call id; the caller originates it (the
    staff endpoint is on the call record) and, if that fails, ends the call
    (``call_log.mark_ended``), which releases the order.

    Raises :class:`NotDialable` (the verdict), :class:`Refused` (``already_dialing``,
    or any click-to-call refusal), :class:`OrderNotFound`, :class:`CampaignNotFound`."""
    now = service.clock()
    with service.db.session() as session:
        order = session.get(Order, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        if campaign_id is not None:
            context = campaign_context(session, get_campaign(session, campaign_id))
        else:
            context = context_of(session, order)
        shipment_number = order.shipment.external_number
        case_id = order.case_id
    token = claimed or new_id()
    if claimed is None:
        ok, verdict = _claim_checked(service, order_id, token, context, now, staff_id)
        if verdict is None:
            raise Refused(Refusal.ALREADY_DIALING, detail=f"order {order_id}")
        if not ok:
            raise NotDialable(verdict)
    else:
        with service.db.session() as session:
            if not claim(session, order_id, token, now):
                raise Refused(Refusal.ALREADY_DIALING, detail=f"order {order_id}")
    try:
        call_id, _endpoint = prepare_click2call(
            service,
            staff_id=staff_id,
            shipment_number=shipment_number,
            reason=REASON_CODE,
            channel=channel,
            case_id=case_id,
        )
    except BaseException:
        with service.db.session() as session:
            release(session, order_id, service.clock(), token=token, context=context)
        raise
    with service.db.session() as session:
        named = set_claim_call(session, order_id, token, call_id)
        if not named:
            _abandon(session, call_id, service.clock())
    if not named:
        raise Refused(Refusal.ALREADY_DIALING, detail=f"order {order_id}: claim lost")
    log.info("order %s: call %s prepared for staff %s", order_id, call_id, staff_id)
    return call_id


def dial_next(
    service: MaskingService, campaign_id: int, staff_id: int, *, channel: str = "api"
) -> tuple[Picked, str] | Empty:
    """:func:`pick_next` and :func:`dial_order` of the order picked: ``(picked, call
    id)``, or :class:`Empty`. A refusal of the click-to-call gives the order back."""
    picked = pick_next(service, campaign_id, staff_id, service.clock())
    if isinstance(picked, Empty):
        return picked
    call_id = dial_order(
        service,
        picked.order_id,
        staff_id,
        channel=channel,
        campaign_id=campaign_id,
        claimed=picked.token,
    )
    return picked, call_id


# ---- the day report --------------------------------------------------------------------------
def _day_bounds(campaign: Campaign, day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(campaign.tz)
    return datetime.combine(day, time(0), tz), datetime.combine(
        day + timedelta(days=1), time(0), tz
    )


def _windows_left(policy: AttemptPolicy, day: date, tz: ZoneInfo, after: datetime) -> int:
    """How many of ``day``'s windows (customer-local) were not over yet at ``after``."""
    return sum(1 for w in policy.windows if datetime.combine(day, w.end, tz) > after)


def day_report(service: MaskingService, campaign_id: int, day: date) -> dict[str, Any]:
    """The campaign's ``day`` (its time zone): orders in the list that day, attempts,
    orders reached (an answered attempt), confirmed, declined, orders that got three
    attempts in three different windows, and the orders skipped (in the list, still open
    at the end of the day, without three attempts in three windows) and why: today, their
    wait reason now (``dialable``: due and not called yet); a past day, ``arrived_late``
    (fewer than three windows were left when it arrived), ``not_called`` or
    ``fewer_windows``."""
    now = service.clock()
    with service.db.session() as session:
        campaign = get_campaign(session, campaign_id)
        policy = parse_policy(campaign.policy)
        start, end = _day_bounds(campaign, day)
        as_of = min(end, max(now, start))
        noon = datetime.combine(day, time(12), ZoneInfo(campaign.tz))
        since = created_since(
            noon, ZoneInfo(campaign.tz), campaign.lookback_days, campaign.monday_from_friday
        )
        # the list of the day: the rule's facts, created since "yesterday" of that day,
        # not closed before the day began
        rule = _facts(campaign)
        listed = session.execute(
            select(
                Order.id,
                Order.case_id,
                Order.created_at,
                Order.customer_tz,
                Order.confirmed_at,
                Order.next_at,
                Order.wait_reason,
                Case.status,
                Case.closed_at,
            )
            .join(Case, Case.id == Order.case_id)
            .where(
                *rule,
                Order.created_at >= since,
                Order.created_at < end,
                or_(Case.closed_at.is_(None), Case.closed_at >= start),
            )
        ).all()
        by_case = {row.case_id: row for row in listed}
        calls = session.execute(
            select(
                CallRecord.case_id,
                CallRecord.started_at,
                CallRecord.disposition,
                CallRecord.bridged_seconds,
            )
            .join(Order, Order.case_id == CallRecord.case_id)
            .where(
                *rule,
                CallRecord.started_at >= start,
                CallRecord.started_at < end,
                orders.reached_customer(),
            )
        ).all()
    today = start <= now < end
    attempts: dict[str, list[Any]] = {}
    for call in calls:
        if call.case_id in by_case:
            attempts.setdefault(call.case_id, []).append(call)
    reached = {
        c
        for c, rows in attempts.items()
        if any(r.disposition == Disposition.ANSWERED for r in rows)
    }
    three: set[str] = set()
    for case_id, rows in attempts.items():
        tz = ZoneInfo(by_case[case_id].customer_tz)
        windows = {window_of(policy, r.started_at, tz) for r in rows} - {None}
        if len(rows) >= THREE and len(windows) >= THREE:
            three.add(case_id)
    confirmed = [r for r in listed if r.confirmed_at is not None and start <= r.confirmed_at < end]
    declined = [
        r
        for r in listed
        if r.status == CaseStatus.NOT_RESOLVED
        and r.closed_at is not None
        and start <= r.closed_at < end
    ]
    skipped: Counter[str] = Counter()
    for row in listed:
        open_at_end = row.closed_at is None or orders_utc(row.closed_at) > as_of
        if not open_at_end or row.case_id in three:
            continue
        if today:
            ready = row.next_at is None or orders_utc(row.next_at) <= now
            skipped[READY if ready else str(row.wait_reason)] += 1
            continue
        tz = ZoneInfo(row.customer_tz)
        if _windows_left(policy, day, tz, orders_utc(row.created_at)) < THREE:
            skipped["arrived_late"] += 1
        elif row.case_id not in attempts:
            skipped["not_called"] += 1
        else:
            skipped["fewer_windows"] += 1
    return {
        "campaign_id": campaign_id,
        "day": day.isoformat(),
        "in_list": len(listed),
        "attempts": sum(len(rows) for rows in attempts.values()),
        "orders_called": len(attempts),
        "reached": len(reached),
        "confirmed": len(confirmed),
        "declined": len(declined),
        "three_windows": len(three),
        "skipped": sum(skipped.values()),
        "skipped_why": dict(sorted(skipped.items())),
    }
