"""The harness of the end-to-end tests: the real Asterisk 22 (:class:`E2E`), the real
service in front of it (:class:`Live`), and what tells what one call did (the Asterisk
log from a mark on, the call records).

The instance's SIP peers all live on 127.0.0.1 (see the comment at the top of the
rendered pjsip.conf): desk phones authenticate with digest (desk1..desk3, smoke1), the
"carrier" is a SIPp UAS on :attr:`E2E.carrier_port` and inbound calls from it are
identified by the header X-MaskingService-Test-Trunk: carrier; desk1 and desk2 are also "site
phones" with a static contact on :attr:`E2E.site_ports` (a SIPp UAS answers there).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lab.asterisk import LocalAsterisk, Phone, Ports, Queue
from lab.asterisk.local import AsteriskError
from lab.sipp import SCENARIOS, Sipp, SippResult
from masking import accounts, shipments, sites
from masking.config import AsteriskRuntime, load_settings
from masking.numbers import bindings
from masking.reveal import reveal_number
from masking.runtime import RuntimeThread
from masking.service import MaskingService
from masking.storage.models import Base, Binding, CallRecord
from tests.support.calls import call_records
from tests.support.environment import free_tcp_port, session_port
from tests.support.factories import World, seeded_password_hash
from tests.support.leaks import asterisk_log_leaks, asterisk_log_offsets, sip_leaks

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

CUSTOMER_1 = "+79001234567"
CUSTOMER_2 = "+79007654321"
# site pvz1's hotline: its DID is routed (lab-carrier) to masking-hotline with the team's
# queue, whose static member is desk2 (employee1's phone, a SIPp UAS on site_ports)
HOTLINE_DID = "77272000100"
HOTLINE_QUEUE = "hotline-pvz1"
HOTLINE_AGENTS = ("desk2",)
MOSCOW = ZoneInfo("Europe/Moscow")

# The talking UACs of lab/scenarios hang up 7 s after the answer (the demo's pace); the
# tests let them talk TALK_SECONDS: a recording still holds over 2 s of echoed audio.
TALKS_7_S = 'timeout="7000" ontimeout="our_bye"'
TALK_SECONDS = 4


def talk_scenario(scenario: str, workdir: Path, seconds: float = TALK_SECONDS) -> str | Path:
    """``scenario`` hanging up ``seconds`` after the answer if it is one of the UACs that
    talk 7 s (a copy in ``workdir``), else ``scenario`` itself."""
    source = SCENARIOS / f"{scenario}.xml"
    if not source.exists():
        return scenario
    text = source.read_text()
    if text.count(TALKS_7_S) != 1:
        return scenario
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{scenario}_talk{int(seconds * 1000)}ms.xml"
    path.write_text(text.replace(TALKS_7_S, f'timeout="{int(seconds * 1000)}" ontimeout="our_bye"'))
    return path


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
        keys: dict[str, str] | None = None,
    ) -> tuple[SippResult, SippResult]:
        """A desk phone (SIPp ``scenario``, see :func:`talk_scenario`) dials ``dialed``
        while a carrier SIPp listens.

        ``answered``: wait for the carrier's call to finish (it got one); otherwise give
        the carrier a moment after the desk phone is done and stop it. ``keys``: the
        scenario's own ``-key`` values. Returns (desk result, carrier result).
        """
        carrier = Sipp(
            "carrier_uas",
            self.workdir / "sipp",
            port=self.carrier_port,
            rtp_echo=True,
            timeout=timeout,
        ).start()
        try:
            carrier.listening()
            desk = Sipp(
                talk_scenario(scenario, self.workdir / "sipp"),
                self.workdir / "sipp",
                remote=self.sip,
                service=dialed,
                username=username,
                password=password or self.passwords[username],
                keys=keys,
                timeout=timeout,
            ).run()
            if answered:
                return desk, carrier.wait(15)
            time.sleep(0.3)
        finally:
            carrier.stop()
        return desk, carrier.result(-1)

    def customer_call(
        self,
        scenario: str,
        dialed: str,
        caller: str,
        *,
        keys: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[SippResult, SippResult]:
        """A customer (SIPp ``scenario``, see :func:`talk_scenario`; through the carrier
        trunk) calls ``dialed`` while desk1's site phone SIPp answers if it rings.
        Returns (customer, site phone)."""
        phone = Sipp(
            "site_phone_uas",
            self.workdir / "sipp",
            port=self.site_ports["desk1"],
            rtp_echo=True,
            timeout=20,
        ).start()
        try:
            phone.listening()
            customer = Sipp(
                talk_scenario(scenario, self.workdir / "sipp"),
                self.workdir / "sipp",
                remote=self.sip,
                service=dialed,
                from_user=caller,
                keys=keys,
                timeout=timeout,
            ).run()
            time.sleep(0.5)
        finally:
            phone.stop()
        return customer, phone.result(-1)

    def point_dialplan_at(self, port: int) -> None:
        """Send the dialplan's FastAGI requests to ``port`` (one server: no list)."""
        self.asterisk.cli(f"dialplan set global MASKING_AGI agi://127.0.0.1:{port}")
        self.list_agi_servers()

    def list_agi_servers(self, *servers: int | str) -> None:
        """The dialplan's list of FastAGI servers (MASKING_AGI_SERVERS), in order: ports
        on 127.0.0.1 or agi:// URLs; none: the list is empty, MASKING_AGI is asked."""
        urls = [s if isinstance(s, str) else f"agi://127.0.0.1:{s}" for s in servers]
        self.asterisk.agi_servers = ",".join(urls)
        self.asterisk.cli(f'dialplan set global MASKING_AGI_SERVERS "{self.asterisk.agi_servers}"')


