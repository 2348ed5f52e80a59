"""A real Asterisk 22 for the end-to-end tests, started once per session on free ports.

The root filesystem is built (once, cached: see masking.pbx.rootfs) with mmdebstrap and
Asterisk runs under bwrap. When that is impossible the e2e tests are skipped on a
developer machine, and FAIL when the environment variable CI is set: in CI they must
never be skipped.

The instance's SIP peers all live on 127.0.0.1 (see the comment at the top of the
rendered pjsip.conf): desk phones authenticate with digest (desk1..desk3, smoke1), the
"carrier" is a SIPp UAS on :attr:`E2E.carrier_port` and inbound calls from it are
identified by the header X-Masking-Test-Trunk: carrier; desk1 and desk2 are also "site
phones" with a static contact on :attr:`E2E.site_ports` (a SIPp UAS answers there).
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from masking.pbx import LocalAsterisk, Phone, Ports, RootfsError, ensure_rootfs
from masking.pbx.local import AsteriskError
from tests.e2e.sipp import free_udp_port

IN_CI = bool(os.environ.get("CI"))

# A TEST-ONLY context (not in dialplan/): record and dial the carrier, no AGI involved.
SMOKE_DIALPLAN = """\
[smoke]
exten => _X.,1,NoOp(smoke test call)
 same => n,Set(CALLERID(num)=70000000001)
 same => n,Set(CALLERID(name)=Smoke test)
 same => n,MixMonitor(smoke/${FILTER(0-9,${EXTEN})}.wav,b)
 same => n,Dial(PJSIP/${FILTER(0-9,${EXTEN})}@carrier,20)
 same => n,Hangup()
"""

PHONE_PASSWORDS = {
    "desk1": "desk1-secret",
    "desk2": "desk2-secret",
    "desk3": "desk3-secret",
    "smoke1": "smoke1-secret",
}


@dataclass
class E2E:
    asterisk: LocalAsterisk
    workdir: Path
    carrier_port: int
    agi_port: int
    site_ports: dict[str, int] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=lambda: dict(PHONE_PASSWORDS))

    @property
    def sip(self) -> str:
        return self.asterisk.sip_address


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"e2e: {message} (CI is set: e2e tests must not be skipped)")
    pytest.skip(f"e2e: {message}")


def _free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def rootfs() -> Path:
    for tool, package in (("sipp", "sip-tester"), ("bwrap", "bubblewrap")):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is missing (apt-get install {package})")
    try:
        return ensure_rootfs()
    except (RootfsError, OSError) as exc:
        _unavailable(f"no Asterisk root filesystem: {exc}")
        raise


@pytest.fixture(scope="session")
def e2e(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    workdir = tmp_path_factory.mktemp("e2e")
    carrier_port = free_udp_port()
    site_ports = {"desk1": free_udp_port(), "desk2": free_udp_port()}
    # nothing listens here unless a test starts a FastAGI server on it
    agi_port = _free_tcp_port()
    phones = [
        Phone("desk1", PHONE_PASSWORDS["desk1"], contact=f"127.0.0.1:{site_ports['desk1']}"),
        Phone("desk2", PHONE_PASSWORDS["desk2"], contact=f"127.0.0.1:{site_ports['desk2']}"),
        Phone("desk3", PHONE_PASSWORDS["desk3"]),
        Phone("smoke1", PHONE_PASSWORDS["smoke1"], context="smoke"),
    ]
    asterisk = LocalAsterisk(
        workdir / "asterisk",
        Ports.free(),
        agi=f"127.0.0.1:{agi_port}",
        carrier=f"127.0.0.1:{carrier_port}",
        phones=phones,
        extra_dialplan=SMOKE_DIALPLAN,
        rootfs=rootfs,
    )
    try:
        asterisk.start()
    except AsteriskError as exc:
        asterisk.stop()
        pytest.fail(f"Asterisk did not start: {exc}")
    try:
        yield E2E(asterisk, workdir, carrier_port, agi_port, site_ports)
    finally:
        asterisk.stop()
