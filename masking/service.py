"""Use cases on top of the database and the live pool: reveal, lookups, restore.

``Masking`` is what the CLI, the HTTP API and the call desk share. It never logs a full
customer number (see :func:`masking.phones.mask_number`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking import policy
from masking.config import Settings
from masking.db import Database
from masking.hours import Schedule
from masking.models import (
    Binding,
    Reason,
    RevealAudit,
    Shipment,
    Site,
    Staff,
    VirtualNumber,
    new_id,
    utcnow,
)
from masking.phones import mask_number
from masking.pool import LiveBinding, LivePool, PoolExhausted, PoolNotReady, PoolUnavailable

log = logging.getLogger("masking.service")
# a binding this old that the database does not know is stale, not still committing
STALE_AFTER = timedelta(seconds=60)

Clock = Callable[[], datetime]


class RevealRefused(Exception):
    """A reveal was refused; ``code`` is machine-readable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


REFUSAL_TEXT = {
    "not_allowed": "your role may not see customer numbers; ask the site owner",
    "other_site": "this shipment belongs to another site",
    "suspended": "numbers are hidden for this site",
    "closed": "the site is closed now; calls are allowed only in working hours",
    "bad_reason": "choose one of the allowed reasons",
    "inactive": "this staff account is disabled",
    "unknown_shipment": "no such shipment at this site",
    "pool_exhausted": "no temporary number is free right now",
    "unavailable": "the number service is unavailable; try again in a minute",
}


@dataclass(frozen=True)
class RevealResult:
    binding_id: str
    virtual_number: str
    expires_at: datetime
    shipment_number: str
    reason: str
    new: bool


def schedule_of(site: Site) -> Schedule:
    return Schedule.from_data(
        site.timezone, site.weekly_hours, {e.day: e.intervals for e in site.exceptions}
    )


