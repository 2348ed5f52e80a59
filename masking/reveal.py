"""Reveal: give a staff member a shipment's temporary number, for a reason, audited.

A reveal creates (or returns the live) binding: site + shipment + customer + virtual
number + reason + who + expiry. It never logs a full customer number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking import policy
from masking.numbers import bindings
from masking.numbers.phones import mask_number
from masking.numbers.pool import LiveBinding, PoolExhausted, PoolUnavailable
from masking.refusals import Refusal, Refused
from masking.service import MaskingService
from masking.sites import schedule_of
from masking.storage.models import (
    Binding,
    Reason,
    RevealAudit,
    Shipment,
    Site,
    Staff,
    VirtualNumber,
    new_id,
)

log = logging.getLogger("masking.reveal")

POOL_EXHAUSTED_TEXT = "no temporary number is free for this customer right now"


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
    refusal: Refused | None = None
    with service.db.session() as session:
        staff = session.get(Staff, staff_id)
        if staff is None:
            raise Refused(Refusal.NOT_ALLOWED, "unknown staff member")
        try:
            result = _reveal(service, session, staff, shipment_number.strip(), reason)
        except Refused as refused:
            session.rollback()
            _audit(service, session, staff, shipment_number, reason, None, refused, channel)
            refusal = refused
        else:
            _audit(service, session, staff, shipment_number, reason, result, None, channel)
    if refusal is not None:
        raise refusal
    return result


def _audit(
    service: MaskingService,
    session: Session,
    staff: Staff,
    shipment_number: str,
    reason: str,
    result: RevealResult | None,
    refusal: Refused | None,
    channel: str,
) -> None:
    session.add(
        RevealAudit(
            at=service.clock(),
            staff_id=staff.id,
            site_id=staff.site_id,
            shipment_number=shipment_number[:64],
            reason_code=reason[:40] or None,
            binding_id=result.binding_id if result else None,
            virtual_number=result.virtual_number if result else None,
            granted=result is not None,
            refusal=refusal.code if refusal else None,
            channel=channel,
        )
    )


def _reveal(
    service: MaskingService, session: Session, staff: Staff, number: str, reason: str
) -> RevealResult:
    if not staff.active:
        raise Refused(Refusal.INACTIVE)
    site = session.get(Site, staff.site_id) if staff.site_id is not None else None
    if site is None:
        raise Refused(Refusal.NOT_ALLOWED)
    shipment = session.scalar(
        select(Shipment).where(Shipment.site_id == site.id, Shipment.external_number == number)
    )
    if shipment is None:
        other = session.scalar(select(Shipment.id).where(Shipment.external_number == number))
        raise Refused(Refusal.OTHER_SITE if other else Refusal.UNKNOWN_SHIPMENT)
    refusal = policy.reveal_refusal(staff, site)
    if refusal is not None:
        raise Refused(refusal)
    active_reasons = set(session.scalars(select(Reason.code).where(Reason.active)))
    if not policy.reason_allowed(reason, active_reasons):
        raise Refused(Refusal.BAD_REASON)
    now = service.clock()
    if not schedule_of(site).is_open(now):
        raise Refused(Refusal.CLOSED)

    ttl = bindings.ttl_for(service, site)
    cooloff = timedelta(hours=service.settings.cooloff_hours)
    candidate = Binding(
        site_id=site.id,
        shipment_id=shipment.id,
        customer_phone=shipment.customer_phone,
        reason_code=reason,
        staff_id=staff.id,
        created_at=now,
    )
    candidate.id = new_id()

    def allocate() -> LiveBinding:
        return bindings.with_restore(
            service,
            lambda: service.pool.allocate(
                region=site.phone_region,
                site_id=site.id,
                customer=shipment.customer_phone,
                shipment_id=shipment.id,
                binding_id=candidate.id,
                now=now,
                ttl_s=ttl.total_seconds(),
                cooloff_s=cooloff.total_seconds(),
                reason=reason,
                staff_id=staff.id,
            ),
        )

    try:
        live = allocate()
        if not live.new and bindings.is_stale(service, session, live, now):
            live = allocate()
    except PoolExhausted as exc:
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

    if live.new:
        candidate.virtual_number = live.number
        candidate.expires_at = live.expires_at
        candidate.cooloff_until = live.expires_at + cooloff
        session.add(candidate)
        vn = session.get(VirtualNumber, live.number)
        if vn is not None:
            vn.last_used_at = now
        try:
            session.commit()
        except Exception:
            session.rollback()
            service.pool.release(live.id, clear_cooloff=True)
            raise
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
