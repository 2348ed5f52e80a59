"""Orders to confirm by phone (seed 003): received from the shop one by one or from a CSV,
confirmed or declined on the evidence of a real call, called back at an agreed time.

An order is three rows made together by :func:`upsert_order`: the :class:`Shipment`
(its ``external_number`` is the order's id, its ``customer_phone`` the customer's number,
stored once and reached only through reveal and click-to-call), the :class:`Order` (the
shop's facts and the dial state) and a :class:`Case` of kind ``confirmation`` (notes,
audit, attempts, events out).

The dial state on the order (``next_at`` / ``wait_reason`` / ``wait_detail``) is a stored
*hint*, recomputed with the pure policy (:mod:`masking.campaigns.policy`) whenever
something it depends on changes: the order arrives, a call about it is claimed or ends, a
callback is agreed, it is confirmed or declined. The truth is always recomputed at the
moment of dialing (:func:`masking.campaigns.worklist.dial_order`) and for the rows shown.

What counts as an *attempt* (:func:`past_attempts`): a call record of the order's case
that reached the customer's leg (the desk set its ``recording_file`` when it dialed the
customer) or is still under way; a denied call, or a click-to-call whose operator phone
never answered, called nobody and is not an attempt.

The customer's number never appears in a log line, an error message or an exception.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from masking.campaigns.policy import (
    AttemptPolicy,
    Callback,
    PastAttempt,
    PolicyError,
    Verdict,
    decide,
)
from masking.cases import lifecycle, outbox
from masking.cases.rules import OPEN, Attempt, RuleBroken
from masking.hours import Schedule, ScheduleError, zone
from masking.numbers.phones import InvalidPhoneNumber, mask_number, normalize
from masking.service import MaskingService
from masking.shapes import (
    CODE_RE,
    SHIPMENT_RE,
    AdminError,
    ImportReport,
    check_csv_rows,
    csv_time,
    read_csv_column,
    require_columns,
)
from masking.sites import get_site, schedule_of
from masking.states import CaseKind, CaseStatus, Disposition, WaitReason
from masking.storage.models import (
    Binding,
    CallRecord,
    Campaign,
    Case,
    Order,
    Shipment,
    Site,
    Staff,
)

log = logging.getLogger("masking.campaigns.orders")

# the reason every campaign call carries (kind call_centre)
REASON_CODE = "order_confirmation"
# the topic of an order's confirmation case
CASE_TOPIC = "order_confirmation"
# the shop's statuses and payment methods: lower-case codes ("pending_payment")
TOKEN_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_STORE = 64
# how far in the future ``created_at`` may be (the shop's clock runs ahead)
CLOCK_SKEW = timedelta(minutes=5)
# a callback is agreed for at most this far ahead
MAX_CALLBACK_AHEAD = timedelta(days=14)
# a claim whose call never ended (the service died) expires after this long
CLAIM_STALE = timedelta(minutes=10)
# a waiting order whose "until" is unknown (nothing opens within the policy's horizon) is
# looked at again after this long
RECHECK = timedelta(hours=1)
PAYMENT_DETAILS_REQUESTED = "order.payment_details_requested"
CSV_COLUMNS = {
    "external_ref": "order_id",
    "status": "status",
    "payment_method": "payment_method",
    "store": "store",
    "created_at": "created_at",
    "customer_phone": "phone",
    "customer_tz": "timezone",
    # optional: what the hotline asks the caller to say
    "model": "model",
    "customer_name": "name",
    "customer_city": "city",
    "customer_address": "address",
}


class OrderNotFound(LookupError):
    pass


@dataclass(frozen=True)
class IncomingOrder:
    """An order as the shop sends it. ``customer_phone`` may be None on an update (the
    number stays); ``customer_tz`` empty means the site's time zone."""

    source: str
    external_ref: str
    status: str
    payment_method: str
    store: str
    created_at: datetime
    customer_phone: str | None
    customer_tz: str
    # what the hotline asks the caller to say (seed 004); compared, never shown; empty on an
    # update: unchanged
    model: str = ""
    customer_name: str = ""
    customer_city: str = ""
    customer_address: str = ""


