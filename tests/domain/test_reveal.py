"""Reveal and the rotating pool against real Redis and real databases."""

from __future__ import annotations

import pytest

from masking.numbers import bindings
from masking.refusals import Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from tests.conftest import FakeClock
from tests.factories import seed_site

REASON = "item_found_later"


def test_reveal_allocates_and_rereveal_returns_same(service: MaskingService) -> None:
    world = seed_site(service, pool=3, shipments=2)
    first = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    again = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    assert first.new and not again.new
    assert again.virtual_number == first.virtual_number
    assert again.binding_id == first.binding_id
    other = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON
    )
    assert other.virtual_number != first.virtual_number
    assert len(bindings.live_bindings(service)) == 2


def test_least_recently_used_first(service: MaskingService, clock: FakeClock) -> None:
    world = seed_site(service, pool=3, shipments=4)
    used = []
    for i in range(3):
        used.append(
            reveal_number(
                service, staff_id=world.owner_id, shipment_number=f"PVZ1-{i:05d}", reason=REASON
            ).virtual_number
        )
        clock.advance(minutes=1)
    assert len(set(used)) == 3
    clock.advance(hours=25)  # all expired
    nxt = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00003", reason=REASON
    )
    assert nxt.virtual_number == used[0]


def test_exhaustion_is_a_clear_error(service: MaskingService) -> None:
    world = seed_site(service, pool=1, shipments=2)
    reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON)
    with pytest.raises(Refused) as info:
        reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON)
    assert info.value.code == "pool_exhausted"
    assert "1 numbers, 1 in live use at this site" in str(info.value)
    assert "+7916" not in str(info.value)


def test_expiry_and_cooloff(service: MaskingService, clock: FakeClock) -> None:
    # one customer, two sites: after expiry the same number is not given back to the
    # same customer during the cool-off (72 h by default)
    a = seed_site(service, "a", pool=2)
    b = seed_site(service, "b")
    from masking import shipments, sites

    with service.db.session() as session:
        shipments.add_shipment(session, sites.get_site(session, "a"), "S1", "+79161234567")
        shipments.add_shipment(session, sites.get_site(session, "b"), "S2", "+79161234567")
    first = reveal_number(service, staff_id=a.owner_id, shipment_number="S1", reason=REASON)
    second = reveal_number(service, staff_id=b.owner_id, shipment_number="S2", reason=REASON)
    assert first.virtual_number != second.virtual_number  # customer uniqueness
    clock.advance(hours=24, seconds=1)
    assert bindings.for_site(service, a.site_id, first.virtual_number) is None
    with pytest.raises(Refused) as info:  # both numbers cooling off for the customer
        reveal_number(service, staff_id=a.owner_id, shipment_number="S1", reason=REASON)
    assert info.value.code == "pool_exhausted"
    clock.advance(hours=72)
    again = reveal_number(service, staff_id=a.owner_id, shipment_number="S1", reason=REASON)
    assert again.new


def test_site_uniqueness_and_small_pool_serves_many_sites(service: MaskingService) -> None:
    worlds = [seed_site(service, f"s{i}", shipments=0) for i in range(3)]
    bindings.add_pool_numbers(service, ["+74950000001", "+74950000002"], "RU")
    from masking import shipments, sites

    with service.db.session() as session:
        for i in range(3):
            site = sites.get_site(session, f"s{i}")
            shipments.add_shipment(session, site, "A", f"+7916000000{i}")
            shipments.add_shipment(session, site, "B", f"+7916100000{i}")
    seen = {}
    for i, w in enumerate(worlds):
        x = reveal_number(service, staff_id=w.owner_id, shipment_number="A", reason=REASON)
        y = reveal_number(service, staff_id=w.owner_id, shipment_number="B", reason=REASON)
        assert x.virtual_number != y.virtual_number
        seen[i] = (x.virtual_number, y.virtual_number)
    # the same two numbers serve all three sites
    assert len({n for pair in seen.values() for n in pair}) == 2
    binding = bindings.for_site(service, worlds[1].site_id, seen[1][0])
    assert binding is not None and binding.customer == "+79160000001"
    back = bindings.for_customer(service, "+79160000001", seen[1][0])
    assert back is not None and back.site_id == worlds[1].site_id


