"""The real Asterisk boots with our configuration and dialplan, carries a recorded call
with audio, and fails closed when the masking service cannot be reached."""

from __future__ import annotations

import os
import re
import wave
from pathlib import Path

import pytest

from lab.sipp import Sipp
from tests.support.audio import rms, wait_for_file
from tests.support.e2e import E2E, log_tail, talk_scenario

pytestmark = pytest.mark.e2e

CUSTOMER = "79001234567"


def test_boots_with_the_project_dialplan(e2e: E2E) -> None:
    for context in (
        "masking-operator",
        "masking-inbound",
        "masking-click2call",
        "masking-deny",
        "masking-dial-customer",
    ):
        out = e2e.asterisk.cli(f"dialplan show {context}")
        assert f"Context '{context}'" in out, out
    out = e2e.asterisk.cli("dialplan show masking-operator")
    assert "AGI(${MASKING_AGI}/operator-call" in out
    globals_out = e2e.asterisk.cli("dialplan show globals")
    assert f"MASKING_AGI=agi://127.0.0.1:{e2e.agi_port}" in globals_out


def test_modules_and_endpoints(e2e: E2E) -> None:
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


def test_recorded_call_through_the_carrier(e2e: E2E) -> None:
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


def test_operator_call_fails_closed_when_the_service_is_down(e2e: E2E) -> None:
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


def test_inbound_call_fails_closed_when_the_service_is_down(e2e: E2E) -> None:
    """A customer calling a DID while the service is down hears the denial; no site
    phone rings."""
    customer, phone = e2e.customer_call("customer_uac_denied", "74950000001", CUSTOMER)
    assert not phone.invites, "a site phone rang"
    assert customer.ok, customer.describe() + "\n" + log_tail(e2e)
    assert customer.requests("BYE")


def _rejected_call(e2e: E2E, service: str, username: str, password: str) -> tuple[int, bool]:
    """Run desk_uac_rejected; return the final status and whether the carrier got an
    INVITE."""
    desk, carrier = e2e.desk_call(
        "desk_uac_rejected", service, username, password=password, timeout=10
    )
    assert desk.ok, desk.describe() + "\n" + log_tail(e2e)
    finals = [m.status for m in desk.responses("INVITE") if m.status and m.status >= 300]
    assert not any(m.status == 200 for m in desk.responses("INVITE")), desk.describe()
    return finals[-1], bool(carrier.invites)


def test_unauthenticated_desk_phone_is_refused(e2e: E2E) -> None:
    """A wrong password never reaches the dialplan: no INVITE at the carrier."""
    status, dialed = _rejected_call(e2e, "79005550102", "desk1", "wrong-password")
    assert status in (401, 403), status
    assert not dialed


def test_dialed_string_that_is_not_a_number_is_not_dialed(e2e: E2E) -> None:
    status, dialed = _rejected_call(e2e, "*79005550103", "desk3", e2e.passwords["desk3"])
    assert status == 404, status
    assert not dialed


def test_admin_samples_load_in_asterisk(rootfs: Path, tmp_path: Path) -> None:
    """dialplan/pjsip.sample.conf and manager.sample.conf are valid for Asterisk 22."""
    from lab.asterisk.local import DIALPLAN_DIR, LocalAsterisk

    class WithSamples(LocalAsterisk):
        def render(self) -> None:
            super().render()
            pjsip = (DIALPLAN_DIR / "pjsip.sample.conf").read_text()
            pjsip = pjsip.replace("0.0.0.0:5060", f"127.0.0.1:{self.ports.sip_port}")
            (self.paths.etc / "pjsip.conf").write_text(pjsip)
            manager = (DIALPLAN_DIR / "manager.sample.conf").read_text()
            manager = manager.replace("port = 5038", f"port = {self.ports.ami_port}")
            (self.paths.etc / "manager.conf").write_text(manager)

    with WithSamples(tmp_path / "samples", rootfs=rootfs) as asterisk:
        endpoints = asterisk.cli("pjsip show endpoints")
        assert "Endpoint:  carrier" in endpoints
        assert "Endpoint:  pvz0001-desk1" in endpoints
        assert "Match: 203.0.113.10/32" in endpoints
        user = asterisk.cli("manager show user masking")
        assert "read perm: system,call,user\n" in user, user
        assert "write perm: reporting,originate\n" in user, user
        reload_user = asterisk.cli("manager show user masking-reload")
        write = reload_user.split("write perm:")[1].splitlines()[0]
        assert set(write.strip().split(",")) == {"command", "reporting"}, reload_user
        for endpoint in ("carrier", "pvz0001-desk1"):
            shown = asterisk.cli(f"pjsip show endpoint {endpoint}")
            assert re.search(r"send_diversion +: false", shown), shown
            assert re.search(r"send_history_info +: false", shown), shown
    assert not asterisk.running()


def test_up_status_down_leave_nothing_behind(rootfs: Path, tmp_path: Path) -> None:
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