# the identity fields and the model: their column sizes
IDENTITY_LIMITS = {
    "model": 120,
    "customer_name": 200,
    "customer_city": 100,
    "customer_address": 300,
}


def _token(value: str) -> str:
    return "_".join((value or "").strip().lower().split())


def _check(
    site: Site,
    now: datetime,
    raw: IncomingOrder,
    label: dict[str, str] | None = None,
    where: str = "",
) -> IncomingOrder:
    """``raw`` with every field checked and tidied (codes lower-cased, the phone
    normalised); the error names the field (by ``label``, if given) after ``where`` and
    never repeats the phone."""

    def bad(name: str, why: str) -> AdminError:
        return AdminError(f"{where}{(label or {}).get(name, name)}: {why}")

    if not CODE_RE.match(raw.source or ""):
        raise bad("source", "must be 1-64 lower-case letters, digits, '-' or '_'")
    external_ref = (raw.external_ref or "").strip()
    if not SHIPMENT_RE.match(external_ref):
        raise bad("external_ref", "must be 1-64 letters, digits, '-' or '_'")
    status = _token(raw.status)
    if not TOKEN_RE.match(status):
        raise bad("status", "must be 1-40 letters, digits, '-' or '_' (e.g. pending_payment)")
    payment_method = _token(raw.payment_method)
    if not TOKEN_RE.match(payment_method):
        raise bad("payment_method", "must be 1-40 letters, digits, '-' or '_'")
    store = " ".join((raw.store or "").split())
    if len(store) > MAX_STORE:
        raise bad("store", f"is longer than {MAX_STORE} characters")
    created_at = raw.created_at
    if not isinstance(created_at, datetime) or created_at.tzinfo is None:
        raise bad("created_at", "must be a time with its UTC offset")
    if created_at > now + CLOCK_SKEW:
        raise bad("created_at", "is in the future")
    tz_name = (raw.customer_tz or "").strip() or site.timezone
    try:
        zone(tz_name)
    except ScheduleError:
        raise bad("customer_tz", "is not an IANA time zone (e.g. Europe/Kyiv)") from None
    phone = None
    if (raw.customer_phone or "").strip():
        try:
            phone = normalize(raw.customer_phone or "", site.phone_region, field="")
        except InvalidPhoneNumber as exc:
            raise bad("customer_phone", exc.reason) from None
    identity: dict[str, str] = {}
    for name, limit in IDENTITY_LIMITS.items():
        value = " ".join((getattr(raw, name) or "").split())
        if len(value) > limit:
            # the value itself is personal data: the error names only the field
            raise bad(name, f"is longer than {limit} characters")
        identity[name] = value
    return IncomingOrder(
        raw.source,
        external_ref,
        status,
        payment_method,
        store,
        created_at,
        phone,
        tz_name,
        **identity,
    )


# ---- writing an order --------------------------------------------------------------------
@dataclass
class _Written:
    order: Order
    created: bool
    changed: bool
    revoked: list[Binding]


def _revoke_live(session: Session, shipment: Shipment, now: datetime) -> list[Binding]:
    """The shipment's phone changed: its live bindings still lead to the old number, so
    they are revoked (in the database here; the caller releases them from the live pool
    before the commit, like :func:`masking.shipments.import_for_site`)."""
    revoked = list(
        session.scalars(
            select(Binding).where(Binding.shipment_id == shipment.id, Binding.live_at(now))
        )
    )
    for binding in revoked:
        binding.revoked_at = now
    return revoked