class Masking:
    def __init__(
        self, settings: Settings, db: Database, pool: LivePool, clock: Clock = utcnow
    ) -> None:
        self.settings = settings
        self.db = db
        self.pool = pool
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utcnow) -> Masking:
        return cls(
            settings,
            Database(settings.effective_database_url),
            LivePool.from_url(settings.redis_url, settings.redis_prefix),
            clock,
        )

    def ttl_for(self, site: Site) -> timedelta:
        return timedelta(hours=site.binding_ttl_hours or self.settings.binding_ttl_hours)

    # ---- live state -----------------------------------------------------------------
    def restore_live_state(self) -> int:
        """Rebuild Redis from the database: pool numbers, live bindings and cool-offs."""
        now = self.clock()
        with self.db.session() as session:
            numbers: dict[str, dict[str, datetime | None]] = {}
            for vn in session.scalars(select(VirtualNumber).where(VirtualNumber.active)):
                numbers.setdefault(vn.region, {})[vn.number] = vn.last_used_at
            rows = session.scalars(
                select(Binding).where(Binding.cooloff_until > now, Binding.revoked_at.is_(None))
            )
            bindings = [
                {
                    "id": b.id,
                    "site_id": b.site_id,
                    "shipment_id": b.shipment_id,
                    "customer": b.customer_phone,
                    "number": b.virtual_number,
                    "created_at": b.created_at,
                    "expires_at": b.expires_at,
                    "cooloff_until": b.cooloff_until,
                    "reason": b.reason_code,
                    "staff_id": b.staff_id,
                }
                for b in rows
            ]
        restored = self.pool.restore(numbers=numbers, bindings=bindings, now=now)
        self.drop_stale_bindings()
        log.info(
            "restored live state: %d live bindings, %d numbers",
            restored,
            sum(len(v) for v in numbers.values()),
        )
        return restored

    def _with_restore(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except PoolNotReady:
            log.warning("Redis lost the live state; restoring it from the database")
            self.restore_live_state()
            return action()

    def binding_for_site(self, site_id: int, number: str) -> LiveBinding | None:
        now = self.clock()
        return self._with_restore(lambda: self.pool.for_site(site_id, number, now))

    def binding_for_customer(self, customer: str, number: str) -> LiveBinding | None:
        now = self.clock()
        return self._with_restore(lambda: self.pool.for_customer(customer, number, now))

    # ---- reveal ---------------------------------------------------------------------
    def reveal(
        self, *, staff_id: int, shipment_number: str, reason: str, channel: str = "cli"
    ) -> RevealResult:
        """Give the staff member the shipment's temporary number (audited either way)."""
        refusal: RevealRefused | None = None
        with self.db.session() as session:
            staff = session.get(Staff, staff_id)
            if staff is None:
                raise RevealRefused("not_allowed", "unknown staff member")
            try:
                result = self._reveal(session, staff, shipment_number.strip(), reason)
            except RevealRefused as refused:
                session.rollback()
                self._audit(session, staff, shipment_number, reason, None, refused.code, channel)
                refusal = refused
            else:
                self._audit(session, staff, shipment_number, reason, result, None, channel)
        if refusal is not None:
            raise refusal
        return result

    def _audit(
        self,
        session: Session,
        staff: Staff,
        shipment_number: str,
        reason: str,
        result: RevealResult | None,
        refusal: str | None,
        channel: str,
    ) -> None:
        session.add(
            RevealAudit(
                at=self.clock(),
                staff_id=staff.id,
                site_id=staff.site_id,
                shipment_number=shipment_number[:64],
                reason_code=reason[:40] or None,
                binding_id=result.binding_id if result else None,
                virtual_number=result.virtual_number if result else None,
                granted=result is not None,
                refusal=refusal,
                channel=channel,
            )
        )

    def _refuse(self, code: str) -> RevealRefused:
        return RevealRefused(code, REFUSAL_TEXT[code])

    def _reveal(self, session: Session, staff: Staff, number: str, reason: str) -> RevealResult:
        if not staff.active:
            raise self._refuse("inactive")
        if staff.site_id is None:
            raise self._refuse("not_allowed")
        site = session.get(Site, staff.site_id)
        assert site is not None
        shipment = session.scalar(
            select(Shipment).where(Shipment.site_id == site.id, Shipment.external_number == number)
        )
        if shipment is None:
            other = session.scalar(select(Shipment.id).where(Shipment.external_number == number))
            raise self._refuse("other_site" if other else "unknown_shipment")
        refusal = policy.reveal_refusal(staff, site)
        if refusal is not None:
            raise self._refuse(refusal.value)
        active_reasons = set(session.scalars(select(Reason.code).where(Reason.active)))
        if not policy.reason_allowed(reason, active_reasons):
            raise self._refuse("bad_reason")
        now = self.clock()
        if not schedule_of(site).is_open(now):
            raise self._refuse("closed")

        ttl = self.ttl_for(site)
        cooloff = timedelta(hours=self.settings.cooloff_hours)
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
            return self._with_restore(
                lambda: self.pool.allocate(
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
                    customer_masked=mask_number(shipment.customer_phone),
                )
            )

        try:
            live = allocate()
            if not live.new and self._stale(session, live, now):
                live = allocate()
        except PoolExhausted as exc:
            log.warning("pool exhausted: %s", exc)
            raise RevealRefused("pool_exhausted", str(exc)) from exc
        except PoolUnavailable as exc:
            log.error("reveal refused, Redis unavailable: %s", exc)
            raise self._refuse("unavailable") from exc

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
                self.pool.release(live.id, clear_cooloff=True)
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

    def _stale(self, session: Session, live: LiveBinding, now: datetime) -> bool:
        """A live binding in Redis that the database does not know (Redis outlived a
        database restore or reset) is dropped; a just-made one may still be committing."""
        if now - live.created_at < STALE_AFTER or session.get(Binding, live.id) is not None:
            return False
        log.warning("binding %s is in Redis but not in the database; dropping it", live.id)
        self.pool.release(live.id, clear_cooloff=True)
        return True

    def drop_stale_bindings(self) -> int:
        """Release every Redis binding the database does not hold as live."""
        now = self.clock()
        dropped = 0
        with self.db.session() as session:
            live_in_db = set(
                session.scalars(
                    select(Binding.id).where(Binding.expires_at > now, Binding.revoked_at.is_(None))
                )
            )
            for binding_id in self.pool.live_ids() - live_in_db:
                found = self.pool.binding(binding_id)
                if found is None or now - found.created_at >= STALE_AFTER:
                    self.pool.release(
                        binding_id,
                        clear_cooloff=found is not None
                        and session.get(Binding, binding_id) is None,
                    )
                    dropped += 1
        if dropped:
            log.warning("dropped %d bindings Redis had but the database does not", dropped)
        return dropped

    def live_bindings(self, site_id: int | None = None) -> list[Binding]:
        now = self.clock()
        with self.db.session() as session:
            query = select(Binding).where(Binding.expires_at > now, Binding.revoked_at.is_(None))
            if site_id is not None:
                query = query.where(Binding.site_id == site_id)
            return list(session.scalars(query.order_by(Binding.created_at)))

    # ---- pool administration ----------------------------------------------------------
    def add_pool_numbers(self, raw_numbers: list[str], region: str | None = None) -> int:
        """Validate and add numbers to the database, then to the live pool."""
        from masking import admin

        with self.db.session() as session:
            report, added = admin.add_numbers(session, raw_numbers, region)
        for found_region, numbers in added.items():
            fresh: dict[str, datetime | None] = dict.fromkeys(numbers)
            self._with_restore(partial(self.pool.add_numbers, found_region, fresh))
        return report.added
