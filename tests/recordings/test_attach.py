"""A call's recording on record: attached when Asterisk wrote it, a visible error when
an answered call has none or an empty one, nothing for a call never answered (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest

from masking.calls import call_log
from masking.service import MaskingService
from tests.support.calls import call_record, operator_call, write_recording
from tests.support.clock import FakeClock
from tests.support.factories import World, seed_site


@pytest.fixture
def world(service: MaskingService) -> World:
    return seed_site(service, pool=3, shipments=3)


def test_busy_call_without_recording_has_no_error(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    call_id = operator_call(service, world)
    call_log.mark_ended(service, call_id, clock.now, dial_status="BUSY", hangup_cause=17)
    assert not call_log.attach_recording(service, call_id)
    rec = call_record(service, call_id)
    assert (rec.disposition, rec.recording_error, rec.bridged_seconds) == ("busy", None, None)


def test_answered_without_file_is_visible(
    service: MaskingService, world: World, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    call_id = operator_call(service, world)
    call_log.mark_answered(service, call_id, clock.now)
    call_log.mark_ended(service, call_id, clock.now, hangup_cause=16)
    assert not call_log.attach_recording(service, call_id)
    assert call_record(service, call_id).recording_error == call_log.RECORDING_MISSING
    assert any(call_id in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)

    write_recording(service, call_id, 44)
    assert not call_log.attach_recording(service, call_id)
    rec = call_record(service, call_id)
    assert (rec.recording_error, rec.recording_bytes) == (call_log.RECORDING_EMPTY, 44)

    write_recording(service, call_id, 1000)
    assert call_log.attach_recording(service, call_id)
    rec = call_record(service, call_id)
    assert (rec.recording_error, rec.recording_bytes) == (None, 1000)
