"""The rotating pool: least recently used first, a clear error when exhausted, a
customer's cool-off after expiry (real Redis, real databases)."""

from __future__ import annotations

import re

import pytest

from masking import shipments, sites
from masking.numbers import bindings
from masking.numbers.phones import mask_number
from masking.refusals import Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from tests.support import factories
from tests.support.clock import FakeClock
from tests.support.factories import seed_site
from tests.support.leaks import digit_leaks

REASON = "item_found_later"


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
    assert str(info.value) == "no temporary number is free for this customer right now"
    assert "1 numbers, 1 in live use at the site" in info.value.detail


def test_exhaustion_names_neither_customer_nor_site(
    service: MaskingService, caplog: pytest.LogCaptureFixture
) -> None:
    world = seed_site(service, pool=1, shipments=2)
    reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON)
    with pytest.raises(Refused) as info:
        reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON)
    shown = str(info.value)
    # no digit at all: none of the customer's, no site id, no counts
    assert not re.search(r"\d", shown), shown
    assert "pvz1" not in shown.lower()
    customer = factories.customer(1)
    # the service log has the counts, masked
    assert "1 numbers" in caplog.text and mask_number(customer) in caplog.text
    assert not digit_leaks(caplog.text, [customer])


def test_expiry_and_cooloff(service: MaskingService, clock: FakeClock) -> None:
    # one customer, two sites: after expiry the same number is not given back to the
    # same customer during the cool-off (72 h by default)
    a = seed_site(service, "a", pool=2)
    b = seed_site(service, "b")
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
