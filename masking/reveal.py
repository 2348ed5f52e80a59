"""Reveal: give a staff member a shipment's temporary number, for a reason, audited.

A reveal creates (or returns the live) binding: site + shipment + customer + virtual
number + reason + who + expiry. It never logs a full customer number.

Reveals from any number of processes meet only in Redis, whose one atomic script
decides the number (:mod:`masking.numbers.pool`); the database records the outcome and
holds no lock a reveal waits on. A reveal is one read (the staff member, the site, the
shipment and the reason together), the allocation, and one write: on PostgreSQL a single
statement (the binding, the number's last use and the audit) that commits on its own;
elsewhere a short transaction of the same rows. Plain statements on a connection, no
ORM session: a reveal is on the hot path and the unit of work doubled its cost. A new
binding is handed out only after Redis confirmed it holds it (one more round trip: a
Redis failover may have lost the allocation; :mod:`masking.numbers.pool` explains).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, Text, bindparam, cast, insert, select, update

from masking import metrics, policy
from masking.hours import Schedule
from masking.numbers import bindings
from masking.numbers.phones import mask_number
from masking.numbers.pool import LiveBinding, PoolConflict, PoolExhausted, PoolUnavailable
from masking.refusals import Refusal, Refused
from masking.service import MaskingService
from masking.storage.models import (
    Binding,
    Reason,
    RevealAudit,
    Shipment,
    Site,
    SiteException,
    Staff,
    VirtualNumber,
    new_id,
)

log = logging.getLogger("masking.reveal")

POOL_EXHAUSTED_TEXT = "no temporary number is free for this customer right now"

# What the rules read of each, no more: every column costs on each reveal.
_STAFF = (Staff.id, Staff.login, Staff.site_id, Staff.role, Staff.numbers_visible, Staff.active)
_SITE = (
    Site.id,
    Site.code,
    Site.timezone,
    Site.phone_region,
    Site.binding_ttl_hours,
    Site.suspended_at,
)
_SHIPMENT = (Shipment.id, Shipment.site_id, Shipment.customer_phone)
_REASON_AT = len(_STAFF) + len(_SITE) + len(_SHIPMENT)

# Everything a reveal reads, in one round trip: the staff member, their site, the
# shipment of that number at that site (NULLs: not there), whether the reason is active,
# and the site's date exceptions between two dates (a row each, or one row of NULLs).
_READ = (
    select(
        *_STAFF,
        *_SITE,
        *_SHIPMENT,
        select(Reason.active).where(Reason.code == bindparam("reason")).scalar_subquery(),
        # hours as their JSON text: the key of the parsed schedules kept (_schedule)
        cast(Site.weekly_hours, Text),
        SiteException.day,
        cast(SiteException.intervals, Text),
    )
    .outerjoin(Site, Site.id == Staff.site_id)
    .outerjoin(
        Shipment,
        (Shipment.site_id == Site.id) & (Shipment.external_number == bindparam("number")),
    )
    .outerjoin(
        SiteException,
        (SiteException.site_id == Site.id)
        & SiteException.day.between(bindparam("first_day"), bindparam("last_day")),
    )
    .where(Staff.id == bindparam("staff_id"))
)

# The writes, parameters named b_<column> for the binding and a_<column> for the audit.
_BINDINGS: Table = Binding.__table__  # type: ignore[assignment]
_NUMBERS: Table = VirtualNumber.__table__  # type: ignore[assignment]
_AUDITS: Table = RevealAudit.__table__  # type: ignore[assignment]
_BINDING_COLUMNS = (
    "id",
    "site_id",
    "shipment_id",
    "customer_phone",
    "virtual_number",
    "reason_code",
    "staff_id",
    "created_at",
    "expires_at",
    "cooloff_until",
)
_AUDIT_COLUMNS = (
    "at",
    "staff_id",
    "site_id",
    "shipment_number",
    "reason_code",
    "binding_id",
    "virtual_number",
    "granted",
    "refusal",
    "channel",
)
_INSERT_BINDING = insert(_BINDINGS).values({c: bindparam(f"b_{c}") for c in _BINDING_COLUMNS})
# the pool's order after a restore from the database
_NUMBER_USED = (
    update(_NUMBERS)
    .where(_NUMBERS.c.number == bindparam("b_virtual_number"))
    .values(last_used_at=bindparam("b_created_at"))
)
_INSERT_AUDIT = insert(_AUDITS).values({c: bindparam(f"a_{c}") for c in _AUDIT_COLUMNS})
# PostgreSQL runs the three as one statement: atomic and durable without a transaction
_INSERT_ALL = _INSERT_AUDIT.add_cte(_INSERT_BINDING.cte("new_binding")).add_cte(
    _NUMBER_USED.cte("number_used")
)
_WITHDRAW = (
    update(_BINDINGS)
    .where(_BINDINGS.c.id == bindparam("w_id"))
    .values(revoked_at=bindparam("w_at"))
)
_OTHER_SITE = select(Shipment.id).where(Shipment.external_number == bindparam("number")).limit(1)


@dataclass(frozen=True)
class RevealResult:
    binding_id: str
    virtual_number: str
    expires_at: datetime
    shipment_number: str
    reason: str
    new: bool


def reveal_number(
    service: MaskingService,
    *,
    staff_id: int,
    shipment_number: str,
    reason: str,
    channel: str = "cli",
) -> RevealResult:
    """Give the staff member the shipment's temporary number (audited either way);
    raises :class:`Refused` with the reason when it may not."""
    number = shipment_number.strip()
    now = service.clock()
    with service.db.engine.connect() as conn:
        one_statement = conn.dialect.name == "postgresql"
        if one_statement:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        rows = conn.execute(
            _READ,
            {
                "staff_id": staff_id,
                "number": number,
                "reason": reason,
                # the site's local today and yesterday lie within these UTC dates
                "first_day": now.date() - timedelta(days=2),
                "last_day": now.date() + timedelta(days=1),
            },
        ).all()
        if not rows:
            raise Refused(Refusal.NOT_ALLOWED, "unknown staff member")
        staff, site, shipment = _records(rows[0])
        audit = {
            "a_at": now,
            "a_staff_id": staff.id,
            "a_site_id": staff.site_id,
            "a_shipment_number": shipment_number[:64],
            "a_reason_code": reason[:40] or None,
            "a_binding_id": None,
            "a_virtual_number": None,
            "a_granted": False,
            "a_refusal": None,
            "a_channel": channel,
        }
        try:
            site, shipment = _found(conn, staff, site, shipment, number)
            reason_active, weekly = rows[0][_REASON_AT], rows[0][_REASON_AT + 1]
            exceptions = tuple((row[-2], row[-1]) for row in rows if row[-2] is not None)
            schedule = _schedule(site.timezone, weekly, exceptions)
            live = _reveal(
                service, conn, now, staff, site, shipment, schedule, bool(reason_active), reason
            )
        except Refused as refused:
            conn.execute(_INSERT_AUDIT, {**audit, "a_refusal": refused.code})
            conn.commit()
            raise
        audit.update(a_binding_id=live.id, a_virtual_number=live.number, a_granted=True)
        try:
            if not live.new:
                conn.execute(_INSERT_AUDIT, audit)
            elif one_statement:
                conn.execute(_INSERT_ALL, {**_binding_row(service, live, now), **audit})
            else:
                binding = _binding_row(service, live, now)
                conn.execute(_INSERT_BINDING, binding)
                conn.execute(_NUMBER_USED, binding)
                conn.execute(_INSERT_AUDIT, audit)
            conn.commit()
        except Exception:
            conn.rollback()
            if live.new:
                service.pool.release(live.id, clear_cooloff=True)
            raise
        if live.new:
            _confirm(service, conn, live, site, {**audit, "a_at": service.clock()})
    if live.new and log.isEnabledFor(logging.INFO):
        log.info(
            "site %s staff %s: bound %s to customer %s for shipment %s until %s",
            site.code,
            staff.login,
            live.number,
            mask_number(live.customer),
            number,
            live.expires_at.isoformat(),
        )
    return RevealResult(
        binding_id=live.id,
        virtual_number=live.number,
        expires_at=live.expires_at,
        shipment_number=number,
        reason=live.reason,
        new=live.new,
    )


def _records(row: Sequence[Any]) -> tuple[Staff, Site | None, Shipment | None]:
    """The read row as the (transient, never saved) records the policy takes."""
    values = iter(row)
    staff = Staff(**{c.key: next(values) for c in _STAFF})
    site_values = {c.key: next(values) for c in _SITE}
    shipment_values = {c.key: next(values) for c in _SHIPMENT}
    site = Site(**site_values) if site_values["id"] is not None else None
    shipment = Shipment(**shipment_values) if shipment_values["id"] is not None else None
    return staff, site, shipment


@lru_cache(maxsize=1024)
def _schedule(
    timezone: str, weekly_json: str | None, exceptions: tuple[tuple[date, str], ...]
) -> Schedule:
    """A site's hours parsed, kept by their text (parsing cost more than the rest of a
    reveal's checks; a change of hours is a new text, so a new key). Only the exceptions
    near today are read: ``is_open`` looks at no other day."""
    return Schedule.from_data(
        timezone,
        json.loads(weekly_json) if weekly_json else {},
        {day: json.loads(intervals) for day, intervals in exceptions},
    )


def _found(
    conn: Connection, staff: Staff, site: Site | None, shipment: Shipment | None, number: str
) -> tuple[Site, Shipment]:
    """The staff member's site and the shipment there, or why not."""
    if not staff.active:
        raise Refused(Refusal.INACTIVE)
    if site is None:
        raise Refused(Refusal.NOT_ALLOWED)
    if shipment is None:
        other = conn.scalar(_OTHER_SITE, {"number": number})
        raise Refused(Refusal.OTHER_SITE if other else Refusal.UNKNOWN_SHIPMENT)
    return site, shipment


