"""The real Asterisk boots with our configuration and dialplan, carries a recorded call
with audio, and fails closed when the masking service cannot be reached."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import smoke
from tests.support.e2e import E2E, log_tail

pytestmark = pytest.mark.e2e

CUSTOMER = "79001234567"


def test_boots_with_the_project_dialplan(e2e: E2E) -> None:
    smoke.boots_with_the_project_dialplan(e2e)


def test_modules_and_endpoints(e2e: E2E) -> None:
    smoke.modules_and_endpoints(e2e)


def test_recorded_call_through_the_carrier(e2e: E2E) -> None:
    smoke.recorded_call_through_the_carrier(e2e)


def test_operator_call_fails_closed_when_the_service_is_down(e2e: E2E) -> None:
    smoke.operator_call_fails_closed_when_the_service_is_down(e2e)


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
    smoke.up_status_down_leave_nothing_behind(rootfs, tmp_path)
