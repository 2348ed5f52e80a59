"""Several Asterisk servers active at once on one deployment: every call record knows
the Asterisk that handled it, and the reconciliation of one Asterisk settles its own
records only (another Asterisk's live calls are not in its snapshot). SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from masking.calls import call_log
from masking.calls.click2call import prepare_click2call
from masking.service import MaskingService
from masking.shapes import asterisk_of_channel
from tests.support.calls import REASON, call_record, operator_call
from tests.support.clock import FakeClock
from tests.support.factories import World, seed_site


@pytest.fixture
def world(service: MaskingService) -> World:
    return seed_site(service, pool=3, shipments=3)


def test_the_asterisk_of_a_channel_is_its_uniqueid_prefix() -> None:
    assert asterisk_of_channel("ast-b-1764530000.42") == "ast-b"
    assert asterisk_of_channel("masking-1764530000.7") == "masking"
    for no_name in ("1764530000.42", "", None, "ast-a-1764530000", "-1764530000.1"):
        assert asterisk_of_channel(no_name) is None
    assert asterisk_of_channel("x;y-1764530000.42") is None  # not a name's shape
    assert asterisk_of_channel("a" * 41 + "-1764530000.42") is None


def on_asterisk(service: MaskingService, name: str) -> MaskingService:
    """The same deployment as seen by an instance attached to Asterisk ``name``."""
    settings = service.settings.model_copy(update={"asterisk_name": name})
    return MaskingService(settings, service.db, service.pool, service.clock)


def test_records_know_their_asterisk(service: MaskingService, world: World) -> None:
    # decided over AGI: the Asterisk whose channel asked (its systemname prefixes it)
    on_a = operator_call(service, world, "PVZ1-00000", "ast-a-1764530000.1")
    unnamed = operator_call(service, world, "PVZ1-00001", "1764530000.2")
    assert call_record(service, on_a).asterisk == "ast-a"
    assert call_record(service, unnamed).asterisk is None
    # click-to-call: the Asterisk of the instance that originates it
    click_b, _ = prepare_click2call(
        on_asterisk(service, "ast-b"),
        staff_id=world.owner_id,
        shipment_number="PVZ1-00002",
        reason=REASON,
    )
    assert call_record(service, click_b).asterisk == "ast-b"
    click, _ = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00002", reason=REASON
    )
    assert call_record(service, click).asterisk is None


def test_reconciliation_of_one_asterisk_settles_its_own_records(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    on_a = operator_call(service, world, "PVZ1-00000", "ast-a-1764530000.1")
    on_b = operator_call(service, world, "PVZ1-00001", "ast-b-1764530000.1")
    legacy = operator_call(service, world, "PVZ1-00002", "1764530000.1")
    clock.advance(minutes=2)
    # ast-a shows no live channel: its call is over; ast-b's live call and the record
    # of no Asterisk are none of its business
    assert call_log.reconcile(service, set(), clock.now, asterisks={"ast-a"}) == [on_a]
    assert call_record(service, on_a).disposition == "failed"
    assert call_record(service, on_b).ended_at is None
    assert call_record(service, legacy).ended_at is None
    # ast-b's call is alive on ast-b (its channel), then gone
    assert (
        call_log.reconcile(
            service, set(), clock.now, asterisks={"ast-b"}, alive_channel_ids={"ast-b-1764530000.1"}
        )
        == []
    )
    assert call_log.reconcile(service, set(), clock.now, asterisks={"ast-b"}) == [on_b]
    assert call_record(service, legacy).ended_at is None
    # a record of no Asterisk (from before the names were set) closes once stale
    clock.advance(hours=5)
    assert call_log.reconcile(service, set(), clock.now, asterisks={"ast-a"}) == [legacy]
    assert call_record(service, legacy).disposition == "failed"


def test_reconciliation_without_a_name_settles_every_record(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    """One Asterisk per deployment (no MASKING_ASTERISK_NAME): as before, whatever the
    records say (the lab's Asterisk has a systemname, its instances no name)."""
    on_a = operator_call(service, world, "PVZ1-00000", "ast-a-1764530000.1")
    legacy = operator_call(service, world, "PVZ1-00001", "1764530000.1")
    clock.advance(minutes=2)
    assert sorted(call_log.reconcile(service, set(), clock.now)) == sorted([on_a, legacy])


def test_reconciliation_of_an_unnamed_asterisk(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    """An instance without a name reconciles the records of no Asterisk and of its own
    systemname: a second Asterisk left unnamed by mistake keeps its live calls."""
    on_a = operator_call(service, world, "PVZ1-00000", "ast-a-1764530000.1")
    on_b = operator_call(service, world, "PVZ1-00001", "ast-b-1764530000.1")
    legacy = operator_call(service, world, "PVZ1-00002", "1764530000.1")
    clock.advance(minutes=2)
    closed = call_log.reconcile(service, set(), clock.now, asterisks={None, "ast-a"})
    assert sorted(closed) == sorted([on_a, legacy])
    assert call_record(service, on_b).ended_at is None
    clock.advance(hours=5)  # stale: closed by whichever reconciliation sees it first
    assert call_log.reconcile(service, set(), clock.now, asterisks={None, "ast-a"}) == [on_b]