def _reveal(
    service: MaskingService,
    conn: Connection,
    now: datetime,
    staff: Staff,
    site: Site,
    shipment: Shipment,
    schedule: Schedule,
    reason_active: bool,
    reason: str,
) -> LiveBinding:
    refusal = policy.reveal_refusal(staff, site)
    if refusal is not None:
        raise Refused(refusal)
    if not policy.reason_allowed(reason, {reason} if reason_active else set()):
        raise Refused(Refusal.BAD_REASON)
    if not schedule.is_open(now):
        raise Refused(Refusal.CLOSED)

    ttl = bindings.ttl_for(service, site)
    cooloff_s = service.settings.cooloff_hours * 3600
    binding_id = new_id()

    def allocate() -> LiveBinding:
        return bindings.with_restore(
            service,
            lambda: service.pool.allocate(
                region=site.phone_region,
                site_id=site.id,
                customer=shipment.customer_phone,
                shipment_id=shipment.id,
                binding_id=binding_id,
                now=now,
                ttl_s=ttl.total_seconds(),
                cooloff_s=cooloff_s,
                reason=reason,
                staff_id=staff.id,
            ),
        )

    try:
        live = allocate()
        if not live.new and bindings.is_stale(service, conn, live, now):
            live = allocate()
    except PoolExhausted as exc:
        metrics.pool_exhausted(exc.region)
        log.warning(
            "pool exhausted: site %s, customer %s: %s",
            site.code,
            mask_number(shipment.customer_phone),
            exc,
        )
        # staff see the situation, never the customer, the counts or the site's ids
        raise Refused(Refusal.POOL_EXHAUSTED, POOL_EXHAUSTED_TEXT, detail=str(exc)) from exc
    except PoolUnavailable as exc:
        log.error("reveal refused, Redis unavailable: %s", exc)
        raise Refused(Refusal.UNAVAILABLE) from exc
    return live


