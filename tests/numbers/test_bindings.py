"""Live bindings: unique per site and per customer, looked up both ways, and restored
from the database exactly when Redis loses them (real Redis, real databases)."""

from __future__ import annotations

from sqlalchemy import delete

from masking import shipments, sites
from masking.numbers import bindings
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.models import Binding
from tests.support.clock import FakeClock
from tests.support.factories import seed_site

REASON = "item_found_later"


def test_site_uniqueness_and_small_pool_serves_many_sites(service: MaskingService) -> None:
    worlds = [seed_site(service, f"s{i}", shipments=0) for i in range(3)]
    bindings.add_pool_numbers(service, ["+74950000001", "+74950000002"], "RU")
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
