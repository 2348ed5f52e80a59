"""The fault suite: calls through the real Asterisk 22 at a steady rate while one part of
the deployment fails, one fault per run, and what became of every call.

The deployment, all on 127.0.0.1 and private to the suite: a PostgreSQL cluster and a
Redis server of its own (:mod:`lab.faults.parts`, :mod:`lab.private_redis`), the service
as ``masking serve`` processes (:mod:`lab.instances`), the lab Asterisk with the shipped
dialplan, a SIPp carrier (``fault_carrier_uas.xml``) and SIPp desk phones
(``fault_desk_uac.xml``): eight sites, one desk phone each, every attempt dialing the
temporary number of its own shipment and customer.

Per fault the desk phones place ``rate`` calls a second for ``seconds`` (short calls:
held 1 s, no media); ``fault_at`` seconds in, the part breaks, stays broken for
``down_for`` seconds and comes back; nothing tells the service (it reconnects and
rebuilds by itself). The faults:

``redis``     redis-server stopped (SIGTERM) and started again: it keeps nothing on disk,
              so the service finds it empty and rebuilds the live state from the
              database (``masking.numbers.bindings.with_restore``).
``postgres``  ``pg_ctl stop -m fast`` (every session ended, as an admin's restart or a
              failover does), then ``pg_ctl start``.
``ami``       the AMI connection cut from Asterisk's side for ``down_for`` seconds:
              every session of the service's AMI user is kicked (``manager kick
              session``) as soon as it appears, so each reconnection is cut again
              until the outage ends. Calls go on meanwhile; the events of their ends
              are lost with the sessions, so the service must close their records by
              reconciling. (Switching the manager off with ``manager reload`` would
              refuse the logins instead, but reloading the manager under load left a
              bridged channel hung in Asterisk 22 here: that tests Asterisk, not us.)
``asterisk``  Asterisk stopped (``core stop now``: every call on it cut) and started
              again on the same configuration and ports.
``instance``  one of two service instances killed with SIGKILL (``kill -9``) and
              started again after ``down_for``; the dialplan asks the next FastAGI
              server when one is down (needs the dialplan's server list).

The report of a run (:class:`lab.faults.outcomes.FaultReport`) counts the attempts
completed, denied (by reason), dropped and failed; the caller IDs the carrier saw that
were not the attempt's temporary number (unmasked); customers rung twice for their one
attempt; customers rung without a call record; and call records still in progress once
the suite waited up to ``settle`` seconds after recovery (polled until none is: a
record never goes back to in progress).

    python -m lab.faults                          # every fault, 8 calls/s, 60 s each
    python -m lab.faults --faults redis,ami --seconds 30
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.asterisk.local import AsteriskError, LocalAsterisk, Phone, Ports
from lab.asterisk.rootfs import ensure_rootfs
from lab.faults import outcomes
from lab.faults.outcomes import Attempt, FaultReport
from lab.faults.parts import PrivatePostgres
from lab.instances import ServiceInstances
from lab.private_redis import PrivateRedis
from lab.processes import stop_process
from lab.sipp import SCENARIOS, free_media_port, free_udp_port, sipp_binary

FAULTS = ("redis", "postgres", "ami", "asterisk", "instance")
TITLES = {
    "redis": "Redis restarted",
    "postgres": "PostgreSQL restarted",
    "ami": "AMI connection cut",
    "asterisk": "Asterisk restarted",
    "instance": "service instance killed (kill -9)",
}
# instances of the deployment while a fault runs (the instance fault kills one of two)
INSTANCES = {"instance": 2}

DESK_SCENARIO = SCENARIOS / "fault_desk_uac.xml"
CARRIER_SCENARIO = SCENARIOS / "fault_carrier_uas.xml"
REGION = "RU"
REASON = "item_found_later"
POOL_FIRST = 74950010000  # the pool: +7 495 001-00-00 upwards
CUSTOMER_PREFIX = "7900"  # customers: +7 900 <fault><attempt, 6 digits>
# attempts started this long after recovery count as "after recovery": the calls in
# flight when the part came back, and the service's reconnection, are behind them
RECOVERY_GRACE_S = 5.0


class FaultSuiteError(RuntimeError):
    """The suite could not set up or run a step (not a measured failure)."""


@dataclass
class Options:
    faults: tuple[str, ...] = FAULTS
    rate: float = 8.0  # calls per second
    seconds: float = 60.0  # of calls per fault
    fault_at: float = 15.0  # s after the first call
    down_for: float = 5.0  # s the part stays broken
    settle: float = 60.0  # s after recovery the suite waits for in-progress records
    desks: int = 8  # sites, one desk phone each
    workdir: Path | None = None
    keep: bool = False
    json: bool = False  # the command line prints the reports as JSON lines too
    say: Callable[[str], Any] = field(default=print, repr=False)

    @property
    def attempts(self) -> int:
        return max(1, round(self.rate * self.seconds))


class FaultSuite:
    """The private deployment, seeded; :meth:`run` runs one fault and reports it."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.say = options.say
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if options.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="masking-faults-")
            self.workdir = Path(self._tmp.name)
        else:
            self.workdir = Path(options.workdir).resolve()
            self.workdir.mkdir(parents=True, exist_ok=True)
        self.postgres: PrivatePostgres | None = None
        self.redis: PrivateRedis | None = None
        self.asterisk: LocalAsterisk | None = None
        self.instances: ServiceInstances | None = None
        self.service: Any = None  # MaskingService of this process: seeding, records
        self.carrier_port = free_udp_port()
        self.phones = [
            Phone(f"fault-desk{n:02d}", f"fault-desk{n:02d}-secret")
            for n in range(1, options.desks + 1)
        ]
        self._ami_cut: _AmiCut | None = None
        self._serving = 1  # instances serving, the ones the dialplan asks (in index order)
        self.sites: list[tuple[int, int]] = []  # (site id, owner staff id) per desk phone
        self.pool: list[str] = []
        self._runs = 0

    # ---- set up --------------------------------------------------------------------------
    def start(self) -> None:
        options = self.options
        sipp_binary()
        rootfs = ensure_rootfs(log=lambda m: self.say(f"  {m}"))
        self.postgres = PrivatePostgres()
        self.postgres.create()
        self.redis = PrivateRedis()
        self.redis.start()
        self.say(f"  PostgreSQL on {self.postgres.port}, Redis on {self.redis.port} (private)")
        self._seed_deployment()
        self.asterisk = LocalAsterisk(
            self.workdir / "asterisk",
            Ports.free(rtp_ports=200),
            carrier=f"127.0.0.1:{self.carrier_port}",
            phones=self.phones,
            rootfs=rootfs,
            log=lambda m: self.say(f"  {m}"),
        )
        self.instances = ServiceInstances(
            max(INSTANCES.get(fault, 1) for fault in options.faults),
            self.workdir,
            database_url=self.postgres.url,
            redis_url=self.redis.url,
            ami_port=self.asterisk.ports.ami_port,
            ami_username=self.asterisk.ami_username,
            ami_secret=self.asterisk.ami_secret,
            recordings_dir=self.asterisk.monitor_dir,
        )
        self._start_asterisk()
        self.instances.serve(1)
        self._wait_ami_sessions(1)
        self.say(f"  masking serve #0 (pid {self.instances[0].pid}) up; {options.desks} sites")

    def _start_asterisk(self) -> None:
        assert self.asterisk is not None and self.instances is not None
        self.asterisk.start()
        self.point_dialplan(self._serving)

    def point_dialplan(self, count: int) -> None:
        """The dialplan's FastAGI servers (``MASKING_AGI_SERVERS``): the first ``count``
        instances in order (the dialplan tries the next when one is down; issue 14
        item 2), and the first alone in ``MASKING_AGI`` (what a dialplan without the
        list asks)."""
        assert self.asterisk is not None and self.instances is not None
        self._serving = count
        self.instances.point(self.asterisk, count)
        self.asterisk.cli(f"dialplan set global MASKING_AGI {self.instances[0].agi_url}")

    def _seed_deployment(self) -> None:
        """The schema, the sites (open around the clock, one owner with a desk phone
        each) and a pool large enough for every attempt of every fault to have its own
        binding (bindings of a site need distinct numbers; sites share the pool)."""
        from masking import accounts, sites
        from masking.config import load_settings
        from masking.numbers import bindings
        from masking.service import MaskingService

        assert self.postgres is not None and self.redis is not None
        settings = load_settings(
            var_dir=self.workdir / "suite",
            database_url=self.postgres.url,
            redis_url=self.redis.url,
        )
        self.service = MaskingService.from_settings(settings)
        self.service.db.upgrade()
        with self.service.db.session() as session:
            for n, phone in enumerate(self.phones, start=1):
                site = sites.create_site(
                    session,
                    code=f"fault-{n:02d}",
                    name=f"Fault suite site {n}",
                    timezone="Europe/Moscow",
                    region=REGION,
                    hours="daily 00:00-24:00",
                    ring_endpoints=[phone.name],
                )
                owner = accounts.add_staff(
                    session,
                    login=f"fault-owner{n:02d}",
                    role="owner",
                    site=site,
                    endpoint=phone.name,
                )
                session.flush()
                self.sites.append((site.id, owner.id))
        per_site = -(-self.options.attempts * len(self.options.faults) // len(self.phones))
        self.pool = [f"+{POOL_FIRST + n}" for n in range(per_site + 8)]
        bindings.add_pool_numbers(self.service, self.pool, REGION)

    def _seed_attempts(self, number: int) -> list[Attempt]:
        """One shipment, customer and revealed temporary number per attempt (attempt
        ``i`` dials from desk phone ``i mod desks``)."""
        from sqlalchemy import select

        from masking import shipments
        from masking.reveal import reveal_number
        from masking.storage.models import Shipment, Site

        count = self.options.attempts
        per_site: dict[int, list[tuple[int, str, str]]] = {}
        for i in range(count):
            customer = f"{CUSTOMER_PREFIX}{number}{i:06d}"
            per_site.setdefault(i % len(self.phones), []).append(
                (i, f"FLT{number}-{i:06d}", customer)
            )
        ids: dict[str, int] = {}
        with self.service.db.session() as session:
            for desk, rows in per_site.items():
                site = session.get(Site, self.sites[desk][0])
                assert site is not None
                text = "shipment,phone\n" + "".join(f"{s},+{c}\n" for _, s, c in rows)
                shipments.import_shipments(session, site, text)
            session.flush()
            wanted = [s for rows in per_site.values() for _, s, _ in rows]
            for shipment_id, external in session.execute(
                select(Shipment.id, Shipment.external_number).where(
                    Shipment.external_number.in_(wanted)
                )
            ):
                ids[external] = shipment_id
        attempts: list[Attempt] = []
        for desk, rows in per_site.items():
            site_id, owner_id = self.sites[desk]
            for i, external, customer in rows:
                virtual = reveal_number(
                    self.service, staff_id=owner_id, shipment_number=external, reason=REASON
                ).virtual_number
                attempts.append(
                    Attempt(
                        index=i,
                        endpoint=self.phones[desk].name,
                        site_id=site_id,
                        virtual_number=virtual,
                        customer_digits=customer,
                        shipment_id=ids[external],
                    )
                )
        attempts.sort(key=lambda a: a.index)
        return attempts

    # ---- the instances ------------------------------------------------------------------
    def _wait_ami_sessions(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` sessions of the service's AMI user are logged in."""
        assert self.asterisk is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self._ami_sessions()) >= count:
                return
            time.sleep(0.2)
        raise FaultSuiteError(f"{count} service AMI sessions not up within {timeout:g} s")

    def _ami_sessions(self) -> list[str]:
        """The file descriptors of the service's AMI sessions (``manager show connected``)."""
        assert self.asterisk is not None
        out = self.asterisk.cli("manager show connected")
        user = re.escape(self.asterisk.ami_username)
        # Username, IP address, Start, Elapsed, FileDes, ...
        return re.findall(rf"^\s*{user}\s+\S+\s+\d+\s+\d+\s+(\d+)\s", out, re.M)

    def kick_ami_sessions(self) -> int:
        """``manager kick session`` for every session of the service's AMI user."""
        assert self.asterisk is not None
        kicked = 0
        for fd in self._ami_sessions():
            with contextlib.suppress(AsteriskError):
                self.asterisk.cli(f"manager kick session {fd}")
                kicked += 1
        return kicked

    def _use_instances(self, count: int) -> None:
        assert self.instances is not None
        self.instances.serve(count)
        self.point_dialplan(count)
        self._wait_ami_sessions(count)

    # ---- the faults -------------------------------------------------------------------
    def _break(self, fault: str) -> None:
        assert self.asterisk is not None and self.instances is not None
        assert self.redis is not None and self.postgres is not None
        if fault == "redis":
            self.redis.stop()
        elif fault == "postgres":
            self.postgres.stop()
        elif fault == "ami":
            self._ami_cut = _AmiCut(self)
            self._ami_cut.start()
        elif fault == "asterisk":
            self.asterisk.stop()
        elif fault == "instance":
            self.instances.kill(0)
        else:
            raise FaultSuiteError(f"no fault {fault!r}")

    def _repair(self, fault: str) -> None:
        assert self.asterisk is not None and self.instances is not None
        assert self.redis is not None and self.postgres is not None
        if fault == "redis":
            self.redis.start()
        elif fault == "postgres":
            self.postgres.start()
        elif fault == "ami" and self._ami_cut is not None:
            self._ami_cut.stop()
            self._ami_cut = None
        elif fault == "asterisk":
            self._start_asterisk()
        elif fault == "instance":
            self.instances.restart(0)

    # ---- one run ------------------------------------------------------------------------
    def run(self, fault: str) -> FaultReport:
        assert self.asterisk is not None and self.instances is not None
        options = self.options
        self._runs += 1
        self._use_instances(INSTANCES.get(fault, 1))
        directory = self.workdir / f"run-{self._runs}-{fault}"
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        attempts = self._seed_attempts(self._runs)
        by_dialed = {(a.endpoint, a.virtual_number): a for a in attempts}
        by_customer = {a.customer_digits: a for a in attempts}
        passwords = {p.name: p.password for p in self.phones}
        (directory / "desks.csv").write_text(
            "SEQUENTIAL\n"
            + "".join(
                f"{a.endpoint};{passwords[a.endpoint]};"
                f"[authentication username={a.endpoint} password={passwords[a.endpoint]}];"
                f"{a.virtual_number}\n"
                for a in attempts
            )
        )
        self.asterisk.wait_idle(quiet=True)
        lifetime = options.seconds + 60
        carrier = self._sipp(directory, "carrier", self._carrier_command(directory, lifetime))
        desk: subprocess.Popen[bytes] | None = None
        try:
            time.sleep(0.5)
            if carrier.poll() is not None:
                raise FaultSuiteError(f"the carrier SIPp exited: see {directory}/carrier.out")
            started_at = time.time()
            desk = self._sipp(directory, "desk", self._desk_command(directory, lifetime))
            time.sleep(max(0.0, started_at + options.fault_at - time.time()))
            broken_at = time.time()
            self._break(fault)
            time.sleep(options.down_for)
            ami_cut = self._ami_cut  # the repair forgets it; its count is the cut's evidence
            self._repair(fault)
            recovered_at = time.time()
            kicked = f", {ami_cut.kicked} AMI sessions kicked" if ami_cut is not None else ""
            self.say(
                f"  {fault}: broken at {broken_at - started_at:.1f} s, "
                f"back at {recovered_at - started_at:.1f} s{kicked}"
            )
            try:
                desk.wait(timeout=lifetime + 15)
            except subprocess.TimeoutExpired:
                stop_process(desk)
            self.asterisk.wait_idle(timeout=20, quiet=True)
            time.sleep(1.0)  # the carrier's last BYEs
        finally:
            stop_process(desk)
            stop_process(carrier)
        outcomes.read_desk_log(directory / "desk.log", by_dialed)
        strangers = outcomes.read_carrier_log(directory / "carrier.log", by_customer)
        in_progress, checked_after = self._settle(started_at, recovered_at)
        self._read_records(attempts, started_at)
        report = FaultReport(
            fault=fault,
            title=TITLES[fault],
            rate=options.rate,
            seconds=options.seconds,
            started_at=started_at,
            broken_at=broken_at,
            recovered_at=recovered_at,
            stranger_invites=strangers,
            in_progress=in_progress,
            checked_after=checked_after,
        )
        summarise(report, attempts)
        return report

    def _settle(self, since: float, recovered_at: float) -> tuple[int, float]:
        """Records of this run still in progress: polled until none is or ``settle`` s
        after recovery. Returns (count, s after recovery of the last look)."""
        deadline = recovered_at + self.options.settle
        while True:
            count = self._in_progress(since)
            now = time.time()
            if count == 0 or now >= deadline:
                return count, now - recovered_at
            time.sleep(min(1.0, max(0.1, deadline - now)))

    def _in_progress(self, since: float) -> int:
        from sqlalchemy import func, select

        from masking.states import Disposition
        from masking.storage.models import CallRecord

        with self.service.db.session() as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        CallRecord.started_at >= datetime.fromtimestamp(since - 1, UTC),
                        CallRecord.disposition == Disposition.IN_PROGRESS,
                    )
                )
                or 0
            )

    def _read_records(self, attempts: list[Attempt], since: float) -> None:
        from sqlalchemy import select

        from masking.storage.models import CallRecord

        by_shipment = {a.shipment_id: a for a in attempts}
        by_dialed = {(a.site_id, a.virtual_number): a for a in attempts}
        with self.service.db.session() as session:
            rows = session.execute(
                select(
                    CallRecord.shipment_id,
                    CallRecord.site_id,
                    CallRecord.virtual_number,
                    CallRecord.disposition,
                    CallRecord.deny_reason,
                ).where(CallRecord.started_at >= datetime.fromtimestamp(since - 1, UTC))
            ).all()
        for shipment_id, site_id, number, disposition, reason in rows:
            attempt = by_shipment.get(shipment_id) or by_dialed.get((site_id, number))
            if attempt is not None:
                attempt.records.append((disposition, reason))

    # ---- SIPp ---------------------------------------------------------------------------
    def _sipp(self, directory: Path, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(directory / f"{name}.out", "wb") as out:
            return subprocess.Popen(
                argv,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=out,
                start_new_session=True,
            )

    def _carrier_command(self, directory: Path, lifetime: float) -> list[str]:
        return [
            sipp_binary(),
            "-sf",
            str(CARRIER_SCENARIO),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.carrier_port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(free_media_port()),
            "-nostdin",
            "-trace_logs",
            "-log_file",
            str(directory / "carrier.log"),
            "-trace_err",
            "-error_file",
            str(directory / "carrier.errors.log"),
            "-timeout",
            f"{int(lifetime + 30)}s",
        ]

    def _desk_command(self, directory: Path, lifetime: float) -> list[str]:
        assert self.asterisk is not None
        rate = self.options.rate
        return [
            sipp_binary(),
            "-sf",
            str(DESK_SCENARIO),
            self.asterisk.sip_address,
            "-i",
            "127.0.0.1",
            "-p",
            str(free_udp_port()),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(free_media_port()),
            "-inf",
            str(directory / "desks.csv"),
            "-r",
            f"{rate:g}",
            "-rp",
            "1000",
            "-m",
            str(self.options.attempts),
            "-l",
            str(max(50, int(rate * 30))),
            "-recv_timeout",
            "10000",
            "-nostdin",
            "-trace_logs",
            "-log_file",
            str(directory / "desk.log"),
            "-trace_err",
            "-error_file",
            str(directory / "desk.errors.log"),
            "-timeout",
            f"{int(lifetime)}s",
        ]

    # ---- tear down ----------------------------------------------------------------------
    def stop(self) -> None:
        if self.instances is not None:
            self.instances.stop_all()
        if self.asterisk is not None:
            self.asterisk.stop()
        if self.service is not None:
            with contextlib.suppress(Exception):
                self.service.close()
        if self.redis is not None:
            self.redis.destroy()
        if self.postgres is not None:
            self.postgres.destroy()
        if self._tmp is not None and not self.options.keep:
            self._tmp.cleanup()

    def __enter__(self) -> FaultSuite:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _AmiCut:
    """Kicks the service's AMI sessions as they appear, until stopped (the outage)."""

    def __init__(self, suite: FaultSuite) -> None:
        self.suite = suite
        self.kicked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._cut, name="ami-cut", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _cut(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(AsteriskError):
                self.kicked += self.suite.kick_ami_sessions()
            self._stop.wait(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def summarise(report: FaultReport, attempts: Sequence[Attempt]) -> None:
    """Fill the report's counts from the attempts (their logs and records read)."""
    from_after = report.recovered_at + RECOVERY_GRACE_S
    after = [a for a in attempts if a.started is not None and a.started >= from_after]
    during = [
        a
        for a in attempts
        if a.started is not None and report.broken_at <= a.started < report.recovered_at
    ]
    not_completed: list[float] = []
    for attempt in attempts:
        outcomes.classify(attempt)
        report.attempted += attempt.started is not None
        if attempt.outcome == "completed":
            report.completed += 1
        elif attempt.outcome == "denied":
            report.denied[attempt.reason] += 1
        elif attempt.outcome == "dropped":
            report.dropped += 1
        elif attempt.started is not None:
            report.failed += 1
        if attempt.outcome != "completed" and attempt.started is not None:
            not_completed.append(attempt.started - report.broken_at)
        report.unmasked += outcomes.unmasked(attempt)
        report.rung_twice += len(attempt.carrier_calls) > 1
        # a customer rung needs the record of a decision to dial (not of a denial)
        dialed = any(disposition != "denied" for disposition, _ in attempt.records)
        report.records_missing += attempt.reached_carrier and not dialed
    report.after_recovery = (len(after), sum(a.outcome == "completed" for a in after))
    report.during_fault = (len(during), sum(a.outcome == "completed" for a in during))
    if not_completed:
        report.not_completed_window = (min(not_completed), max(not_completed))


def run_suite(options: Options) -> list[FaultReport]:
    reports: list[FaultReport] = []
    with FaultSuite(options) as suite:
        for fault in options.faults:
            options.say(f"  {TITLES[fault]}: {options.rate:g} calls/s for {options.seconds:g} s")
            reports.append(suite.run(fault))
            options.say(outcomes.describe(reports[-1]))
    return reports


def _faults(text: str) -> tuple[str, ...]:
    faults = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = set(faults) - set(FAULTS)
    if not faults or unknown or len(set(faults)) != len(faults):
        raise argparse.ArgumentTypeError(f"faults: comma-separated, each once, of {FAULTS}")
    return faults


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="masking bench faults", description=" ".join((__doc__ or "").split("\n\n")[0].split())
    )
    parser.add_argument("--faults", type=_faults, default=FAULTS, help=",".join(FAULTS))
    parser.add_argument("--rate", type=float, default=8.0, help="calls/s (1-50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="of calls per fault")
    parser.add_argument("--fault-at", type=float, default=15.0, help="s after the first call")
    parser.add_argument("--down-for", type=float, default=5.0, help="s the part stays broken")
    parser.add_argument("--workdir", type=Path, default=None, help="kept; default: a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    parser.add_argument("--json", action="store_true", help="reports as JSON lines at the end")
    args = parser.parse_args(argv)
    if not 1 <= args.rate <= 50 or not 10 <= args.seconds <= 600:
        parser.error("--rate 1..50, --seconds 10..600")
    if not (args.fault_at > 0 and args.fault_at + args.down_for < args.seconds):
        parser.error("the fault must begin and end within --seconds")
    options = Options(
        faults=args.faults,
        rate=args.rate,
        seconds=args.seconds,
        fault_at=args.fault_at,
        down_for=args.down_for,
        workdir=args.workdir,
        keep=args.keep,
        json=args.json,
    )
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    reports = run_suite(options)
    print()
    print(outcomes.table(reports))
    if options.json:
        for report in reports:
            print(json.dumps(asdict(report), default=list))
    bad = [r for r in reports if r.unmasked or r.rung_twice or r.records_missing or r.in_progress]
    return 1 if bad else 0