def _write(
    session: Session,
    site: Site,
    incoming: IncomingOrder,
    now: datetime,
    *,
    staff_id: int | None = None,
    where: str = "",
) -> _Written:
    order = session.scalar(
        select(Order).where(Order.site_id == site.id, Order.external_ref == incoming.external_ref)
    )
    if order is not None:
        if order.source != incoming.source:
            raise AdminError(
                f"{where}source: order {incoming.external_ref} was sent by {order.source!r}"
            )
        changed = False
        for name in ("status", "payment_method", "store", "created_at", "customer_tz"):
            value = getattr(incoming, name)
            if getattr(order, name) != value:
                setattr(order, name, value)
                changed = True
        revoked: list[Binding] = []
        shipment = order.shipment
        changed = _identify(order, shipment, incoming) or changed
        if incoming.customer_phone and incoming.customer_phone != shipment.customer_phone:
            shipment.customer_phone = incoming.customer_phone
            revoked = _revoke_live(session, shipment, now)
            changed = True
        if changed:
            order.updated_at = now
            session.flush()
            refresh_hint(session, order, now)
        return _Written(order, False, changed, revoked)

    case_elsewhere = session.scalar(
        select(Case.site_id).where(
            Case.kind == CaseKind.CONFIRMATION,
            Case.source == incoming.source,
            Case.external_ref == incoming.external_ref,
        )
    )
    if case_elsewhere is not None:
        raise AdminError(
            f"{where}external_ref: order {incoming.external_ref} of {incoming.source} "
            "belongs to another site"
        )
    revoked = []
    known = session.scalar(
        select(Shipment).where(
            Shipment.site_id == site.id, Shipment.external_number == incoming.external_ref
        )
    )
    if known is None:
        if incoming.customer_phone is None:
            raise AdminError(f"{where}customer_phone: a new order needs the customer's number")
        shipment = Shipment(
            site_id=site.id,
            external_number=incoming.external_ref,
            customer_phone=incoming.customer_phone,
        )
        session.add(shipment)
        session.flush()
    else:
        shipment = known
        if incoming.customer_phone and incoming.customer_phone != shipment.customer_phone:
            shipment.customer_phone = incoming.customer_phone
            revoked = _revoke_live(session, shipment, now)
    case = Case(
        kind=CaseKind.CONFIRMATION,
        site_id=site.id,
        source=incoming.source,
        external_ref=incoming.external_ref,
        shipment_id=shipment.id,
        topic=CASE_TOPIC,
        status=CaseStatus.NEW,
        received_at=incoming.created_at,
        created_at=now,
    )
    session.add(case)
    session.flush()
    lifecycle.audit(session, case, "created", now, staff_id=staff_id)
    order = Order(
        site_id=site.id,
        shipment_id=shipment.id,
        case_id=case.id,
        source=incoming.source,
        external_ref=incoming.external_ref,
        status=incoming.status,
        payment_method=incoming.payment_method,
        store=incoming.store,
        created_at=incoming.created_at,
        customer_tz=incoming.customer_tz,
        updated_at=now,
    )
    session.add(order)
    _identify(order, shipment, incoming)
    session.flush()
    refresh_hint(session, order, now)
    return _Written(order, True, True, revoked)


def _identify(order: Order, shipment: Shipment, incoming: IncomingOrder) -> bool:
    """Write the model and the customer's identity where the shop sent them (an empty
    field leaves what is stored); True when something changed."""
    changed = False
    targets: list[tuple[object, str, str]] = [
        (order, "model", incoming.model),
        (shipment, "customer_name", incoming.customer_name),
        (shipment, "customer_city", incoming.customer_city),
        (shipment, "customer_address", incoming.customer_address),
    ]
    for target, name, value in targets:
        if value and getattr(target, name) != value:
            setattr(target, name, value)
            changed = True
    return changed


def _release(service: MaskingService, site: Site, revoked: Iterable[Binding]) -> None:
    """Forget revoked bindings in the live pool, before the commit: if Redis cannot, the
    transaction rolls back and the old number keeps working until the order is resent."""
    for binding in revoked:
        service.pool.release(binding.id)
        log.info(
            "site %s order %s: phone corrected, now %s; revoked binding %s "
            "(temporary number %s, was for %s)",
            site.code,
            binding.shipment.external_number,
            mask_number(binding.shipment.customer_phone),
            binding.id,
            binding.virtual_number,
            mask_number(binding.customer_phone),
        )


