"""The rules that keep the live state true across a Redis failover (masking.numbers.pool,
"Failover and lost writes"), each in the interleaving that needs it, on the real Redis and
databases. A failover is reproduced by what it does to the state: the ready token of
another history, a binding's keys gone, a restore that ran in between.
(tests/sentinel kills a real Sentinel-managed master under load.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from masking.numbers import bindings
from masking.numbers.pool import LiveBinding, LivePool, PoolConflict, PoolUnavailable
from masking.refusals import Refusal, Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.models import Binding, RevealAudit
from tests.support.factories import customer, seed_site

REASON = "item_found_later"


def replication_id(pool: LivePool) -> str:
    return str(pool.redis.info("replication")["master_replid"])


def another_restore(pool: LivePool) -> None:
    """What a restore by another instance leaves: a new ready token on the same history."""
    pool.redis.set(pool.ready_key, replication_id(pool) + ":another-restore")


def test_state_of_another_history_is_rebuilt_before_use(service: MaskingService) -> None:
    """A promoted replica (or a restarted server) has a new replication id: the state it
    holds, possibly missing the old master's last writes, is not used until restored."""
    world = seed_site(service, pool=3, shipments=2)
    shown = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    assert service.pool.is_ready()
    # the old master's token, replicated; the binding's keys were not
    service.pool.redis.set(service.pool.ready_key, "0" * 40 + ":old-master")
    service.pool.release(shown.binding_id, clear_cooloff=True)
    assert not service.pool.is_ready()

    found = bindings.for_site(service, world.site_id, shown.virtual_number)
    assert found is not None and found.id == shown.binding_id
    token = service.pool.redis.get(service.pool.ready_key)
    assert token is not None and token.decode().startswith(replication_id(service.pool) + ":")


def test_the_config_epoch_changes_with_the_history(service: MaskingService) -> None:
    """A bump the old master never replicated must not leave caches in place."""
    token = service.config_epoch.read()
    assert token.endswith("@" + replication_id(service.pool))
    assert service.config_epoch.read() == token


def allocate(
    service: MaskingService, site_id: int, index: int, binding_id: str = ""
) -> LiveBinding:
    """A binding of customer ``index`` at ``site_id``, straight from the pool."""
    return service.pool.allocate(
        region="RU",
        site_id=site_id,
        customer=customer(index),
        shipment_id=1000 + index,
        binding_id=binding_id or f"{site_id:04d}{index:028d}",
        now=service.clock(),
        ttl_s=3600,
        cooloff_s=7200,
        reason=REASON,
        staff_id=1,
    )


def test_confirm_holds_what_this_state_allocated(service: MaskingService) -> None:
    world = seed_site(service, pool=2)
    live = allocate(service, world.site_id, 1)
    assert live.allocated_under.startswith(replication_id(service.pool) + ":")
    assert service.pool.confirm(live, region="RU", cooloff_s=7200) == "held"
    # a restore in between that had it (from the database or the replica) holds it too
    another_restore(service.pool)
    assert service.pool.confirm(live, region="RU", cooloff_s=7200) == "held"


def test_confirm_writes_back_a_binding_a_restore_missed(service: MaskingService) -> None:
    """Allocated on the old master, lost with it, committed after the new master was
    restored from the database: written back, cool-off and order of use included."""
    world = seed_site(service, pool=2)
    live = allocate(service, world.site_id, 1)
    service.pool.release(live.id, clear_cooloff=True)
    another_restore(service.pool)
    assert service.pool.for_site(world.site_id, live.number, service.clock()) is None

    assert service.pool.confirm(live, region="RU", cooloff_s=7200) == "restored"
    now = service.clock()
    for found in (
        service.pool.for_site(world.site_id, live.number, now),
        service.pool.for_customer(live.customer, live.number, now),
        service.pool.for_shipment(world.site_id, live.shipment_id, now),
    ):
        assert found is not None and found.id == live.id
    # its customer does not get the number again during the cool-off
    other = allocate(service, world.site_id + 1000, 1)
    assert other.number != live.number


def test_confirm_refuses_a_binding_whose_number_was_taken(service: MaskingService) -> None:
    world = seed_site(service, pool=1)
    live = allocate(service, world.site_id, 1)
    service.pool.release(live.id, clear_cooloff=True)
    another_restore(service.pool)
    taken = allocate(service, world.site_id, 2)
    assert taken.number == live.number

    with pytest.raises(PoolConflict):
        service.pool.confirm(live, region="RU", cooloff_s=7200)
    found = service.pool.for_site(world.site_id, live.number, service.clock())
    assert found is not None and found.id == taken.id


