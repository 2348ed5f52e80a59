"""A desk phone dials a live temporary number: the real service decides, the real
Asterisk dials the customer masked through the carrier and records the call."""

from __future__ import annotations

import wave

import pytest

from tests.support.audio import rms, wait_for_file
from tests.support.e2e import CUSTOMER_1, Live, log_tail

pytestmark = pytest.mark.e2e


def test_operator_call_is_masked_bridged_and_recorded(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    desk, carrier_result = e2e.desk_call("desk_uac", vn.lstrip("+"), "desk1", answered=True)
    assert desk.ok, desk.describe() + "\n" + log_tail(e2e)
    [invite] = carrier_result.invites
    digits = CUSTOMER_1.lstrip("+")
    assert (invite.request_uri or "").startswith(f"sip:{digits}@"), invite.request_uri
    sender = invite.header("From") or ""
    assert vn.lstrip("+") in sender, sender
    assert '"Pickup point"' in sender, sender
    assert "desk1" not in str(invite) and "owner1" not in str(invite)
    assert vn.lstrip("+") in (invite.header("P-Asserted-Identity") or "")

    record = live.wait_record(
        lambda r: (
            r.direction == "outbound" and r.ended_at is not None and r.recording_bytes is not None
        ),
        timeout=15,
    )
    assert record.disposition == "answered", record.__dict__
    assert record.answered_at is not None and record.bridged_seconds is not None
    assert record.reason_code == "item_found_later" and record.staff_id == live.site1.owner_id
    assert record.recording_file and record.id in record.recording_file
    assert digits not in record.recording_file
    path = e2e.asterisk.monitor_dir / record.recording_file
    wait_for_file(path)
    assert record.recording_bytes and record.recording_bytes > 44
    with wave.open(str(path)) as handle:
        assert handle.getnframes() / handle.getframerate() > 2.0
    assert rms(path) > 300, "recording is silent"