def upsert_order(
    service: MaskingService,
    site_code: str,
    order: IncomingOrder,
    *,
    staff_id: int | None = None,
) -> tuple[int, bool]:
    """Receive an order (new: its shipment, order row and confirmation case, audited
    ``created``) or update the known one with the same ``external_ref`` at the site (the
    same facts again change nothing). A changed customer number updates the shipment and
    revokes its live temporary number. Returns ``(order id, created)``; raises
    :class:`AdminError` naming the field."""
    now = service.clock()
    for attempt in (1, 2):
        try:
            with service.db.session() as session:
                site = get_site(session, site_code)
                incoming = _check(site, now, order)
                written = _write(session, site, incoming, now, staff_id=staff_id)
                _release(service, site, written.revoked)
                order_id, created = written.order.id, written.created
                ref = incoming.external_ref
        except IntegrityError:
            # the same order arrived through another instance at the same moment: the
            # second pass finds what it wrote
            if attempt == 2:
                raise
            continue
        if created:
            log.info("order %s received at site %s (id %s)", ref, site_code, order_id)
        return order_id, created
    raise AssertionError("unreachable")


def import_csv(service: MaskingService, site_code: str, text: str, source: str) -> ImportReport:
    """CSV with columns order_id, status, payment_method, store, created_at (ISO 8601 with
    offset), phone, timezone (the last three may be empty on a known order; an empty
    timezone is the site's) and, optional, model, name, city, address (for the hotline).
    All or nothing: every row is checked first and the first bad one aborts the import
    with its line number. ``added``: new orders; ``skipped``: known orders (updated where
    something changed)."""
    now = service.clock()
    rows = read_csv_column(text, CSV_COLUMNS["external_ref"])
    optional = {"store", *IDENTITY_LIMITS}
    require_columns(rows, [c for k, c in CSV_COLUMNS.items() if k not in optional])

    def check(where: str, row: dict[str, str]) -> IncomingOrder:
        raw = IncomingOrder(
            source=source,
            external_ref=row.get("order_id") or "",
            status=row.get("status") or "",
            payment_method=row.get("payment_method") or "",
            store=row.get("store") or "",
            created_at=csv_time(row, "created_at", where),
            customer_phone=row.get("phone"),
            customer_tz=row.get("timezone") or "",
            model=row.get("model") or "",
            customer_name=row.get("name") or "",
            customer_city=row.get("city") or "",
            customer_address=row.get("address") or "",
        )
        return _check(site, now, raw, label=CSV_COLUMNS, where=where)

    for attempt in (1, 2):
        try:
            with service.db.session() as session:
                site = get_site(session, site_code)
                checked = check_csv_rows(rows, check, lambda o: o.external_ref, "order_id")
                added = 0
                revoked: list[Binding] = []
                for where, incoming in checked:
                    written = _write(session, site, incoming, now, where=where)
                    added += written.created
                    revoked.extend(written.revoked)
                _release(service, site, revoked)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        log.info(
            "orders import for site %s: %d added, %d known", site_code, added, len(checked) - added
        )
        return ImportReport(added=added, skipped=len(checked) - added)
    raise AssertionError("unreachable")


# ---- attempts, the policy that applies, the verdict -----------------------------------------
def _attempt_columns() -> tuple[Any, ...]:
    return (
        CallRecord.case_id,
        CallRecord.started_at,
        CallRecord.disposition,
        CallRecord.bridged_seconds,
        CallRecord.recording_file,
    )


def is_attempt(disposition: str, recording_file: str | None) -> bool:
    """Whether a call record of the order's case is an attempt: under way, or not denied
    and the customer's leg was dialed (the desk names the recording when it dials the
    customer)."""
    if disposition == Disposition.IN_PROGRESS:
        return True
    return disposition != Disposition.DENIED and recording_file is not None


