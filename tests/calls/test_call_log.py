"""Call records kept true after the decision, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from masking.calls import call_log
from masking.calls.click2call import prepare_click2call
from masking.calls.desk import MaskingCallDesk
from masking.service import MaskingService
from masking.states import Disposition
from tests.support.calls import REASON, call_record, operator_call, write_recording
from tests.support.clock import FakeClock
from tests.support.factories import World, seed_site


@pytest.fixture
def world(service: MaskingService) -> World:
    return seed_site(service, pool=3, shipments=3)


@pytest.mark.parametrize(
    ("answered", "status", "cause", "expected"),
    [
        (True, "CANCEL", 16, Disposition.ANSWERED),
        (False, "ANSWER", None, Disposition.ANSWERED),
        (False, "BUSY", None, Disposition.BUSY),
        (False, None, 17, Disposition.BUSY),
        (False, "NOANSWER", None, Disposition.NO_ANSWER),
        (False, "CANCEL", None, Disposition.NO_ANSWER),
        (False, None, 19, Disposition.NO_ANSWER),
        (False, None, 21, Disposition.NO_ANSWER),
        (False, "CHANUNAVAIL", 17, Disposition.FAILED),
        (False, "CONGESTION", None, Disposition.FAILED),
        (False, None, 38, Disposition.FAILED),
        (False, None, None, Disposition.FAILED),
    ],
)
def test_disposition_mapping(
    answered: bool, status: str | None, cause: int | None, expected: Disposition
) -> None:
    assert (
        call_log.disposition_for(answered=answered, dial_status=status, hangup_cause=cause)
        is expected
    )


def test_answered_call_lifecycle_with_recording(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    call_id = operator_call(service, world)
    start = clock.now
    clock.advance(seconds=5)
    assert call_log.mark_answered(service, call_id, clock.now)
    assert not call_log.mark_answered(service, call_id, clock.now + timedelta(seconds=3))
    assert not call_log.mark_bridged(service, call_id, clock.now)
    rec = call_record(service, call_id)
    assert rec.answered_at == start + timedelta(seconds=5) and rec.status == "connected"

    clock.advance(seconds=60)
    assert call_log.mark_ended(service, call_id, clock.now, hangup_cause=16, bridged_seconds=59)
    write_recording(service, call_id, 48_000)
    assert call_log.attach_recording(service, call_id)
    rec = call_record(service, call_id)
    assert rec.disposition == Disposition.ANSWERED and rec.status == "ended"
    assert (rec.hangup_cause, rec.bridged_seconds, rec.recording_bytes) == (16, 59, 48_000)
    assert rec.recording_error is None

    # repeated events after a reconnect change nothing
    clock.advance(seconds=30)
    assert not call_log.mark_ended(service, call_id, clock.now, Disposition.FAILED, 34, 1)
    assert not call_log.mark_answered(service, call_id, clock.now)
    again = call_record(service, call_id)
    assert (again.ended_at, again.disposition, again.bridged_seconds) == (
        rec.ended_at,
        Disposition.ANSWERED,
        59,
    )


def test_bridged_seconds_from_answer_when_unknown(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    call_id = operator_call(service, world)
    call_log.mark_bridged(service, call_id, clock.now)
    clock.advance(seconds=42)
    call_log.mark_ended(service, call_id, clock.now, hangup_cause=16)
    assert call_record(service, call_id).bridged_seconds == 42


def test_denied_stays_denied(service: MaskingService, world: World, clock: FakeClock) -> None:
    decision = MaskingCallDesk(service).operator_call(
        endpoint="nobody", dialed="+74950000000", channel_id="1700000000.9"
    )
    assert decision.action == "deny"
    clock.advance(seconds=3)
    assert not call_log.mark_answered(service, decision.call_id, clock.now)
    assert not call_log.mark_ended(service, decision.call_id, clock.now, hangup_cause=16)
    rec = call_record(service, decision.call_id)
    assert (rec.disposition, rec.answered_at, rec.hangup_cause) == ("denied", None, 16)
    assert call_log.call_for_channel(service, "1700000000.9") == decision.call_id


def test_click2call_status_only_moves_forward(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    call_id, endpoint = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON
    )
    assert endpoint == "pvz1-desk1"
    assert call_record(service, call_id).status == "ringing_staff"
    assert call_log.set_status(service, call_id, "ringing_customer")
    assert not call_log.set_status(service, call_id, "ringing_staff")
    assert call_log.set_status(service, call_id, "connected")
    with pytest.raises(ValueError):
        call_log.set_status(service, call_id, "exploded")
    call_log.mark_ended(service, call_id, clock.now, Disposition.NO_ANSWER)
    rec = call_record(service, call_id)
    assert (rec.status, rec.disposition) == ("ended", "no_answer")
    assert not call_log.set_status(service, call_id, "connected")


def test_unknown_call_is_ignored(service: MaskingService, clock: FakeClock) -> None:
    missing = "0" * 32
    assert not call_log.mark_answered(service, missing, clock.now)
    assert not call_log.mark_ended(service, missing, clock.now)
    assert not call_log.attach_recording(service, missing)
    assert not call_log.set_status(service, missing, "connected")
    assert call_log.call_for_channel(service, "nope") is None


def test_reconcile_closes_dead_calls_only(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    alive_by_id = operator_call(service, world, "PVZ1-00000")
    alive_by_channel = operator_call(service, world, "PVZ1-00001")
    dead_answered = operator_call(service, world, "PVZ1-00002")
    call_log.mark_answered(service, dead_answered, clock.now)
    write_recording(service, dead_answered, 5000)
    clock.advance(minutes=1)
    young = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )[0]
    clock.advance(seconds=5)

    alive_channel = call_record(service, alive_by_channel).channel_id
    assert alive_channel
    closed = call_log.reconcile(
        service, {alive_by_id}, clock.now, alive_channel_ids={alive_channel}
    )
    assert closed == [dead_answered]
    rec = call_record(service, dead_answered)
    assert (rec.disposition, rec.status, rec.ended_at) == ("answered", "ended", clock.now)
    assert rec.recording_bytes == 5000
    assert call_record(service, young).disposition == "in_progress"
    assert call_record(service, alive_by_id).disposition == "in_progress"

    # idempotent; the young click-to-call closes once it is past the grace period
    clock.advance(minutes=1)
    assert call_log.reconcile(
        service, {alive_by_id}, clock.now, alive_channel_ids={alive_channel}
    ) == [young]
    assert call_record(service, young).disposition == "failed"

    # stale calls close even when a channel still claims them
    clock.advance(hours=5)
    closed = call_log.reconcile(
        service, {alive_by_id}, clock.now, alive_channel_ids={alive_channel}
    )
    assert sorted(closed) == sorted([alive_by_id, alive_by_channel])
    assert call_log.reconcile(service, set(), clock.now) == []
