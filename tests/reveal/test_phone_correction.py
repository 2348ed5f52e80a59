"""Issue 9, finding 8: correcting a shipment's phone revokes its live binding, so the
temporary number stops leading to the old number at once (real Redis, real databases)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from masking import shipments, sites
from masking.numbers import bindings
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.shapes import AdminError
from masking.storage.models import Binding
from tests.support.clock import FakeClock
from tests.support.factories import seed_site

REASON = "item_found_later"
OLD, NEW = "+79161234567", "+79037654321"


def test_phone_correction_revokes_the_live_binding(
    service: MaskingService, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "masking")
    world = seed_site(service, pool=2)
    shipments.add_for_site(service, "pvz1", "S1", OLD)
    before = reveal_number(service, staff_id=world.owner_id, shipment_number="S1", reason=REASON)
    assert bindings.for_site(service, world.site_id, before.virtual_number) is not None

    report = shipments.import_for_site(service, "pvz1", f"shipment,phone\nS1,{NEW}\n")
    assert (report.added, report.skipped) == (0, 1)

    assert bindings.for_site(service, world.site_id, before.virtual_number) is None
    assert bindings.for_customer(service, OLD, before.virtual_number) is None
    with service.db.session() as session:
        revoked = session.get(Binding, before.binding_id)
        assert revoked is not None and revoked.revoked_at == clock()
    assert "revoked binding " + before.binding_id in caplog.text
    assert OLD not in caplog.text and NEW not in caplog.text

    after = reveal_number(service, staff_id=world.owner_id, shipment_number="S1", reason=REASON)
    assert after.new and after.binding_id != before.binding_id
    found = bindings.for_site(service, world.site_id, after.virtual_number)
    assert found is not None and found.customer == NEW
    assert bindings.for_customer(service, NEW, after.virtual_number) is not None
    # and so after Redis loses everything: the revoked binding does not come back
    service.pool.flush()
    assert bindings.for_site(service, world.site_id, before.virtual_number) in (None, found)
    assert {b.id for b in bindings.live_bindings(service)} == {after.binding_id}


def test_same_phone_again_keeps_the_binding(service: MaskingService) -> None:
    world = seed_site(service, pool=2)
    shipments.add_for_site(service, "pvz1", "S1", OLD)
    first = reveal_number(service, staff_id=world.owner_id, shipment_number="S1", reason=REASON)
    shipments.add_for_site(service, "pvz1", "S1", "8 916 123-45-67", status="delivered")
    again = reveal_number(service, staff_id=world.owner_id, shipment_number="S1", reason=REASON)
    assert again.binding_id == first.binding_id and not again.new


def test_session_level_import_refuses_a_correction_it_cannot_revoke(
    service: MaskingService,
) -> None:
    world = seed_site(service, pool=2)
    shipments.add_for_site(service, "pvz1", "S1", OLD)
    made = reveal_number(service, staff_id=world.owner_id, shipment_number="S1", reason=REASON)
    with (
        pytest.raises(AdminError, match="live temporary number"),
        service.db.session() as session,
    ):
        shipments.add_shipment(session, sites.get_site(session, "pvz1"), "S1", NEW)
    with service.db.session() as session:
        phone = session.scalar(select(Binding.customer_phone).where(Binding.id == made.binding_id))
    assert phone == OLD
    assert bindings.for_site(service, world.site_id, made.virtual_number) is not None
