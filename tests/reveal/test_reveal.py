"""Reveal: a staff member gets the shipment's temporary number, or a refusal; both are
audited (real Redis, real databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from masking import sites
from masking.numbers import bindings
from masking.refusals import Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.models import RevealAudit
from tests.support.clock import FakeClock
from tests.support.factories import seed_site

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
    with service.db.session() as session:
        sites.suspend(sites.get_site(session, "pvz1"), reason="rude calls", by="admin")
    with pytest.raises(Refused) as info:
        reveal_number(
            service, staff_id=world.manager_id, shipment_number="PVZ1-00000", reason=REASON
        )
    assert info.value.code == "suspended"


def test_hours_and_date_exceptions_apply_to_the_next_reveal(
    service: MaskingService, clock: FakeClock
) -> None:
    """The parsed hours are kept between reveals: a change still counts at once."""
    world = seed_site(service, pool=3, shipments=3)  # open daily 09:00-21:00 Moscow

    def reveal(shipment: str) -> str:
        try:
            reveal_number(service, staff_id=world.owner_id, shipment_number=shipment, reason=REASON)
        except Refused as refused:
            return refused.code
        return "ok"

    assert reveal("PVZ1-00000") == "ok"  # Wednesday 12:00 Moscow
    today = clock.now.date()
    with service.db.session() as session:
        sites.add_exception(session, sites.get_site(session, "pvz1"), today, [], "holiday")
    assert reveal("PVZ1-00001") == "closed"
    with service.db.session() as session:
        site = sites.get_site(session, "pvz1")
        sites.delete_exception(session, site, today)
        # an exception far from today changes nothing now
        sites.add_exception(session, site, today + timedelta(days=30), [], "far away")
    assert reveal("PVZ1-00001") == "ok"
    with service.db.session() as session:
        sites.set_hours(session, sites.get_site(session, "pvz1"), "daily 13:00-14:00")
    assert reveal("PVZ1-00002") == "closed"
    # a late shift of yesterday's exception that runs past midnight opens the night
    clock.advance(hours=14)  # Thursday 02:00 Moscow
    with service.db.session() as session:
        sites.add_exception(session, sites.get_site(session, "pvz1"), today, ["20:00-03:00"])
    assert reveal("PVZ1-00002") == "ok"
