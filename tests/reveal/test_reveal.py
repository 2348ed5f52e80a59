"""Reveal: a staff member gets the shipment's temporary number, or a refusal; both are
audited (real Redis, real databases)."""

from __future__ import annotations

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
