"""The checks of the smoke tests (tests/e2e/test_asterisk_smoke.py), of the masked
operator call (tests/e2e/test_operator_call.py) and of the customer-digit scan of the logs
(tests/e2e/test_no_digits_in_logs.py), kept here so that the container suite
(tests/e2e/test_asterisk_container.py) runs the very same checks against Asterisk from
the container image."""

from __future__ import annotations

import logging
import os
import time
import wave
from pathlib import Path

import pytest

from lab.sipp import Sipp
from masking import redaction
from tests.support.audio import rms, wait_for_file
from tests.support.e2e import (
    CUSTOMER_1,
    CUSTOMER_2,
    E2E,
    Live,
    assert_denied,
    denied_desk_call,
    log_tail,
    talk_scenario,
)
from tests.support.leaks import asterisk_log_leaks, asterisk_log_offsets, log_leaks, sip_leaks

CUSTOMER = "79001234567"


def boots_with_the_project_dialplan(e2e: E2E) -> None:
    for context in (
        "masking-operator",
        "masking-inbound",
        "masking-click2call",
        "masking-deny",
        "masking-dial-customer",
        "masking-sub-agi",
    ):
        out = e2e.asterisk.cli(f"dialplan show {context}")
        assert f"Context '{context}'" in out, out
    out = e2e.asterisk.cli("dialplan show masking-operator")
    assert "Gosub(masking-sub-agi,s,1(operator-call," in out
    out = e2e.asterisk.cli("dialplan show masking-sub-agi")
    assert "AGI(${server}/${ARG1}?secret=${MASKING_AGI_SECRET}&attempt=${attempt}," in out
    globals_out = e2e.asterisk.cli("dialplan show globals")
    assert f"MASKING_AGI=agi://127.0.0.1:{e2e.agi_port}" in globals_out


def modules_and_endpoints(e2e: E2E) -> None:
    modules = e2e.asterisk.cli("module show")
    for module in (
        "chan_pjsip.so",
        "res_pjsip.so",
        "res_agi.so",
        "app_mixmonitor.so",
        "app_dial.so",
        "app_playback.so",
        "pbx_config.so",
        "format_wav.so",
        "codec_alaw.so",
        "res_rtp_asterisk.so",
    ):
        assert module in modules, f"{module} not loaded"
    endpoints = e2e.asterisk.cli("pjsip show endpoints")
    for name in ("desk1", "desk2", "desk3", "smoke1", "carrier"):
        assert f"Endpoint:  {name}" in endpoints, endpoints
    transport = e2e.asterisk.cli("pjsip show transports")
    assert f"127.0.0.1:{e2e.asterisk.ports.sip_port}" in transport
    assert "tcp" not in transport.lower().split("transport:", 2)[-1]
    manager = e2e.asterisk.cli("manager show settings")
    assert str(e2e.asterisk.ports.ami_port) in manager


def recorded_call_through_the_carrier(e2e: E2E) -> None:
    """desk SIPp (RTP) -> Asterisk [smoke]: MixMonitor + Dial -> carrier SIPp (echo)."""
    number = "79005550101"
    carrier = Sipp(
        "carrier_uas", e2e.workdir / "sipp", port=e2e.carrier_port, rtp_echo=True, timeout=30
    ).start()
    try:
        carrier.listening()
        desk = Sipp(
            talk_scenario("desk_uac", e2e.workdir / "sipp"),
            e2e.workdir / "sipp",
            remote=e2e.sip,
            service=number,
            username="smoke1",
            password=e2e.passwords["smoke1"],
            timeout=30,
        ).run()
        carrier_result = carrier.wait(15)
    finally:
        carrier.stop()
    assert desk.ok, desk.describe() + "\n" + log_tail(e2e)
    assert carrier_result.ok, carrier_result.describe()
    invites = carrier_result.invites
    assert len(invites) == 1, carrier_result.describe()
    invite = invites[0]
    assert invite.request_uri is not None
    assert invite.request_uri.startswith(f"sip:{number}@"), invite.request_uri
    sender = invite.header("From") or ""
    assert "<sip:70000000001@" in sender, sender
    assert '"Smoke test"' in sender, sender
    assert "70000000001" in (invite.header("P-Asserted-Identity") or "")
    assert "smoke1" not in str(invite)

    recording = e2e.asterisk.monitor_dir / "smoke" / f"{number}.wav"
    wait_for_file(recording)
    assert recording.exists(), (
        f"no recording; monitor has {list(e2e.asterisk.monitor_dir.rglob('*'))}"
    )
    with wave.open(str(recording)) as handle:
        seconds = handle.getnframes() / handle.getframerate()
    assert seconds > 2.0, seconds
    level = rms(recording)
    assert level > 300, f"recording is silent (RMS {level:.0f})"


