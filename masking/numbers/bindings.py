"""Live bindings: the Redis state kept true to the database.

The database is the record of truth; Redis holds the live, derived state (see
:mod:`masking.numbers.pool`). Whatever Redis lost is rebuilt on the next request
(:func:`with_restore`), and a binding Redis has but the database does not is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from masking.numbers import virtual
from masking.numbers.pool import LiveBinding, PoolNotReady, PoolUnavailable
from masking.service import MaskingService
from masking.storage.models import Binding, Site, VirtualNumber

log = logging.getLogger("masking.bindings")
T = TypeVar("T")

# One restore at a time: the others wait this long for it; a restorer that died frees
# the lock after RESTORE_LOCK.
RESTORE_WAIT = timedelta(seconds=2)
RESTORE_LOCK = timedelta(seconds=60)
# A binding in Redis that the database does not know is stale once it is this old;
# younger, its database row may still be committing.
UNCOMMITTED_BINDING_GRACE = timedelta(seconds=60)


def ttl_for(service: MaskingService, site: Site) -> timedelta:
    return timedelta(hours=site.binding_ttl_hours or service.settings.binding_ttl_hours)


def restore_live_state(service: MaskingService) -> int:
    """Rebuild Redis from the database: pool numbers, live bindings and cool-offs."""
    now = service.clock()
    with service.db.session() as session:
        numbers: dict[str, dict[str, datetime | None]] = {}
        for vn in session.scalars(select(VirtualNumber).where(VirtualNumber.active)):
            numbers.setdefault(vn.region, {})[vn.number] = vn.last_used_at
        rows = session.scalars(select(Binding).where(Binding.cooloff_until > now))
        bindings = [pool_state(b) for b in rows]
    restored = service.pool.restore(numbers=numbers, bindings=bindings, now=now)
    drop_stale_bindings(service)
    log.info(
        "restored live state: %d live bindings, %d numbers",
        restored,
        sum(len(v) for v in numbers.values()),
    )
    return restored


def pool_state(b: Binding) -> dict[str, Any]:
    """A binding row as :meth:`LivePool.restore` takes it; a revoked binding (a corrected
    phone) keeps only its customer's cool-off."""
    return {
        "id": b.id,
        "site_id": b.site_id,
        "shipment_id": b.shipment_id,
        "customer": b.customer_phone,
        "number": b.virtual_number,
        "created_at": b.created_at,
        "expires_at": min(b.expires_at, b.revoked_at or b.expires_at),
        "cooloff_until": b.cooloff_until,
        "reason": b.reason_code,
        "staff_id": b.staff_id,
    }


def with_restore(service: MaskingService, action: Callable[[], T]) -> T:
    """Run a pool operation; if Redis lost the live state, restore it and run it again."""
    try:
        return action()
    except PoolNotReady:
        restore_once(service)
    try:
        return action()
    except PoolNotReady as exc:  # lost again meanwhile: this request fails closed
        raise PoolUnavailable("the live state is missing again after a restore") from exc


def restore_once(service: MaskingService) -> None:
    """Restore the lost live state, one process at a time: after a failover every
    process and thread finds it missing at once, and one reading the database is enough.
    The others wait up to :data:`RESTORE_WAIT` for it, then fail closed (raises
    :class:`PoolUnavailable`)."""
    lock = service.pool.begin_restore(RESTORE_LOCK)
    if lock is not None:
        log.warning("Redis lost the live state; restoring it from the database")
        try:
            restore_live_state(service)
        finally:
            service.pool.end_restore(lock)
        return
    deadline = time.monotonic() + RESTORE_WAIT.total_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if service.pool.is_ready():
            return
    raise PoolUnavailable("the live state is being restored from the database")


def for_site(service: MaskingService, site_id: int, number: str) -> LiveBinding | None:
    """The live binding staff of ``site_id`` reach by dialing ``number``."""
    now = service.clock()
    return with_restore(service, lambda: service.pool.for_site(site_id, number, now))


def for_customer(service: MaskingService, customer: str, number: str) -> LiveBinding | None:
    """The live binding a customer reaches by calling ``number`` back."""
    now = service.clock()
    return with_restore(service, lambda: service.pool.for_customer(customer, number, now))


def is_stale(
    service: MaskingService, conn: Connection | Session, live: LiveBinding, now: datetime
) -> bool:
    """A live binding in Redis that the database does not know (Redis outlived a
    database restore or reset) is dropped; a just-made one may still be committing. One
    the database revoked (its release was lost with a failed Redis master) is dropped."""
    row = conn.execute(select(Binding.revoked_at).where(Binding.id == live.id)).first()
    if row is not None and row.revoked_at is not None:
        log.warning("binding %s is revoked but still in Redis; dropping it", live.id)
        service.pool.release(live.id)
        return True
    if row is not None or now - live.created_at < UNCOMMITTED_BINDING_GRACE:
        return False
    log.warning("binding %s is in Redis but not in the database; dropping it", live.id)
    service.pool.release(live.id, clear_cooloff=True)
    return True


def drop_stale_bindings(service: MaskingService) -> int:
    """Release every Redis binding the database does not hold as live."""
    now = service.clock()
    dropped = 0
    with service.db.session() as session:
        live_in_db = set(session.scalars(select(Binding.id).where(Binding.live_at(now))))
        for binding_id in service.pool.live_ids() - live_in_db:
            found = service.pool.binding(binding_id)
            # Asked again now: a binding committed after the query above is live and
            # stays (others allocate as soon as the state is ready). A row that is not
            # live (revoked or expired) needs no grace: it committed.
            row = (
                session.execute(
                    select(Binding.live_at(now)).where(Binding.id == binding_id)
                ).first()
                if found is not None
                else None
            )
            if row is not None and row[0]:
                continue
            if (
                found is None
                or row is not None
                or now - found.created_at >= UNCOMMITTED_BINDING_GRACE
            ):
                service.pool.release(binding_id, clear_cooloff=found is not None and row is None)
                dropped += 1
    if dropped:
        log.warning("dropped %d bindings Redis had but the database does not", dropped)
    return dropped


def live_bindings(service: MaskingService, site_id: int | None = None) -> list[Binding]:
    now = service.clock()
    with service.db.session() as session:
        query = select(Binding).where(Binding.live_at(now))
        if site_id is not None:
            query = query.where(Binding.site_id == site_id)
        return list(session.scalars(query.order_by(Binding.created_at)))


def add_pool_numbers(
    service: MaskingService, raw_numbers: list[str], region: str | None = None
) -> int:
    """Validate and add numbers to the database, then to the live pool."""
    with service.db.session() as session:
        report, added = virtual.add_numbers(session, raw_numbers, region)
    for found_region, numbers in added.items():
        fresh: dict[str, datetime | None] = dict.fromkeys(numbers)
        with_restore(service, partial(service.pool.add_numbers, found_region, fresh))
    return report.added