@contextmanager
def running_e2e(
    workdir: Path, rootfs: Path, runtime: AsteriskRuntime | None = None
) -> Iterator[E2E]:
    """The e2e Asterisk on free ports (``runtime``: None is the setting
    MASKING_ASTERISK_RUNTIME), stopped on the way out."""
    # bound anew by each call's SIPp: ports no other process is handed meanwhile
    carrier_port = session_port()
    site_ports = {"desk1": session_port(), "desk2": session_port()}
    # nothing listens here unless a test starts a FastAGI server on it
    agi_port = session_port()
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
        queues=[Queue(HOTLINE_QUEUE, HOTLINE_AGENTS, (HOTLINE_DID,))],
        extra_dialplan=SMOKE_DIALPLAN,
        rootfs=rootfs,
        runtime=runtime,
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


@contextmanager
def running_service(e2e: E2E, workdir: Path) -> Iterator[RuntimeThread]:
    """The real service (SQLite in ``workdir``, Redis under a prefix of its own) connected
    to the e2e Asterisk's AMI, stopped on the way out."""
    settings = load_settings(
        var_dir=workdir,
        database_url=f"sqlite:///{workdir / 'masking.db'}",
        redis_prefix=f"e2e:{uuid.uuid4().hex[:10]}:",
        agi_port=free_tcp_port(),
        ami_port=e2e.asterisk.ports.ami_port,
        http_port=free_tcp_port(),
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


def log_tail(e2e: E2E, lines: int = 40) -> str:
    try:
        text = e2e.asterisk.log_file.read_text(errors="replace")
    except OSError:
        return "(no Asterisk log)"
    return "\n".join(text.splitlines()[-lines:])


# ---- the real service in front of the real Asterisk ------------------------------------
class Seeded:
    """What :func:`seed_live` made, read through ``service`` (a subclass provides it with
    ``site1`` and ``site2``): site pvz1 (desk1 owner, desk2 employee without visibility;
    desk1 rings on call-backs), site pvz2 (desk3 owner), a pool of three virtual numbers,
    shipment S1 of pvz1 for CUSTOMER_1 and S2 of pvz2 for CUSTOMER_2."""

    service: MaskingService
    site1: World
    site2: World

    def reveal(self, shipment: str = "S1", staff_id: int | None = None) -> str:
        staff = staff_id or (self.site1.owner_id if shipment == "S1" else self.site2.owner_id)
        return reveal_number(
            self.service, staff_id=staff, shipment_number=shipment, reason="item_found_later"
        ).virtual_number

    def records(self) -> list[CallRecord]:
        return call_records(self.service)

    def masked_desk_call(self, e2e: E2E, scenario: str = "desk_uac_brief") -> LogMark:
        """desk1 of ``e2e``'s Asterisk dials S1's temporary number and CUSTOMER_1 (and
        only CUSTOMER_1) is rung; neither the desk phone's SIP messages nor Asterisk's
        logs (but its VERBOSE trace) got a customer's digits. The Asterisk log of it."""
        vn = self.reveal("S1").lstrip("+")
        mark = LogMark(e2e)
        offsets = asterisk_log_offsets(e2e.asterisk)
        desk, carrier = e2e.desk_call(scenario, vn, "desk1", answered=True)
        assert desk.ok, desk.describe() + "\n" + log_tail(e2e)
        [invite] = carrier.invites
        assert (invite.request_uri or "").startswith(f"sip:{CUSTOMER_1.lstrip('+')}@"), invite
        customers = [CUSTOMER_1, CUSTOMER_2]
        assert not sip_leaks(desk, customers), "customer digits at the desk phone"
        leaks = asterisk_log_leaks(e2e.asterisk, customers, offsets)
        assert not leaks, "customer digits in Asterisk's logs:\n" + "\n".join(leaks[:20])
        return mark

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


@dataclass
class Live(Seeded):
    """The masking service (FastAGI + AMI + HTTP, SQLite + Redis) in a thread of the test
    process, serving the e2e Asterisk, seeded (:class:`Seeded`)."""

    e2e: E2E
    thread: RuntimeThread
    site1: World
    site2: World

    @property
    def service(self) -> MaskingService:
        return self.thread.runtime.service


def reset(service: MaskingService) -> None:
    """Every table emptied but the reasons, and Redis with it."""
    with service.db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "reasons":
                session.execute(table.delete())
    service.pool.flush()
    bindings.restore_live_state(service)


def seed_live(service: MaskingService) -> tuple[World, World]:
    """The two sites :class:`Live` describes, their staff, shipments and pool."""
    with service.db.session() as session:
        pvz1, pvz2 = (
            sites.create_site(
                session,
                code=f"pvz{n}",
                name=f"PVZ {n}",
                timezone="Europe/Moscow",
                region="RU",
                hours="daily 00:00-24:00",
                ring_endpoints=[ring],
            )
            for n, ring in ((1, "desk1"), (2, "desk3"))
        )
        owner1 = accounts.add_staff(
            session,
            login="owner1",
            role="owner",
            site=pvz1,
            endpoint="desk1",
        )
        owner1.password_hash = seeded_password_hash("owner1-pass")  # seeded, shorter than 12
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
    return site1, site2


# ---- what one call did ---------------------------------------------------------------------
class LogMark:
    """The Asterisk log from a point on: what one call did."""

    def __init__(self, e2e: E2E) -> None:
        self.e2e = e2e
        try:
            self.offset = e2e.asterisk.log_file.stat().st_size
        except OSError:
            self.offset = 0

    def text(self) -> str:
        try:
            with open(self.e2e.asterisk.log_file, "rb") as handle:
                handle.seek(self.offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def playbacks(self) -> list[str]:
        """Every Playback() run since the mark, direct or through a true ExecIf()."""
        text = self.text()
        direct = re.finditer(r'Playback\("[^"]*", "([^"]*)"\)', text)
        guarded = re.finditer(r'ExecIf\("[^"]*", "1\?Playback\(([^)]*)\)"\)', text)
        found = sorted([*direct, *guarded], key=lambda m: m.start())
        return [m.group(1) for m in found]

    def dials(self) -> list[str]:
        """The argument string of every Dial() executed since the mark."""
        return re.findall(r'Dial\("[^"]*", "([^"]*)"\)', self.text())

    def agi_requests(self) -> list[tuple[datetime, str]]:
        """When each AGI() ran since the mark, and its argument string (URL, arguments)."""
        return [
            (datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S.%f"), m[2])
            for m in re.finditer(
                r'^\[([0-9-]+ [0-9:.]+)\].*Executing \[[^]]*\] AGI\("[^"]*", "([^"]*)"\)',
                self.text(),
                re.MULTILINE,
            )
        ]

    def wait_for(self, needle: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            time.sleep(0.1)
        return needle in self.text()


@dataclass
class DeniedCall:
    desk: SippResult
    carrier: SippResult
    log: LogMark


def denied_desk_call(e2e: E2E, dialed: str, username: str, *, timeout: float = 30) -> DeniedCall:
    """Run desk_uac_denied from ``username`` with a carrier SIPp listening."""
    mark = LogMark(e2e)
    desk, carrier = e2e.desk_call("desk_uac_denied", dialed, username, timeout=timeout)
    return DeniedCall(desk, carrier, mark)


def assert_denied(call: DeniedCall, e2e: E2E, prompt: str) -> None:
    assert not call.carrier.invites, "a customer was dialed:\n" + call.carrier.describe()
    assert call.desk.ok, call.desk.describe() + "\n" + log_tail(e2e)
    assert call.desk.requests("BYE"), "Asterisk did not hang up after the prompt"
    assert any(m.status == 200 for m in call.desk.responses("INVITE")), call.desk.describe()
    plays = call.log.playbacks()
    assert prompt in plays, f"{prompt} not played; played {plays}\n{log_tail(e2e)}"
    assert not call.log.dials(), f"Dial() ran: {call.log.dials()}"


def denied_record(
    live: Live, predicate: Callable[[CallRecord], bool] = lambda r: True
) -> CallRecord:
    return live.wait_record(lambda r: r.disposition == "denied" and predicate(r), timeout=10)


def moscow_today() -> datetime:
    return datetime.now(MOSCOW)


def expire_binding(live: Live, number: str) -> str:
    """Make the live binding of ``number`` expire: in the database and in Redis."""
    with live.service.db.session() as session:
        binding = session.scalar(select(Binding).where(Binding.virtual_number == number))
        assert binding is not None
        binding.expires_at = datetime.now(MOSCOW) - timedelta(minutes=1)
        binding_id = binding.id
    live.service.pool.release(binding_id)
    return binding_id