@pytest.mark.parametrize(
    ("who", "code"),
    [("employee", "not_allowed")],
)
def test_employee_without_visibility_refused_and_audited(
    service: MaskingService, who: str, code: str
) -> None:
    world = seed_site(service, pool=2, shipments=1)
    with pytest.raises(Refused) as info:
        reveal_number(
            service, staff_id=world.employee_id, shipment_number="PVZ1-00000", reason=REASON
        )
    assert info.value.code == code
    from sqlalchemy import select

    from masking.storage.models import RevealAudit

    with service.db.session() as session:
        audit = session.scalars(select(RevealAudit)).all()
    assert [(a.granted, a.refusal) for a in audit] == [(False, code)]


def test_refusals(service: MaskingService, clock: FakeClock) -> None:
    world = seed_site(service, pool=2, shipments=1)
    other = seed_site(service, "pvz2", shipments=1)
    cases = [
        (world.owner_id, "NOPE", REASON, "unknown_shipment"),
        (world.owner_id, "PVZ2-00000", REASON, "other_site"),
        (other.owner_id, "PVZ1-00000", REASON, "other_site"),
        (world.owner_id, "PVZ1-00000", "rudeness", "bad_reason"),
        (world.owner_id, "PVZ1-00000", "", "bad_reason"),
    ]
    for staff_id, shipment, reason, code in cases:
        with pytest.raises(Refused) as info:
            reveal_number(service, staff_id=staff_id, shipment_number=shipment, reason=reason)
        assert info.value.code == code, (shipment, reason)
    clock.advance(hours=11)  # 23:00 Moscow
    with pytest.raises(Refused) as info:
        reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON)
    assert info.value.code == "closed"
    assert bindings.live_bindings(service) == []


def test_suspended_site_refuses(service: MaskingService) -> None:
    world = seed_site(service, pool=2, shipments=1)
    from masking import sites

    with service.db.session() as session:
        sites.suspend(sites.get_site(session, "pvz1"), reason="rude calls", by="admin")
    with pytest.raises(Refused) as info:
        reveal_number(
            service, staff_id=world.manager_id, shipment_number="PVZ1-00000", reason=REASON
        )
    assert info.value.code == "suspended"


def test_restore_after_redis_flush_gives_exactly_the_live_bindings(
    service: MaskingService, clock: FakeClock
) -> None:
    world = seed_site(service, pool=5, shipments=5)
    old = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    clock.advance(hours=23)
    live = [
        reveal_number(
            service, staff_id=world.owner_id, shipment_number=f"PVZ1-{i:05d}", reason=REASON
        )
        for i in range(1, 4)
    ]
    clock.advance(hours=2)  # the first binding expired, the other three live
    before = {
        (b.number, b.id)
        for b in [bindings.for_site(service, world.site_id, r.virtual_number) for r in live]
        if b
    }
    service.pool.flush()
    assert not service.pool.is_ready()
    # lookups restore lazily from the database
    after = {
        (b.number, b.id)
        for b in [bindings.for_site(service, world.site_id, r.virtual_number) for r in live]
        if b
    }
    assert after == before and len(after) == 3
    assert bindings.for_site(service, world.site_id, old.virtual_number) is None
    assert service.pool.live_ids() == {r.binding_id for r in live}
    again = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON
    )
    assert again.binding_id == live[0].binding_id and not again.new
    # cool-off survived too: the expired binding's number is not reused for its customer
    fresh = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    assert fresh.virtual_number != old.virtual_number


def test_redis_binding_unknown_to_the_database_is_dropped(
    service: MaskingService, clock: FakeClock
) -> None:
    """Redis outlived a database reset: its binding must not be handed out again."""
    from sqlalchemy import delete

    from masking.storage.models import Binding

    world = seed_site(service, pool=2, shipments=1)
    first = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    with service.db.session() as session:
        session.execute(delete(Binding))
    clock.advance(minutes=2)
    again = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    assert again.new and again.binding_id != first.binding_id
    assert [b.id for b in bindings.live_bindings(service)] == [again.binding_id]
    # and a restore drops whatever else Redis holds that the database does not
    with service.db.session() as session:
        session.execute(delete(Binding))
    clock.advance(minutes=2)
    bindings.restore_live_state(service)
    assert service.pool.live_ids() == set()
