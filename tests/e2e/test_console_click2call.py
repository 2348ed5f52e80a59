"""Click-to-call from the web console in headless Chromium against the real Asterisk:
owner1 searches S1, reveals its temporary number and presses Call; desk1 (a SIPp UAS)
rings, answers, talks and hangs up; the carrier (a SIPp UAS) receives the masked call to
the customer. The page must show ringing, then connected, then ended (answered), and
never the customer's real number."""

from __future__ import annotations

import wave
from typing import Any

import pytest

from lab.sipp import Sipp, SippResult
from tests.support.audio import rms, wait_for_file
from tests.support.browser import TABLET, Shots, sign_in
from tests.support.e2e import CUSTOMER_1, Live, log_tail

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REASON = "item_found_later"

# Records every status the page's live status element takes (data-status changes), so a
# short "ringing" phase cannot slip between two polls of the test.
WATCH_STATUS = """() => {
    window.__statuses = [];
    const box = document.getElementById("call-status");
    new MutationObserver(() => {
        const s = box.dataset.status;
        const text = document.getElementById("call-status-text").textContent;
        const last = window.__statuses[window.__statuses.length - 1];
        if (!last || last.status !== s || last.text !== text) {
            window.__statuses.push({status: s, disposition: box.dataset.disposition, text: text});
        }
    }).observe(box, {attributes: true, childList: true, subtree: true, characterData: true});
}"""


def _statuses(page: Any) -> list[dict[str, str]]:
    result: list[dict[str, str]] = page.evaluate("() => window.__statuses")
    return result


def test_click2call_real(live: Live, chromium: Any) -> None:
    e2e = live.e2e
    shots = Shots("click2call_real")
    digits = CUSTOMER_1.lstrip("+")
    workdir = e2e.workdir / "sipp-click2call"
    carrier = Sipp("carrier_uas", workdir, port=e2e.carrier_port, rtp_echo=True, timeout=40).start()
    desk = Sipp(
        "site_phone_hangup_uas",
        workdir,
        port=e2e.site_ports["desk1"],
        timeout=40,
    ).start()
    context = chromium.new_context(
        viewport=TABLET, base_url=f"http://127.0.0.1:{live.thread.runtime.settings.http_port}"
    )
    context.set_default_timeout(10_000)
    try:
        carrier.listening()
        desk.listening()
        page = context.new_page()
        page.goto("/lang/en?next=/login")
        sign_in(page, "owner1", "owner1-pass")
        assert page.url.endswith("/search"), page.url
        page.fill("input[name=shipment]", "S1")
        page.click("#find")
        page.wait_for_selector("#item")
        page.select_option("#reason", REASON)
        page.click("#reveal")
        page.wait_for_selector("#temp-number")
        vn = page.locator("#temp-number").inner_text().strip()
        assert vn.startswith("+7495"), vn
        assert digits not in page.content()
        shots(page, "search")

        page.evaluate(WATCH_STATUS)
        page.click("#call")
        box = page.locator("#call-status")
        page.wait_for_function(
            "() => document.getElementById('call-status').dataset.status === 'connected'",
            timeout=20_000,
        )
        assert "connected" in page.locator("#call-status-text").inner_text()
        assert digits not in page.content()
        shots(page, "connected")
        page.wait_for_function(
            "() => document.getElementById('call-status').dataset.status === 'ended'",
            timeout=20_000,
        )
        assert box.get_attribute("data-disposition") == "answered"
        assert page.locator("#call-status-text").inner_text() == "call ended: answered"
        assert page.locator("#call").is_enabled()
        assert digits not in page.content()
        shots(page, "ended")
        seen = [s["status"] for s in _statuses(page)]

        desk_result = desk.wait(15)
        carrier_result = carrier.wait(15)
    finally:
        context.close()
        desk.stop()
        carrier.stop()

    # the page went through the statuses in order: ringing before connected before ended
    assert "ringing_staff" in seen, seen
    assert seen.index("ringing_staff") < seen.index("connected") < seen.index("ended"), seen
    assert seen[-1] == "ended", seen

    _check_sip(desk_result, carrier_result, vn, digits, e2e)

    record = live.wait_record(
        lambda r: (
            r.direction == "click2call" and r.ended_at is not None and r.recording_bytes is not None
        ),
        timeout=15,
    )
    assert record.disposition == "answered", record.__dict__
    assert record.status == "ended"
    assert record.staff_id == live.site1.owner_id and record.reason_code == REASON
    assert record.answered_at is not None and record.bridged_seconds is not None
    assert record.recording_file and digits not in record.recording_file
    path = e2e.asterisk.monitor_dir / record.recording_file
    wait_for_file(path)
    assert record.recording_bytes and record.recording_bytes > 44
    with wave.open(str(path)) as handle:
        assert handle.getnframes() / handle.getframerate() > 2.0
    assert rms(path) > 300, "recording is silent"


def _check_sip(desk: SippResult, carrier: SippResult, vn: str, digits: str, e2e: Any) -> None:
    context = desk.describe() + "\n" + carrier.describe() + "\n" + log_tail(e2e)
    assert desk.ok, context
    assert carrier.ok, context
    [desk_invite] = desk.invites
    [carrier_invite] = carrier.invites
    # desk1 rang first; the customer was dialed only after desk1 answered
    [desk_answer] = [m for m in desk.sent if m.status == 200 and m.cseq_method == "INVITE"][:1]
    assert 0 < desk_invite.timestamp < desk_answer.timestamp <= carrier_invite.timestamp, context
    assert digits not in str(desk_invite), str(desk_invite)
    assert (carrier_invite.request_uri or "").startswith(f"sip:{digits}@"), context
    sender = carrier_invite.header("From") or ""
    assert vn.lstrip("+") in sender, sender
    assert "desk1" not in str(carrier_invite) and "owner1" not in str(carrier_invite)
    # desk1 hung up (our BYE was accepted) and Asterisk hung up the customer's leg
    assert [m.status for m in desk.responses("BYE")] == [200], context
    assert len(carrier.requests("BYE")) == 1, context