def attempts_of(session: Session, case_ids: Sequence[str]) -> dict[str, list[PastAttempt]]:
    """The attempts of each case, oldest first, in one query."""
    result: dict[str, list[PastAttempt]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return result
    rows = session.execute(
        select(*_attempt_columns())
        .where(CallRecord.case_id.in_(list(case_ids)))
        .order_by(CallRecord.started_at, CallRecord.id)
    ).all()
    for row in rows:
        if is_attempt(row.disposition, row.recording_file):
            result[row.case_id].append(PastAttempt(row.started_at, row.disposition))
    return result


def parse_policy(data: dict[str, Any] | None) -> AttemptPolicy:
    """A campaign's stored policy (empty: the defaults); a bad stored one (edited by hand)
    falls back to the defaults, logged."""
    try:
        return AttemptPolicy.from_json(data or None)
    except PolicyError as exc:
        log.error("a stored attempt policy is invalid (%s); using the defaults", exc)
        return AttemptPolicy()


def matches(campaign: Campaign, order: Order) -> bool:
    """Whether ``order`` fits the campaign's rule apart from the dates (for the hint's
    policy; the list itself is :func:`masking.campaigns.worklist.campaign_orders`)."""
    return (
        (not campaign.payment_methods or order.payment_method in campaign.payment_methods)
        and (not campaign.statuses or order.status in campaign.statuses)
        and (not campaign.stores or order.store in campaign.stores)
    )


@dataclass(frozen=True)
class Context:
    """What a verdict needs beside the order: the attempt policy and the centre's hours."""

    policy: AttemptPolicy
    centre: Schedule | None


def context_of(session: Session, order: Order) -> Context:
    """The policy of the site's first active campaign the order fits (the defaults when
    none does) and the site's schedule."""
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.site_id == order.site_id, Campaign.active.is_(True))
        .order_by(Campaign.id)
    ).all()
    chosen = next((c for c in campaigns if matches(c, order)), None)
    policy = parse_policy(chosen.policy) if chosen is not None else AttemptPolicy()
    site = session.get(Site, order.site_id)
    return Context(policy, schedule_of(site) if site is not None else None)


def claimed_now(order: Order, now: datetime) -> bool:
    """A claim that has not gone stale: some path is dialing the order."""
    return (
        order.dialing_call_id is not None
        and order.dialing_since is not None
        and order.dialing_since >= now - CLAIM_STALE
    )


def verdict_for(
    order: Order,
    attempts: Sequence[PastAttempt],
    context: Context,
    now: datetime,
    *,
    closed: bool,
    staff_id: int | None = None,
    own_claim: str | None = None,
) -> Verdict:
    """The pure policy's verdict on ``order``; a live claim (a call being set up) other
    than ``own_claim`` is DIALING too."""
    callback = (
        Callback(order.callback_at, order.callback_owner_id)
        if order.callback_at is not None
        else None
    )
    verdict = decide(
        context.policy,
        now=now,
        customer_tz=ZoneInfo(order.customer_tz),
        centre=context.centre,
        attempts=attempts,
        callback=callback,
        staff_id=staff_id,
        closed=closed or order.confirmed_at is not None,
    )
    if (
        claimed_now(order, now)
        and order.dialing_call_id != own_claim
        and verdict.reason not in (WaitReason.DONE, WaitReason.DIALING)
    ):
        return Verdict(False, WaitReason.DIALING, None, verdict.window)
    return verdict


def _closed(session: Session, order: Order) -> bool:
    status = session.scalar(select(Case.status).where(Case.id == order.case_id))
    return status not in OPEN


