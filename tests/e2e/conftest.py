"""A real Asterisk 22 for the end-to-end tests, started once per session on free ports.

The root filesystem is built (once, cached: see masking.pbx.rootfs) with mmdebstrap and
Asterisk runs under bwrap. When that is impossible the e2e tests are skipped on a
developer machine, and FAIL when the environment variable CI is set: in CI they must
never be skipped.

The instance's SIP peers all live on 127.0.0.1 (see the comment at the top of the
rendered pjsip.conf): desk phones authenticate with digest (desk1..desk3, smoke1), the
"carrier" is a SIPp UAS on :attr:`E2E.carrier_port` and inbound calls from it are
identified by the header X-MaskingService-Test-Trunk: carrier; desk1 and desk2 are also "site
phones" with a static contact on :attr:`E2E.site_ports` (a SIPp UAS answers there).
"""

from __future__ import annotations

import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from lab.asterisk import LocalAsterisk, Phone, Ports, RootfsError, ensure_rootfs
from lab.asterisk.local import AsteriskError
from lab.sipp import Sipp, SippResult, free_udp_port
from masking import accounts, shipments, sites
from masking.config import load_settings
from masking.numbers import bindings
from masking.reveal import reveal_number
from masking.runtime import RuntimeThread
from masking.service import MaskingService
from masking.storage.models import Base, CallRecord
from tests.conftest import unavailable
from tests.factories import World

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

    def desk_call(
        self,
        scenario: str,
        dialed: str,
        username: str,
        *,
        password: str | None = None,
        timeout: float = 30,
        answered: bool = False,
    ) -> tuple[SippResult, SippResult]:
        """A desk phone (SIPp ``scenario``) dials ``dialed`` while a carrier SIPp listens.

        ``answered``: wait for the carrier's call to finish (it got one); otherwise give
        the carrier a moment after the desk phone is done and stop it.
        Returns (desk result, carrier result).
        """
        carrier = Sipp(
            "carrier_uas",
            self.workdir / "sipp",
            port=self.carrier_port,
            rtp_echo=True,
            timeout=timeout,
        ).start()
        try:
            time.sleep(0.3)
            desk = Sipp(
                scenario,
                self.workdir / "sipp",
                remote=self.sip,
                service=dialed,
                username=username,
                password=password or self.passwords[username],
                timeout=timeout,
            ).run()
            if answered:
                return desk, carrier.wait(15)
            time.sleep(0.3)
        finally:
            carrier.stop()
        return desk, carrier.result(-1)


def _free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def rootfs() -> Path:
    for tool, package in (("sipp", "sip-tester"), ("bwrap", "bubblewrap")):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing (apt-get install {package})")
    try:
        return ensure_rootfs()
    except (RootfsError, OSError) as exc:
        unavailable(f"no Asterisk root filesystem: {exc}")
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


# ---- the real service in front of the real Asterisk ------------------------------------
@dataclass
class Live:
    """The masking service (FastAGI + AMI + HTTP, SQLite + Redis) serving the e2e Asterisk,
    seeded: site pvz1 (desk1 owner, desk2 employee without visibility; desk1 rings on
    call-backs), site pvz2 (desk3 owner), a pool of three virtual numbers, shipment S1 of
    pvz1 for CUSTOMER_1 and S2 of pvz2 for CUSTOMER_2."""

    e2e: E2E
    thread: RuntimeThread
    site1: World
    site2: World

    @property
    def service(self) -> MaskingService:
        return self.thread.runtime.service

    def reveal(self, shipment: str = "S1", staff_id: int | None = None) -> str:
        staff = staff_id or (self.site1.owner_id if shipment == "S1" else self.site2.owner_id)
        return reveal_number(
            self.service, staff_id=staff, shipment_number=shipment, reason="item_found_later"
        ).virtual_number

    def records(self) -> list[CallRecord]:
        with self.service.db.session() as session:
            return list(session.scalars(select(CallRecord).order_by(CallRecord.started_at)))

    def wait_record(
        self, predicate: Callable[[CallRecord], bool], timeout: float = 10.0
    ) -> CallRecord:
        deadline = time.monotonic() + timeout
        while True:
            matching = [r for r in self.records() if predicate(r)]
            if matching:
                return matching[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no such call record; have {self.records()!r}")
            time.sleep(0.2)


CUSTOMER_1 = "+79001234567"
CUSTOMER_2 = "+79007654321"


@pytest.fixture(scope="session")
def live_service(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeThread]:
    workdir = tmp_path_factory.mktemp("live")
    settings = load_settings(
        var_dir=workdir,
        database_url=f"sqlite:///{workdir / 'masking.db'}",
        redis_prefix=f"e2e:{uuid.uuid4().hex[:10]}:",
        agi_port=_free_tcp_port(),
        ami_port=e2e.asterisk.ports.ami_port,
        http_port=_free_tcp_port(),
        recordings_dir=e2e.asterisk.monitor_dir,
        agi_request_timeout=2.0,
    )
    thread = RuntimeThread(settings).start()
    try:
        assert thread.runtime.ami is not None
        thread.run(thread.runtime.ami.wait_connected(15))
        yield thread
    finally:
        thread.stop()
        thread.runtime.service.pool.flush()


def _point_dialplan_at(e2e: E2E, port: int) -> None:
    e2e.asterisk.cli(f"dialplan set global MASKING_AGI agi://127.0.0.1:{port}")


def _reset(service: MaskingService) -> None:
    with service.db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "reasons":
                session.execute(table.delete())
    service.pool.flush()
    bindings.restore_live_state(service)


@pytest.fixture
def live(e2e: E2E, live_service: RuntimeThread) -> Iterator[Live]:
    service = live_service.runtime.service
    _reset(service)
    with service.db.session() as session:
        pvz1 = sites.create_site(
            session,
            code="pvz1",
            name="PVZ 1",
            timezone="Europe/Moscow",
            region="RU",
            hours="daily 00:00-24:00",
            ring_endpoints=["desk1"],
        )
        pvz2 = sites.create_site(
            session,
            code="pvz2",
            name="PVZ 2",
            timezone="Europe/Moscow",
            region="RU",
            hours="daily 00:00-24:00",
            ring_endpoints=["desk3"],
        )
        owner1 = accounts.add_staff(
            session,
            login="owner1",
            role="owner",
            site=pvz1,
            password="owner1-pass",
            endpoint="desk1",
        )
        employee1 = accounts.add_staff(
            session, login="employee1", role="employee", site=pvz1, endpoint="desk2"
        )
        owner2 = accounts.add_staff(
            session, login="owner2", role="owner", site=pvz2, endpoint="desk3"
        )
        shipments.add_shipment(session, pvz1, "S1", CUSTOMER_1)
        shipments.add_shipment(session, pvz2, "S2", CUSTOMER_2)
        site1 = World(pvz1.id, owner1.id, employee1.id, owner1.id)
        site2 = World(pvz2.id, owner2.id, owner2.id, owner2.id)
    bindings.add_pool_numbers(service, ["+74951110001", "+74951110002", "+74951110003"], "RU")
    assert live_service.runtime.agi is not None
    _point_dialplan_at(e2e, live_service.runtime.agi.port)
    try:
        yield Live(e2e, live_service, site1, site2)
    finally:
        _point_dialplan_at(e2e, e2e.agi_port)