def operator_call_fails_closed_when_the_service_is_down(e2e: E2E) -> None:
    """Nothing listens on the FastAGI port: the real dialplan must deny, never dial."""
    desk, carrier_result = e2e.desk_call("desk_uac_denied", CUSTOMER, "desk3")
    assert not carrier_result.invites, "a customer was dialed:\n" + carrier_result.describe()
    assert desk.ok, desk.describe() + "\n" + log_tail(e2e)

    # answered by the denial context within ~5 s of the authenticated INVITE
    invites = [m for m in desk.sent if m.method == "INVITE"]
    answers = [m for m in desk.responses("INVITE") if m.status == 200]
    assert invites and answers, desk.describe()
    answered_after = answers[0].timestamp - invites[-1].timestamp
    assert answered_after < 5.0, f"answered after {answered_after:.1f} s"
    assert desk.requests("BYE"), "Asterisk did not hang up after the prompt"

    log = e2e.asterisk.log_file.read_text(errors="replace")
    assert "masking/unavailable" in log, log_tail(e2e)


def up_status_down_leave_nothing_behind(rootfs: Path, tmp_path: Path) -> None:
    from lab.asterisk import Ports, down, status, up

    state = tmp_path / "detached"
    instance = up(state, Ports.free(), rootfs=rootfs, log=lambda _m: None)
    try:
        assert instance.started_in is not None and instance.started_in < 5.0
        info = status(state)
        assert info["running"] and info["answering"], info
        assert (state / "asterisk.json").exists()
        again = up(state, Ports.free(), rootfs=rootfs, log=lambda _m: None)
        assert again.pid == instance.pid
    finally:
        assert down(state, log=lambda _m: None)
    assert not status(state)["running"]
    assert instance.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(instance.pid, 0)
    assert not down(state, log=lambda _m: None)


def operator_call_is_masked_bridged_and_recorded(live: Live) -> None:
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


# ---- no customer digits in the logs (tests/e2e/test_no_digits_in_logs.py) -------------
CUSTOMERS = [CUSTOMER_1, CUSTOMER_2]


def _call_back(live: Live, vn: str) -> None:
    """CUSTOMER_1 calls ``vn`` back through the carrier; desk1 (a SIPp UAS) answers."""
    e2e = live.e2e
    phone = Sipp(
        "site_phone_uas", e2e.workdir / "sipp", port=e2e.site_ports["desk1"], timeout=20
    ).start()
    try:
        phone.listening()
        customer = Sipp(
            talk_scenario("customer_uac", e2e.workdir / "sipp"),
            e2e.workdir / "sipp",
            remote=e2e.sip,
            service=vn.lstrip("+"),
            from_user=CUSTOMER_1.lstrip("+"),
            timeout=30,
        ).run()
        time.sleep(0.5)
    finally:
        phone.stop()
    assert customer.ok, customer.describe() + "\n" + log_tail(e2e)


def no_customer_digits_in_service_or_asterisk_logs(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "masking")
    caplog.set_level(logging.DEBUG, "agi")
    e2e = live.e2e
    offsets = asterisk_log_offsets(e2e.asterisk)

    vn = live.reveal("S1")
    desk, _ = e2e.desk_call("desk_uac", vn.lstrip("+"), "desk1", answered=True)
    assert desk.ok, desk.describe() + "\n" + log_tail(e2e)
    assert not sip_leaks(desk, CUSTOMERS), "customer digits at the desk phone"
    live.wait_record(lambda r: r.direction == "outbound" and r.ended_at is not None, 15)
    _call_back(live, vn)
    live.wait_record(lambda r: r.direction == "inbound" and r.ended_at is not None, 15)
    denied = denied_desk_call(e2e, vn.lstrip("+"), "desk2")  # no visibility
    assert_denied(denied, e2e, "masking/not-allowed")
    time.sleep(0.5)  # let the AMI events of the last call be logged

    # what the code itself writes at the level the service runs at (INFO)
    raw = "\n".join(caplog.handler.format(r) for r in caplog.records if r.levelno >= logging.INFO)
    assert "masking" in raw  # the service did log these calls
    leaks = log_leaks(raw, CUSTOMERS)
    assert not leaks, "customer digits in the service's log:\n" + "\n".join(leaks)
    # and everything, DEBUG too, through the filter `masking serve` installs (the AMI
    # client's DEBUG log has raw AMI events: DialString, CallerIDNum)
    last_net = redaction.RedactingFilter()
    filtered = "\n".join(caplog.handler.format(r) for r in caplog.records if last_net.filter(r))
    leaks = log_leaks(filtered, CUSTOMERS)
    assert not leaks, "customer digits in the filtered log:\n" + "\n".join(leaks)

    asterisk_leaks = asterisk_log_leaks(e2e.asterisk, CUSTOMERS, offsets)
    assert not asterisk_leaks, "customer digits in Asterisk's logs:\n" + "\n".join(
        asterisk_leaks[:20]
    )