def _confirm(
    service: MaskingService, conn: Connection, live: LiveBinding, site: Site, audit: dict[str, Any]
) -> None:
    """The new binding is committed: hand it out only once Redis is known to hold it
    (:meth:`masking.numbers.pool.LivePool.confirm`), else withdraw it and refuse."""
    cooloff_s = service.settings.cooloff_hours * 3600
    try:
        outcome = bindings.with_restore(
            service,
            lambda: service.pool.confirm(live, region=site.phone_region, cooloff_s=cooloff_s),
        )
    except (PoolConflict, PoolUnavailable) as exc:
        log.error("binding %s withdrawn, Redis could not confirm it: %s", live.id, exc)
        _withdraw(service, conn, live, audit)
        raise Refused(Refusal.UNAVAILABLE) from exc
    if outcome == "restored":
        log.warning("binding %s was lost with a Redis master; written back", live.id)


def _withdraw(
    service: MaskingService, conn: Connection, live: LiveBinding, audit: dict[str, Any]
) -> None:
    """Revoke a committed binding that was never handed out (and say so in the audit);
    the database is the truth Redis is rebuilt from, so that is what must not keep it."""
    try:
        conn.execute(_WITHDRAW, {"w_id": live.id, "w_at": audit["a_at"]})
        conn.execute(_INSERT_AUDIT, {**audit, "a_granted": False, "a_refusal": Refusal.UNAVAILABLE})
        conn.commit()
    except Exception:
        conn.rollback()
        log.exception("binding %s could not be withdrawn; it stays live", live.id)
        return
    # else dropped by the next restore: the database no longer holds it live
    with contextlib.suppress(PoolUnavailable):
        service.pool.release(live.id)


def _binding_row(service: MaskingService, live: LiveBinding, now: datetime) -> dict[str, Any]:
    cooloff = timedelta(hours=service.settings.cooloff_hours)
    return {
        "b_id": live.id,
        "b_site_id": live.site_id,
        "b_shipment_id": live.shipment_id,
        "b_customer_phone": live.customer,
        "b_virtual_number": live.number,
        "b_reason_code": live.reason,
        "b_staff_id": live.staff_id,
        "b_created_at": now,
        "b_expires_at": live.expires_at,
        "b_cooloff_until": live.expires_at + cooloff,
    }