def order_verdict(
    session: Session,
    order: Order,
    policy: AttemptPolicy | None = None,
    centre: Schedule | None = None,
    now: datetime | None = None,
    staff_id: int | None = None,
) -> Verdict:
    """May ``order`` be dialed at ``now`` (by ``staff_id``), and if not, why and from
    when. ``policy`` None: the policy of the campaign it fits, with the site's schedule
    (``centre`` is then ignored)."""
    if now is None:
        raise ValueError("now is required")
    context = Context(policy, centre) if policy is not None else context_of(session, order)
    attempts = attempts_of(session, [order.case_id])[order.case_id]
    return verdict_for(
        order, attempts, context, now, closed=_closed(session, order), staff_id=staff_id
    )


def hint_values(verdict: Verdict, now: datetime) -> dict[str, Any]:
    """The stored hint for a verdict: dialable -> ``next_at`` None; waiting -> until when
    and why (an unknown "until" is looked at again after :data:`RECHECK`, a call under way
    after :data:`CLAIM_STALE`; DONE never)."""
    if verdict.dialable:
        return {"next_at": None, "wait_reason": None, "wait_detail": verdict.window}
    reason = verdict.reason or WaitReason.DONE
    until = verdict.until
    if until is None and reason != WaitReason.DONE:
        until = now + (CLAIM_STALE if reason == WaitReason.DIALING else RECHECK)
    return {"next_at": until, "wait_reason": reason.value, "wait_detail": verdict.window}


def refresh_hint(
    session: Session, order: Order, now: datetime, context: Context | None = None
) -> Verdict:
    """Recompute and store ``order``'s hint (in the caller's transaction)."""
    verdict = order_verdict(
        session,
        order,
        context.policy if context else None,
        context.centre if context else None,
        now,
    )
    values = hint_values(verdict, now)
    if (
        verdict.reason == WaitReason.DIALING
        and claimed_now(order, now)
        and order.dialing_since is not None
    ):
        values["next_at"] = order.dialing_since + CLAIM_STALE  # looked at when it goes stale
    for name, value in values.items():
        setattr(order, name, value)
    return verdict


# ---- what people do with an order ------------------------------------------------------------
def _order(session: Session, order_id: int, *, lock: bool = False) -> Order:
    order = session.get(Order, order_id, with_for_update=lock or None)
    if order is None:
        raise OrderNotFound(order_id)
    return order