def lose_the_allocation(service: MaskingService, then: Callable[[LiveBinding], None]) -> None:
    """The next new allocation of ``service`` is followed by a failover that loses it, a
    restore by another instance, and ``then`` (all before the reveal's commit)."""
    real = service.pool.allocate

    def allocate_then_fail_over(**kwargs: Any) -> LiveBinding:
        live = real(**kwargs)
        if live.new:
            service.pool.allocate = real  # type: ignore[method-assign]
            service.pool.release(live.id, clear_cooloff=True)
            another_restore(service.pool)
            then(live)
        return live

    service.pool.allocate = allocate_then_fail_over  # type: ignore[method-assign]


def test_a_reveal_whose_number_was_taken_meanwhile_is_withdrawn(service: MaskingService) -> None:
    world = seed_site(service, pool=1, shipments=2)
    taken: list[LiveBinding] = []
    lose_the_allocation(service, lambda live: taken.append(allocate(service, world.site_id, 99)))

    with pytest.raises(Refused) as refused:
        reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON)
    assert refused.value.code == Refusal.UNAVAILABLE
    with service.db.session() as session:
        row = session.scalars(select(Binding)).one()
        assert row.revoked_at is not None and row.virtual_number == taken[0].number
        granted = session.scalars(
            select(RevealAudit.granted).where(RevealAudit.binding_id == row.id)
        ).all()
        assert sorted(granted) == [False, True]  # granted, then withdrawn
    found = service.pool.for_site(world.site_id, taken[0].number, service.clock())
    assert found is not None and found.id == taken[0].id


def test_a_reveal_lost_with_the_master_is_written_back(service: MaskingService) -> None:
    world = seed_site(service, pool=2, shipments=1)
    lose_the_allocation(service, lambda live: None)
    shown = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    found = bindings.for_site(service, world.site_id, shown.virtual_number)
    assert found is not None and found.id == shown.binding_id


def test_a_revoked_binding_a_lost_release_brought_back_is_dropped(
    service: MaskingService,
) -> None:
    """Revoked in the database, its release lost with the old master: the restore and
    the next reveal of the shipment drop it, however young it is."""
    world = seed_site(service, pool=3, shipments=2)
    first, second = (
        reveal_number(
            service, staff_id=world.owner_id, shipment_number=f"PVZ1-{i:05d}", reason=REASON
        )
        for i in range(2)
    )
    with service.db.session() as session:
        session.execute(update(Binding).values(revoked_at=service.clock()))
    bindings.restore_live_state(service)
    assert service.pool.binding(first.binding_id) is None
    assert service.pool.binding(second.binding_id) is None

    third = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    with service.db.session() as session:
        session.execute(update(Binding).values(revoked_at=service.clock()))
    again = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    assert again.binding_id != third.binding_id and again.new


def test_an_allocation_sent_again_is_the_same_binding(service: MaskingService) -> None:
    """redis-py sends a script again when its answer was lost on a dropped connection."""
    world = seed_site(service, pool=3)
    live = allocate(service, world.site_id, 1)
    again = allocate(service, world.site_id, 1)
    assert again.new and (again.id, again.number) == (live.id, live.number)


def test_one_restore_at_a_time(service: MaskingService, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a failover every process finds the state missing at once: one restores, the
    others wait for it, and fail closed if it takes too long."""
    monkeypatch.setattr(bindings, "RESTORE_WAIT", timedelta(seconds=0.2))
    world = seed_site(service, pool=2, shipments=1)
    shown = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    service.pool.redis.set(service.pool.ready_key, "0" * 40 + ":old-master")
    elsewhere = service.pool.begin_restore(timedelta(seconds=30))
    assert elsewhere is not None
    assert service.pool.begin_restore(timedelta(seconds=30)) is None

    with pytest.raises(PoolUnavailable):
        bindings.for_site(service, world.site_id, shown.virtual_number)
    service.pool.end_restore(elsewhere)
    found = bindings.for_site(service, world.site_id, shown.virtual_number)
    assert found is not None and found.id == shown.binding_id


def test_a_binding_committed_while_stale_ones_are_dropped_stays(
    service: MaskingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restore marks the state ready, then drops what the database does not hold as
    live; meanwhile others already allocate. A binding committed after the database was
    asked is live: it is not released (its number would go to another customer)."""
    world = seed_site(service, pool=3, shipments=2)
    live_ids = service.pool.live_ids
    made: list[str] = []

    def a_reveal_commits_in_between() -> set[str]:
        shown = reveal_number(
            service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON
        )
        made.append(shown.binding_id)
        return live_ids()

    monkeypatch.setattr(service.pool, "live_ids", a_reveal_commits_in_between)
    assert bindings.drop_stale_bindings(service) == 0
    [binding_id] = made
    assert service.pool.binding(binding_id) is not None
