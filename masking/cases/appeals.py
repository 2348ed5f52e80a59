"""Buyers' appeals handed to the site by the marketplace (seed 002): received (one by one
or from a CSV), timed by the SLA, closed as Not resolved by the service when the
resolution limit passes, and reported on.

The customer of an appeal is the customer of its order (a shipment of the site): the
number is stored there once and reached only through reveal and click-to-call of that
shipment. An appeal about a known order takes the order's number; a *different* number
sent with it is refused (the order's customer is who the site may call; a correction goes
through the shipment import, which also revokes the live temporary number).
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from masking.cases import lifecycle, sla
from masking.cases.lifecycle import Opened
from masking.cases.rules import OPEN
from masking.hours import ScheduleError, zone
from masking.numbers.phones import InvalidPhoneNumber, normalize
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
from masking.sites import get_site
from masking.states import AppealChannel, AppealType, AutoDetail, CaseKind, CaseStatus, Role
from masking.storage.models import Case, Shipment, Site, Staff

log = logging.getLogger("masking.cases.appeals")

MAX_TEXT = lifecycle.MAX_NOTE
# how far in the future ``received_at`` may be (the sender's clock runs ahead)
CLOCK_SKEW = timedelta(minutes=5)
AUTO_CLOSE_WHY = AutoDetail.SLA_BREACHED
CSV_COLUMNS = {
    "external_ref": "appeal_id",
    "topic": "type",
    "channel": "channel",
    "order_ref": "order",
    "customer_phone": "phone",
    "text": "text",
    "received_at": "received_at",
}


@dataclass(frozen=True)
class Incoming:
    """An appeal as sent; after :func:`_check`, every field checked (the phone normalised,
    if given)."""

    source: str
    external_ref: str
    topic: str
    channel: str
    order_ref: str
    customer_phone: str | None
    text: str
    received_at: datetime


def _check(
    site: Site, now: datetime, raw: Incoming, label: dict[str, str] | None = None, where: str = ""
) -> Incoming:
    """``raw`` with every field checked and tidied, the phone normalised; the error names
    the field (by ``label``, if given) after ``where``."""
    source, received_at = raw.source, raw.received_at

    def bad(name: str, why: str) -> AdminError:
        return AdminError(f"{where}{(label or {}).get(name, name)}: {why}")

    if not CODE_RE.match(source or ""):
        raise bad("source", "must be 1-64 lower-case letters, digits, '-' or '_'")
    external_ref = (raw.external_ref or "").strip()
    if not SHIPMENT_RE.match(external_ref):
        raise bad("external_ref", "must be 1-64 letters, digits, '-' or '_'")
    topic = (raw.topic or "").strip()
    if topic not in set(AppealType):
        raise bad("topic", f"must be one of {', '.join(AppealType)}")
    channel = (raw.channel or "").strip()
    if channel not in set(AppealChannel):
        raise bad("channel", f"must be one of {', '.join(AppealChannel)}")
    order_ref = (raw.order_ref or "").strip()
    if not SHIPMENT_RE.match(order_ref):
        raise bad("order_ref", "must be 1-64 letters, digits, '-' or '_'")
    text = (raw.text or "").strip()
    if len(text) > MAX_TEXT:
        raise bad("text", f"is longer than {MAX_TEXT} characters")
    if received_at.tzinfo is None:
        raise bad("received_at", "must carry its UTC offset")
    if received_at > now + CLOCK_SKEW:
        raise bad("received_at", "is in the future")
    phone = None
    if (raw.customer_phone or "").strip():
        try:
            phone = normalize(raw.customer_phone or "", site.phone_region, field="")
        except InvalidPhoneNumber as exc:
            raise bad("customer_phone", exc.reason) from None
    return Incoming(source, external_ref, topic, channel, order_ref, phone, text, received_at)


def _existing(session: Session, source: str, external_ref: str) -> str | None:
    return session.scalar(
        select(Case.id).where(
            Case.kind == CaseKind.APPEAL, Case.source == source, Case.external_ref == external_ref
        )
    )


def _customer(session: Session, site: Site, appeal: Incoming, where: str = "") -> Shipment:
    shipment = session.scalar(
        select(Shipment).where(
            Shipment.site_id == site.id, Shipment.external_number == appeal.order_ref
        )
    )
    if shipment is not None:
        if appeal.customer_phone and appeal.customer_phone != shipment.customer_phone:
            raise AdminError(
                f"{where}phone: differs from the customer number of order {appeal.order_ref}; "
                "correct the order with a shipment import first"
            )
        return shipment
    if appeal.customer_phone is None:
        raise AdminError(
            f"{where}phone: order {appeal.order_ref} is unknown, so the customer's number "
            "is required"
        )
    shipment = Shipment(
        site_id=site.id, external_number=appeal.order_ref, customer_phone=appeal.customer_phone
    )
    session.add(shipment)
    session.flush()
    return shipment


def _open(
    session: Session,
    site: Site,
    appeal: Incoming,
    now: datetime,
    *,
    staff_id: int | None = None,
    where: str = "",
) -> Case:
    shipment = _customer(session, site, appeal, where)
    first_call, resolve = sla.policy_for(session, site, CaseKind.APPEAL, appeal.topic)
    try:
        first_call_due, due = sla.due_times(site, appeal.received_at, first_call, resolve)
    except ScheduleError:
        raise AdminError(f"site: {site.code} has no working hours to count the SLA in") from None
    case = Case(
        kind=CaseKind.APPEAL,
        site_id=site.id,
        source=appeal.source,
        external_ref=appeal.external_ref,
        shipment_id=shipment.id,
        topic=appeal.topic,
        channel=appeal.channel,
        text=appeal.text,
        status=CaseStatus.NEW,
        received_at=appeal.received_at,
        first_call_due_at=first_call_due,
        due_at=due,
        created_at=now,
    )
    session.add(case)
    session.flush()
    lifecycle.audit(session, case, "created", now, staff_id=staff_id)
    return case


def _check_staff(session: Session, site: Site, staff_id: int) -> None:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.site_id != site.id:
        raise AdminError(f"staff_id: no active staff member {staff_id} at site {site.code}")
    if staff.role != Role.STAFF_MANAGER:
        raise AdminError("staff_id: appeals are entered by hand by a staff manager")


def receive_appeal(
    service: MaskingService,
    *,
    site_code: str,
    source: str,
    external_ref: str,
    topic: str,
    channel: str,
    order_ref: str,
    customer_phone: str | None,
    text: str,
    received_at: datetime,
    staff_id: int | None = None,
) -> Opened:
    """Open an appeal (status New, SLA clocks set, audited ``created``); the same
    ``source`` and ``external_ref`` again return the existing case, unchanged."""
    now = service.clock()
    for attempt in (1, 2):
        try:
            with service.db.session() as session:
                site = get_site(session, site_code)
                raw = Incoming(
                    source,
                    external_ref,
                    topic,
                    channel,
                    order_ref,
                    customer_phone,
                    text,
                    received_at,
                )
                appeal = _check(site, now, raw)
                known = _existing(session, appeal.source, appeal.external_ref)
                if known is not None:
                    return Opened(known, new=False)
                if staff_id is not None:
                    _check_staff(session, site, staff_id)
                case = _open(session, site, appeal, now, staff_id=staff_id)
                opened = Opened(case.id, new=True)
        except IntegrityError:
            # another instance received the same appeal (or created its order) at the
            # same moment: the second pass finds what it wrote
            if attempt == 2:
                raise
            continue
        log.info("appeal %s received (site %s)", opened.case_id, site_code)
        return opened
    raise AssertionError("unreachable")


def import_csv(service: MaskingService, site_code: str, text: str, source: str) -> ImportReport:
    """CSV with columns appeal_id, type, channel, order, phone, text, received_at (ISO 8601
    with offset). All or nothing: every row is checked first and the first bad one aborts
    the import with its line number. Appeals already received are skipped."""
    now = service.clock()
    rows = read_csv_column(text, "appeal_id")
    require_columns(rows, CSV_COLUMNS.values())

    def check(where: str, row: dict[str, str]) -> Incoming:
        raw = Incoming(
            source=source,
            external_ref=row.get("appeal_id") or "",
            topic=row.get("type") or "",
            channel=row.get("channel") or "",
            order_ref=row.get("order") or "",
            customer_phone=row.get("phone"),
            text=row.get("text") or "",
            received_at=csv_time(row, "received_at", where),
        )
        return _check(site, now, raw, label=CSV_COLUMNS, where=where)

    with service.db.session() as session:
        site = get_site(session, site_code)
        checked = check_csv_rows(rows, check, lambda a: a.external_ref, "appeal_id")
        added = 0
        for where, appeal in checked:
            if _existing(session, appeal.source, appeal.external_ref) is None:
                _open(session, site, appeal, now, where=where)
                added += 1
    log.info(
        "appeals import for site %s: %d added, %d known", site_code, added, len(checked) - added
    )
    return ImportReport(added=added, skipped=len(checked) - added)


def _claim(session: Session, case_id: str, now: datetime) -> Case | None:
    """The case, locked, if it is still open and due; None if another instance has it or
    closed it. PostgreSQL: a row lock that skips a row locked elsewhere. SQLite (one
    writer): a conditional no-op UPDATE as the transaction's first statement takes the
    write lock, so the re-read below sees every commit made before it."""
    due = (Case.id == case_id, Case.status.in_(OPEN), Case.due_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(select(Case).where(*due).with_for_update(skip_locked=True))
    claimed = session.execute(update(Case).where(*due).values(status=Case.status))
    if not getattr(claimed, "rowcount", 0):
        return None
    return session.scalar(select(Case).where(*due))


def close_overdue(service: MaskingService, now: datetime) -> list[str]:
    """Close as Not resolved (automatic, audited, sent out) every open appeal whose
    resolution limit has passed by ``now``, including all that fell due while the service
    was down. Safe to run from several instances at once: each case is closed once.
    Returns the ids this run closed."""
    with service.db.session() as session:
        candidates = list(
            session.scalars(
                select(Case.id)
                .where(Case.kind == CaseKind.APPEAL, Case.status.in_(OPEN), Case.due_at <= now)
                .order_by(Case.due_at)
            )
        )
    closed: list[str] = []
    for case_id in candidates:
        try:
            with service.db.session() as session:
                case = _claim(session, case_id, now)
                if case is None:
                    continue
                lifecycle.close_automatically(session, case, now, AUTO_CLOSE_WHY)
        except Exception:
            # one case must not keep the others open; the next run retries it
            log.exception("appeal %s: automatic close failed", case_id)
            continue
        closed.append(case_id)
    if closed:
        log.info("closed %d overdue appeals: %s", len(closed), ", ".join(closed))
    return closed


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def report(service: MaskingService, site_code: str, since: date, until: date) -> dict[str, Any]:
    """Appeals received at the site from ``since`` to ``until`` (both inclusive, the site's
    local dates): how many, and the shares called in time, resolved in time and closed by
    the timer, and the median minutes to the first call (of those called)."""
    if until < since:
        raise AdminError("until: is before since")
    with service.db.session() as session:
        site = get_site(session, site_code)
        tz = zone(site.timezone)
        start = datetime.combine(since, time(0), tz)
        end = datetime.combine(until + timedelta(days=1), time(0), tz)
        cases = list(
            session.scalars(
                select(Case).where(
                    Case.kind == CaseKind.APPEAL,
                    Case.site_id == site.id,
                    Case.received_at >= start,
                    Case.received_at < end,
                )
            )
        )
    received = len(cases)
    called_in_time = sum(
        1
        for c in cases
        if c.first_attempt_at is not None
        and c.first_call_due_at is not None
        and c.first_attempt_at <= c.first_call_due_at
    )
    resolved_in_time = sum(
        1
        for c in cases
        if c.status == CaseStatus.RESOLVED
        and c.closed_at is not None
        and c.due_at is not None
        and c.closed_at <= c.due_at
    )
    auto_closed = sum(1 for c in cases if c.closed_automatically)
    waits = [
        (c.first_attempt_at - c.received_at).total_seconds() / 60
        for c in cases
        if c.first_attempt_at is not None
    ]
    return {
        "site": site_code,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "received": received,
        "open": sum(1 for c in cases if c.status in OPEN),
        "first_called_in_time": _share(called_in_time, received),
        "resolved_in_time": _share(resolved_in_time, received),
        "auto_closed": _share(auto_closed, received),
        "median_minutes_to_first_call": round(statistics.median(waits), 1) if waits else None,
    }