def _check_staff(session: Session, order: Order, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.site_id != order.site_id:
        raise AdminError(f"staff_id: no active staff member {staff_id} at the order's site")
    return staff


def _check_contact(session: Session, order: Order, evidence: Sequence[Attempt] = ()) -> None:
    """The campaign's policy may ask for a longer conversation than the case rules do."""
    policy = context_of(session, order).policy
    rows = session.execute(
        select(CallRecord.disposition, CallRecord.bridged_seconds).where(
            CallRecord.case_id == order.case_id
        )
    ).all()
    calls = [(d, b) for d, b in rows] + [(a.disposition, a.bridged_seconds) for a in evidence]
    if not any(
        d == Disposition.ANSWERED and (b or 0) >= policy.min_bridged_seconds for d, b in calls
    ):
        seconds = max(policy.min_bridged_seconds, 10)
        raise RuleBroken(
            "contact_required",
            f"status: confirmed needs an answered call of at least {seconds} s about this case",
            target=CaseStatus.CONFIRMED,
            seconds=seconds,
        )


def _close(
    service: MaskingService,
    order_id: int,
    staff_id: int,
    target: CaseStatus,
    note: str,
    evidence: Sequence[Attempt] = (),
) -> None:
    with service.db.session() as session:
        order = _order(session, order_id)
        _check_staff(session, order, staff_id)
        case_id = order.case_id
        if (note or "").strip() and not _closed(session, order):
            if target == CaseStatus.CONFIRMED:
                _check_contact(session, order, evidence)
            elif not attempts_of(session, [case_id])[case_id]:
                raise RuleBroken(
                    "attempt_required",
                    f"status: {target} needs at least one call attempt",
                    target=target,
                )
    # the rules of the confirmation kind decide on the evidence (RuleBroken); the status
    # change, its note, audit and event out are one transaction
    lifecycle.change_status(service, case_id, staff_id, target, note, evidence=evidence)
    now = service.clock()
    with service.db.session() as session:
        order = _order(session, order_id, lock=True)
        if target == CaseStatus.CONFIRMED:
            order.confirmed_at = now
        order.callback_at = None
        order.callback_owner_id = None
        order.next_at = None
        order.wait_reason = WaitReason.DONE.value
        order.wait_detail = None
        order.updated_at = now
    log.info("order %s: %s by staff %s", order_id, target, staff_id)


def confirm(
    service: MaskingService,
    order_id: int,
    staff_id: int,
    note: str,
    *,
    evidence: Sequence[Attempt] = (),
) -> None:
    """The customer confirmed the order on the phone: only after an answered call of at
    least the policy's ``min_bridged_seconds`` (>= 10 s) about it, with a note; raises
    :class:`RuleBroken` (``note_required``, ``contact_required``, ``transition``). Ends the
    order's attempts; the case's status change goes out through the outbox.
    ``evidence``: a call with the customer about the order that is not one of its
    attempts (the customer called the hotline and was identified on this order: that
    call, still up, counts for the seconds since it was answered)."""
    _close(service, order_id, staff_id, CaseStatus.CONFIRMED, note, evidence)


def decline(service: MaskingService, order_id: int, staff_id: int, note: str) -> None:
    """The customer refused or cancelled on the phone: Not resolved, after at least one
    attempt, with a note (:class:`RuleBroken` otherwise). Ends the order's attempts."""
    _close(service, order_id, staff_id, CaseStatus.NOT_RESOLVED, note)


def set_callback(service: MaskingService, order_id: int, staff_id: int, at: datetime) -> None:
    """A callback agreed with the customer for ``at``, owned by ``staff_id`` until the
    policy's hand-over, then anyone's; audited on the case. Raises :class:`AdminError`
    (bad time) or :class:`RuleBroken` (the order is closed)."""
    now = service.clock()
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise AdminError("at: must be a time with its UTC offset")
    if at <= now:
        raise AdminError("at: must be in the future")
    if at > now + MAX_CALLBACK_AHEAD:
        raise AdminError(f"at: at most {MAX_CALLBACK_AHEAD.days} days ahead")
    with service.db.session() as session:
        order = _order(session, order_id, lock=True)
        _check_staff(session, order, staff_id)
        case = lifecycle.locked_case(session, order.case_id)
        if case.status not in OPEN:
            raise RuleBroken("closed", f"status: the case is {case.status}", current=case.status)
        order.callback_at = at
        order.callback_owner_id = staff_id
        order.updated_at = now
        lifecycle.audit(session, case, "callback", now, staff_id=staff_id, detail=at.isoformat())
        session.flush()
        refresh_hint(session, order, now)
    log.info("order %s: callback agreed by staff %s for %s", order_id, staff_id, at.isoformat())


def resend_payment_details(service: MaskingService, order_id: int, staff_id: int) -> None:
    """The customer did not get the payment details: the request is recorded (case audit
    ``payment_details``) and goes out through the outbox (``order.payment_details_requested``)
    for the shop to send them again."""
    now = service.clock()
    with service.db.session() as session:
        order = _order(session, order_id, lock=True)
        _check_staff(session, order, staff_id)
        case = lifecycle.locked_case(session, order.case_id)
        order.payment_details_resent_at = now
        lifecycle.audit(session, case, "payment_details", now, staff_id=staff_id)
        outbox.enqueue(
            session,
            case,
            PAYMENT_DETAILS_REQUESTED,
            now,
            order_id=order.id,
            requested_by=staff_id,
        )
    log.info("order %s: payment details requested again by staff %s", order_id, staff_id)


def reached_customer() -> Any:
    """The SQL condition of :func:`is_attempt` (for counting attempts in queries)."""
    return or_(
        CallRecord.disposition == Disposition.IN_PROGRESS,
        (CallRecord.disposition != Disposition.DENIED) & CallRecord.recording_file.is_not(None),
    )
