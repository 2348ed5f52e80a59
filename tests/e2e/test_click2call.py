"""Click-to-call on the real Asterisk: the service originates over AMI, the staff desk
phone rings first and answers, then the real dialplan asks the service again and dials
the customer masked through the carrier, recorded."""

from __future__ import annotations

import threading
import time
import wave

import pytest

from lab.sipp import Sipp
from masking import sites
from masking.calls.click2call import prepare_click2call
from masking.numbers import bindings
from masking.storage.models import CallRecord
from tests.support.audio import rms, wait_for_file
from tests.support.e2e import CUSTOMER_1, Live, LogMark, log_tail, moscow_today

pytestmark = pytest.mark.e2e

CUSTOMER_DIGITS = CUSTOMER_1.lstrip("+")


class StatusWatch:
    """Polls one call record's status in the background: the sequence it went through."""

    def __init__(self, live: Live, call_id: str) -> None:
        self.live, self.call_id = live, call_id
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.live.service.db.session() as session:
                record = session.get(CallRecord, self.call_id)
                status = record.status if record else None
            if status and (not self.seen or self.seen[-1] != status):
                self.seen.append(status)
            self._stop.wait(0.05)

    def __enter__(self) -> StatusWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def originate(live: Live, call_id: str, endpoint: str) -> None:
    ami = live.thread.runtime.ami
    assert ami is not None
    live.thread.run(
        ami.originator.originate_click2call(call_id=call_id, endpoint=endpoint, label="Order S1")
    )


def test_click_to_call_rings_staff_then_customer_masked_and_recorded(live: Live) -> None:
    e2e = live.e2e
    call_id, endpoint = prepare_click2call(
        live.service, staff_id=live.site1.owner_id, shipment_number="S1", reason="item_found_later"
    )
    assert endpoint == "desk1"
    vn = bindings.live_bindings(live.service, live.site1.site_id)[0].virtual_number
    mark = LogMark(e2e)
    carrier = Sipp(
        "carrier_uas", e2e.workdir / "sipp", port=e2e.carrier_port, rtp_echo=True, timeout=30
    ).start()
    staff = Sipp(
        "staff_phone_talks_uas",
        e2e.workdir / "sipp",
        port=e2e.site_ports["desk1"],
        timeout=30,
    ).start()
    try:
        carrier.listening()
        staff.listening()
        with StatusWatch(live, call_id) as watch:
            originate(live, call_id, endpoint)
            staff_result = staff.wait(20)
            carrier_result = carrier.wait(10)
            live.wait_record(lambda r: r.id == call_id and r.ended_at is not None, timeout=10)
    finally:
        staff.stop()
        carrier.stop()
    assert staff_result.ok, staff_result.describe() + "\n" + log_tail(e2e)
    assert carrier_result.ok, carrier_result.describe() + "\n" + log_tail(e2e)

    # the staff phone rang first and saw the virtual number and the order, not the customer
    [staff_invite] = staff_result.invites
    [customer_invite] = carrier_result.invites
    assert staff_invite.timestamp < customer_invite.timestamp
    staff_from = staff_invite.header("From") or ""
    assert vn.lstrip("+") in staff_from and '"Order S1"' in staff_from, staff_from
    assert CUSTOMER_DIGITS not in str(staff_invite) + staff_invite.body

    # the customer got the virtual number and the neutral name
    assert (customer_invite.request_uri or "").startswith(f"sip:{CUSTOMER_DIGITS}@")
    sender = customer_invite.header("From") or ""
    assert vn.lstrip("+") in sender, sender
    assert f'"{live.service.settings.neutral_callerid_name}"' in sender, sender
    assert "desk1" not in str(customer_invite) and "Order" not in str(customer_invite)
    assert mark.dials() and all(
        d.startswith(f"PJSIP/{CUSTOMER_DIGITS}@carrier") for d in mark.dials()
    )

    record = live.wait_record(
        lambda r: r.id == call_id and r.recording_bytes is not None, timeout=10
    )
    assert record.direction == "click2call" and record.disposition == "answered", record.__dict__
    assert record.status == "ended" and record.answered_at is not None
    assert record.staff_id == live.site1.owner_id and record.reason_code == "item_found_later"
    seen = watch.seen
    assert seen[0] == "ringing_staff" and seen[-1] == "ended", seen
    assert "ringing_customer" in seen or "connected" in seen, seen
    assert seen == sorted(
        seen, key=["ringing_staff", "ringing_customer", "connected", "ended"].index
    ), seen
    assert record.recording_file and call_id in record.recording_file
    assert record.recording_bytes and record.recording_bytes > 44
    path = e2e.asterisk.monitor_dir / record.recording_file
    wait_for_file(path)
    with wave.open(str(path)) as handle:
        assert handle.getnframes() / handle.getframerate() > 2.0
    assert rms(path) > 300, "recording is silent"


def test_click_to_call_in_closed_hours_plays_the_prompt_to_staff(live: Live) -> None:
    e2e = live.e2e
    call_id, endpoint = prepare_click2call(
        live.service, staff_id=live.site1.owner_id, shipment_number="S1", reason="item_found_later"
    )
    # the site closed between the click and the staff member picking up
    with live.service.db.session() as session:
        site = sites.get_site(session, "pvz1")
        sites.add_exception(session, site, moscow_today().date(), [], note="e2e: closed")
    mark = LogMark(e2e)
    carrier = Sipp("carrier_uas", e2e.workdir / "sipp", port=e2e.carrier_port, timeout=20).start()
    staff = Sipp(
        "site_phone_uas", e2e.workdir / "sipp", port=e2e.site_ports["desk1"], timeout=25
    ).start()
    try:
        carrier.listening()
        staff.listening()
        originate(live, call_id, endpoint)
        staff_result = staff.wait(20)
        time.sleep(0.3)
    finally:
        staff.stop()
        carrier.stop()
    assert staff_result.ok, staff_result.describe() + "\n" + log_tail(e2e)
    assert staff_result.invites, "the staff phone did not ring"
    assert staff_result.requests("BYE"), "Asterisk did not hang up after the prompt"
    assert not carrier.result(-1).invites, "a customer was dialed"
    assert "masking/closed" in mark.playbacks(), mark.playbacks()
    assert not mark.dials(), mark.dials()
    record = live.wait_record(lambda r: r.id == call_id and r.ended_at is not None)
    assert record.disposition == "denied" and record.deny_reason == "closed", record.__dict__
    assert record.status == "ended"
