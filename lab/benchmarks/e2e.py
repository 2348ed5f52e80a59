"""End to end through the real Asterisk: call set-ups per second, ours against static.

SIPp desk phones place short calls (held 2 s, no media) at rising rates, a fixed time per
rate, through a local Asterisk 22 to a SIPp carrier, on two paths in the same run:

ours    the shipped dialplan: masking-operator -> FastAGI -> the service (``masking
        serve``, a child process) -> masking-dial-customer -> the trunk;
static  the lab-only context ``lab-bench-static`` (lab/asterisk/templates/extensions.conf):
        the same masking-dial-customer (caller ID = the virtual number, MixMonitor, Dial
        through the trunk) with the decision's variables set in the dialplan, no service.

Per rate and path it prints the calls attempted / completed / failed, the calls Asterisk
denied with a prompt, the INVITEs the carrier received and those showing the virtual
number as caller ID, the CPU of Asterisk, of the service and of SIPp over the rate's
time, Asterisk's task processor queue warnings (its log) and the call records still "in
progress" 5 s after the last hangup (the database); then the highest rate without
failures of each path and the ratio ours/static.

A call is *completed* when the carrier answered it and both ends finished it cleanly
(min of the desk phones' and the carrier's successful calls: a desk phone cannot tell a
bridged call from a denial prompt, which Asterisk answers too); every other attempt
*failed*. Everything runs on 127.0.0.1 and is bounded: a call count per rate
(``--max-calls``), SIPp's own timeouts, and every child process is ended on exit.

    python -m lab.benchmarks.e2e                          # 20,40,80,120,160 /s, 20 s each
    python -m lab.benchmarks.e2e --rates 10 --seconds 5   # a quick look
    python -m lab.benchmarks.e2e --serve-args "--workers 2" --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.asterisk.local import LocalAsterisk, Phone, Ports, free_port
from lab.processes import stop_process
from lab.sipp import SCENARIOS, free_media_port, free_udp_port, sipp_binary

DEFAULT_RATES = (20, 40, 80, 120, 160)
DEFAULT_SECONDS = 20
PATHS = ("ours", "static")
HOLD_S = 2.0  # bench_desk_uac.xml holds every answered call this long
SETTLE_S = 5.0  # call records must be closed this long after the last hangup
DESK_SCENARIO = SCENARIOS / "bench_desk_uac.xml"
CARRIER_SCENARIO = SCENARIOS / "bench_carrier_uas.xml"
STATIC_CONTEXT = "lab-bench-static"

SITE = "bench-e2e"
SHIPMENT = "BENCH-E2E-0001"
CUSTOMER = "+79001234567"
POOL = ("+74950000101", "+74950000102", "+74950000103")
REASON = "item_found_later"

# Asterisk 22's taskprocessor.c: "Taskprocessor '<name>' queue reached <n> scheduled tasks
# (high water mark: <n>) [again]." (older releases: "The '<name>' task processor queue ...")
_QUEUE_WARNING = re.compile(
    r"(?:Taskprocessor '([^']+)' queue|The '([^']+)' task processor queue) reached \d+"
)
_LOG_DISCARDED = "Log queue threshold"


class BenchError(RuntimeError):
    """The benchmark could not set up or run a step (not a measured failure)."""


@dataclass
class Row:
    """One rate on one path."""

    path: str
    rate: int
    seconds: float
    attempted: int = 0
    completed: int = 0
    failed: int = 0
    # answered on the desk phone but never by the carrier: Asterisk played a denial
    # prompt (a desk phone cannot tell it from a bridged call)
    denied: int = 0
    carrier_invites: int = 0
    masked_invites: int = 0  # carrier INVITEs whose From user is the virtual number
    asterisk_cpu: float = 0.0  # % of one core over the rate's time
    service_cpu: float = 0.0
    sipp_cpu: float = 0.0
    ami_events: int = 0  # events Asterisk sent a session of the service's AMI user
    manager_queue_warnings: int = 0  # task processors named "...manager..."
    queue_warnings: int = 0  # every task processor queue warning
    log_discarded: bool = False  # Asterisk's logger dropped messages: warnings undercounted
    open_records: int | None = None  # None: the path writes no call records
    load: float = 0.0  # the machine's 1-minute load average when the rate ended
    records: int | None = None

    @property
    def clean(self) -> bool:
        return self.attempted > 0 and self.failed == 0


@dataclass
class Options:
    rates: tuple[int, ...] = DEFAULT_RATES
    seconds: float = DEFAULT_SECONDS
    paths: tuple[str, ...] = PATHS
    max_calls: int = 4000  # per rate and path
    desks: int = 8  # desk phones (PJSIP endpoints) per path
    database_url: str = ""  # an empty database; default: a new SQLite file in the work dir
    redis_url: str = ""  # empty: MASKING_REDIS_URL or the local default
    serve_args: tuple[str, ...] = ()
    workdir: Path | None = None
    keep: bool = False
    # Asterisk's verbosity while measuring. The lab's 3 logs every dialplan step (~40
    # lines a call): at 80 calls/s Asterisk's logger starts discarding messages, warnings
    # included, and spends a good part of Asterisk's CPU. None: leave the lab's.
    asterisk_verbose: int | None = 0
    json: bool = False
    say: Any = field(default=print, repr=False)


# ---- CPU of process trees (from /proc) -------------------------------------------------
_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, utime + stime ticks) of every process."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                raw = handle.read().decode(errors="replace")
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def cpu_ticks(roots: Sequence[int]) -> int:
    """CPU ticks (user + system) used so far by these processes and their descendants
    (the ones still running: a child that exited is counted up to its last reading)."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, todo, seen = 0, [r for r in roots if r in table], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += table[pid][1]
        todo.extend(children.get(pid, ()))
    return total


def cpu_percent(ticks: int, wall: float) -> float:
    return 100.0 * ticks / _TICKS / wall if wall > 0 else 0.0


# ---- SIPp ------------------------------------------------------------------------------
def _last_stats(path: Path) -> dict[str, str]:
    """The last line of a SIPp ``-trace_stat`` file (``;``-separated, cumulative ``(C)``)."""
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    rows = list(csv.reader([lines[0], lines[-1]], delimiter=";"))
    return dict(zip(rows[0], rows[1], strict=False))


def _count(stats: dict[str, str], name: str) -> int:
    try:
        return int(stats.get(f"{name}(C)", "0") or 0)
    except ValueError:
        return 0


def carrier_command(directory: Path, port: int, calls: int, lifetime: float) -> list[str]:
    return [
        sipp_binary(),
        "-sf",
        str(CARRIER_SCENARIO),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_media_port()),
        "-m",
        str(calls),
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(directory / "carrier.stat.csv"),
        "-fd",
        "1",
        "-trace_logs",
        "-log_file",
        str(directory / "carrier.invites.log"),
        "-timeout",
        f"{int(lifetime)}s",
    ]


def desk_command(
    directory: Path, asterisk: str, dialed: str, rate: int, calls: int, lifetime: float
) -> list[str]:
    return [
        sipp_binary(),
        "-sf",
        str(DESK_SCENARIO),
        asterisk,
        "-i",
        "127.0.0.1",
        "-p",
        str(free_udp_port()),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_media_port()),
        "-s",
        dialed,
        "-inf",
        str(directory / "desks.csv"),
        "-r",
        str(rate),
        "-rp",
        "1000",
        "-m",
        str(calls),
        # enough open calls for the offered rate however slow the answers get
        "-l",
        str(max(50, rate * 20)),
        "-recv_timeout",
        "15000",
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(directory / "desk.stat.csv"),
        "-fd",
        "1",
        "-trace_err",
        "-error_file",
        str(directory / "desk.errors.log"),
        "-timeout",
        f"{int(lifetime)}s",
    ]


# ---- the Asterisk log ------------------------------------------------------------------
class LogMark:
    """What Asterisk logged (messages.log) from a point on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.offset = path.stat().st_size
        except OSError:
            self.offset = 0

    def lines(self) -> Iterator[str]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                for raw in handle:
                    yield raw.decode(errors="replace")
        except OSError:
            return

    def counts(self) -> tuple[int, int, bool]:
        """(manager queue warnings, all queue warnings, whether the logger discarded
        messages: then the counts are a lower bound)."""
        manager = queues = 0
        discarded = False
        for line in self.lines():
            match = _QUEUE_WARNING.search(line)
            if match:
                queues += 1
                manager += "manager" in (match.group(1) or match.group(2))
            discarded = discarded or _LOG_DISCARDED in line
        return manager, queues, discarded


# ---- what the service's AMI user is sent ------------------------------------------------
class AmiCounter:
    """A second session as the service's AMI user (its filters apply to every session of
    the user): counts the events Asterisk sends it, so a rate shows how many events of
    its calls (and none of anyone else's) reach the service."""

    def __init__(self, port: int, username: str, secret: str) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self._sock.sendall(
            f"Action: Login\r\nUsername: {username}\r\nSecret: {secret}\r\n"
            "Events: system,call,user\r\n\r\n".encode()
        )
        self._sock.settimeout(0.5)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._closing = False
        self._thread = threading.Thread(target=self._read, name="ami-counter", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        pending = b""
        while not self._closing:
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\r\n")
            names = [line[7:].decode(errors="replace") for line in lines if line[:7] == b"Event: "]
            if names:
                with self._lock:
                    self._counts.update(names)

    def take(self) -> Counter[str]:
        """The events counted since the last call."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._sock.close()
        self._thread.join(timeout=2)


# ---- the bench ------------------------------------------------------------------------
def _desk_phones(path: str, count: int) -> list[Phone]:
    prefix = "bench-desk" if path == "ours" else "bench-static"
    context = "masking-operator" if path == "ours" else STATIC_CONTEXT
    return [
        Phone(f"{prefix}{n:02d}", f"{prefix}{n:02d}-secret", context=context)
        for n in range(1, count + 1)
    ]


def _wait_port(port: int, deadline: float, process: subprocess.Popen[bytes]) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"masking serve exited with {process.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise BenchError(f"masking serve did not listen on {port} in time")


class E2EBench:
    """Asterisk, the service and the seeded data, for as many rates as asked."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.say = options.say
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if options.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="masking-bench-e2e-")
            self.workdir = Path(self._tmp.name)
        else:
            self.workdir = Path(options.workdir).resolve()
            self.workdir.mkdir(parents=True, exist_ok=True)
        self.asterisk: LocalAsterisk | None = None
        self.serve: subprocess.Popen[bytes] | None = None
        self.ami_counter: AmiCounter | None = None
        self.service: Any = None  # MaskingService of this process: seeding, records
        self.virtual_number = ""
        self.carrier_port = free_udp_port()
        self.phones = {path: _desk_phones(path, options.desks) for path in PATHS}

    # ---- set up ------------------------------------------------------------------------
    def start(self) -> None:
        from lab.asterisk import ensure_rootfs

        options = self.options
        rootfs = ensure_rootfs(log=lambda m: self.say(f"  {m}"))
        max_rate = max(options.rates)
        # every call holds an RTP port pair on each of its two channels while it lasts
        rtp_ports = min(9000, max(400, 30 * max_rate)) // 2 * 2
        ports = Ports.free(rtp_ports=rtp_ports)
        agi_port = free_port(socket.SOCK_STREAM)
        http_port = free_port(socket.SOCK_STREAM)
        self.settings = self._settings(agi_port, http_port, ports.ami_port)
        self._seed()
        self.asterisk = LocalAsterisk(
            self.workdir / "asterisk",
            ports,
            agi=f"127.0.0.1:{agi_port}",
            carrier=f"127.0.0.1:{self.carrier_port}",
            ami_username=self.settings.ami_username,
            ami_secret=self.settings.ami_secret,
            phones=[*self.phones["ours"], *self.phones["static"]],
            rootfs=rootfs,
            log=lambda m: self.say(f"  {m}"),
        )
        self.settings = self.settings.model_copy(
            update={"recordings_dir": self.asterisk.monitor_dir}
        )
        self.asterisk.start()
        self.asterisk.cli(f"dialplan set global LAB_BENCH_CUSTOMER {CUSTOMER.lstrip('+')}")
        if options.asterisk_verbose is not None:
            self.asterisk.cli(f"core set verbose {int(options.asterisk_verbose)}")
        self._start_service(agi_port)
        self.ami_counter = AmiCounter(
            self.asterisk.ports.ami_port, self.settings.ami_username, self.settings.ami_secret
        )

    def _settings(self, agi_port: int, http_port: int, ami_port: int) -> Any:
        from masking.config import load_settings

        var_dir = self.workdir / "service"
        if var_dir.exists():  # a kept work dir: start from an empty database again
            shutil.rmtree(var_dir)
        var_dir.mkdir(parents=True)
        url = self.options.database_url or f"sqlite:///{var_dir / 'masking.db'}"
        extra: dict[str, Any] = {}
        if self.options.redis_url:
            extra["redis_url"] = self.options.redis_url
        return load_settings(
            var_dir=var_dir,
            database_url=url,
            redis_prefix=f"bench-e2e:{uuid.uuid4().hex[:10]}:",
            agi_port=agi_port,
            http_port=http_port,
            ami_port=ami_port,
            **extra,
        )

    def _seed(self) -> None:
        """A site open around the clock, its staff on the "ours" desk phones (the first
        the owner, the others employees who may see numbers), a shipment revealed: its
        temporary number is what every desk phone dials."""
        from masking import accounts, shipments, sites
        from masking.numbers import bindings
        from masking.reveal import reveal_number
        from masking.service import MaskingService

        service = MaskingService.from_settings(self.settings)
        self.service = service
        service.db.upgrade()
        with service.db.session() as session:
            site = sites.create_site(
                session,
                code=SITE,
                name="Bench pickup point",
                timezone="Europe/Moscow",
                region="RU",
                hours="daily 00:00-24:00",
                ring_endpoints=[self.phones["ours"][0].name],
            )
            staff_ids = []
            for n, phone in enumerate(self.phones["ours"]):
                staff = accounts.add_staff(
                    session,
                    login=f"bench{n + 1:02d}",
                    role="owner" if n == 0 else "employee",
                    site=site,
                    endpoint=phone.name,
                    visible=n > 0,
                )
                session.flush()
                staff_ids.append(staff.id)
            shipments.add_shipment(session, site, SHIPMENT, CUSTOMER)
        bindings.add_pool_numbers(service, list(POOL), "RU")
        self.virtual_number = reveal_number(
            service, staff_id=staff_ids[0], shipment_number=SHIPMENT, reason=REASON
        ).virtual_number

    def _start_service(self, agi_port: int) -> None:
        from masking import redis_client

        assert self.asterisk is not None
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("MASKING_")}
        env.update(
            {
                "MASKING_VAR_DIR": str(s.var_dir),
                "MASKING_DATABASE_URL": s.database_url,
                **redis_client.environment(s),
                "MASKING_AGI_PORT": str(s.agi_port),
                "MASKING_HTTP_PORT": str(s.http_port),
                "MASKING_AMI_PORT": str(s.ami_port),
                "MASKING_AMI_USERNAME": s.ami_username,
                "MASKING_AMI_SECRET": s.ami_secret,
                "MASKING_RECORDINGS_DIR": str(self.asterisk.monitor_dir),
            }
        )
        argv = [
            sys.executable,
            "-c",
            "from masking.cli.main import main; main()",
            "serve",
            *self.options.serve_args,
        ]
        log = open(self.workdir / "serve.log", "wb")  # noqa: SIM115 - closed with the process
        self._serve_log = log
        self.serve = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        _wait_port(agi_port, deadline, self.serve)
        while time.monotonic() < deadline:
            connected = self.asterisk.cli("manager show connected")
            if re.search(rf"^\s*{re.escape(s.ami_username)}\s", connected, re.M):
                self.say(f"  masking serve (pid {self.serve.pid}) on FastAGI {agi_port}, AMI up")
                return
            time.sleep(0.2)
        raise BenchError("masking serve did not log in to AMI in time")

    # ---- one rate on one path ------------------------------------------------------------
    def run(self, path: str, rate: int) -> Row:
        assert self.asterisk is not None and self.serve is not None
        options = self.options
        seconds = options.seconds
        calls = max(1, min(options.max_calls, round(rate * seconds)))
        directory = self.workdir / f"{path}-{rate}"
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        phones = self.phones[path]
        (directory / "desks.csv").write_text(
            "SEQUENTIAL\n"
            + "".join(
                f"{p.name};{p.password};[authentication username={p.name} password={p.password}]\n"
                for p in phones
            )
        )
        lifetime = seconds + 60
        self.asterisk.wait_idle()
        mark = LogMark(self.asterisk.log_file)
        if self.ami_counter is not None:
            self.ami_counter.take()
        since = datetime.now(UTC)
        outputs = contextlib.ExitStack()
        carrier = subprocess.Popen(
            carrier_command(directory, self.carrier_port, calls, lifetime + 30),
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=outputs.enter_context(open(directory / "carrier.out", "wb")),  # noqa: SIM115
            start_new_session=True,
        )
        desk: subprocess.Popen[bytes] | None = None
        try:
            time.sleep(0.5)
            asterisk_pids = [self.asterisk.pid or 0]
            service_pids = [self.serve.pid]
            started = time.monotonic()
            desk = subprocess.Popen(
                desk_command(
                    directory,
                    self.asterisk.sip_address,
                    self.virtual_number,
                    rate,
                    calls,
                    lifetime,
                ),
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=outputs.enter_context(open(directory / "desk.out", "wb")),  # noqa: SIM115
                start_new_session=True,
            )
            sipp_pids = [desk.pid, carrier.pid]
            before = (cpu_ticks(asterisk_pids), cpu_ticks(service_pids), cpu_ticks(sipp_pids))
            last = before
            while desk.poll() is None:
                if time.monotonic() - started > lifetime + 15:
                    stop_process(desk)
                    break
                last = (
                    cpu_ticks(asterisk_pids),
                    cpu_ticks(service_pids),
                    max(last[2], cpu_ticks(sipp_pids)),
                )
                time.sleep(0.5)
            wall = time.monotonic() - started
            load = os.getloadavg()[0]
            after = (
                cpu_ticks(asterisk_pids),
                cpu_ticks(service_pids),
                max(last[2], cpu_ticks(sipp_pids)),
            )
            time.sleep(SETTLE_S)
        finally:
            stop_process(desk)
            stop_process(carrier)
            outputs.close()
        desk_stats = _last_stats(directory / "desk.stat.csv")
        carrier_stats = _last_stats(directory / "carrier.stat.csv")
        attempted = _count(desk_stats, "OutgoingCall")
        desk_ok = _count(desk_stats, "SuccessfulCall")
        carrier_ok = _count(carrier_stats, "SuccessfulCall")
        completed = min(desk_ok, carrier_ok)
        invites, masked = self._invites(directory / "carrier.invites.log")
        manager_warnings, warnings, log_discarded = mark.counts()
        ami_events = sum(self.ami_counter.take().values()) if self.ami_counter else 0
        open_records, records = self._records(since) if path == "ours" else (None, None)
        return Row(
            path=path,
            rate=rate,
            seconds=seconds,
            attempted=attempted,
            completed=completed,
            failed=attempted - completed,
            denied=max(0, desk_ok - carrier_ok),
            carrier_invites=invites,
            masked_invites=masked,
            asterisk_cpu=cpu_percent(after[0] - before[0], wall),
            service_cpu=cpu_percent(after[1] - before[1], wall),
            sipp_cpu=cpu_percent(after[2] - before[2], wall),
            ami_events=ami_events,
            manager_queue_warnings=manager_warnings,
            queue_warnings=warnings,
            log_discarded=log_discarded,
            open_records=open_records,
            records=records,
            load=load,
        )

    def _invites(self, log: Path) -> tuple[int, int]:
        digits = self.virtual_number.lstrip("+")
        shown = re.compile(rf"<sip:\+?{digits}@")
        invites = masked = 0
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return 0, 0
        for line in text.splitlines():
            if "INVITE From:" in line:
                invites += 1
                masked += bool(shown.search(line))
        return invites, masked

    def _records(self, since: datetime) -> tuple[int, int]:
        from sqlalchemy import func, select

        from masking.states import Disposition
        from masking.storage.models import CallRecord

        with self.service.db.session() as session:
            recent = CallRecord.started_at >= since
            total = session.scalar(select(func.count()).where(recent)) or 0
            still_open = (
                session.scalar(
                    select(func.count()).where(
                        recent, CallRecord.disposition == Disposition.IN_PROGRESS
                    )
                )
                or 0
            )
        return int(still_open), int(total)

    # ---- tear down -----------------------------------------------------------------------
    def stop(self) -> None:
        if self.ami_counter is not None:
            self.ami_counter.close()
        stop_process(self.serve, grace=10)
        if getattr(self, "_serve_log", None) is not None:
            self._serve_log.close()
        if self.asterisk is not None:
            self.asterisk.stop()
        if self.service is not None:
            with contextlib.suppress(Exception):
                self.service.pool.flush()
            with contextlib.suppress(Exception):
                self.service.close()
        if self._tmp is not None and not self.options.keep:
            self._tmp.cleanup()

    def __enter__(self) -> E2EBench:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_benchmark(options: Options) -> list[Row]:
    rows: list[Row] = []
    with E2EBench(options) as bench:
        for rate in options.rates:
            for path in options.paths:
                options.say(f"  {path} at {rate} calls/s for {options.seconds:g} s ...")
                rows.append(bench.run(path, rate))
                options.say("  " + _line(rows[-1]))
    return rows


# ---- the table ------------------------------------------------------------------------
HEADER = (
    "| path | calls/s | attempted | completed | failed | denied | carrier INVITEs "
    "| with virtual no. | Asterisk CPU % | service CPU % | SIPp CPU % "
    "| AMI events to the service | manager queue warnings (all) | records open 5 s after "
    "| load |"
)


def _line(row: Row) -> str:
    records = "-" if row.open_records is None else f"{row.open_records} of {row.records}"
    return (
        f"| {row.path} | {row.rate} | {row.attempted} | {row.completed} | {row.failed} "
        f"| {row.denied} | {row.carrier_invites} | {row.masked_invites} "
        f"| {row.asterisk_cpu:.0f} | {row.service_cpu:.0f} | {row.sipp_cpu:.0f} "
        f"| {row.ami_events} | {row.manager_queue_warnings} ({row.queue_warnings})"
        f"{' (log lost lines)' if row.log_discarded else ''} | {records} "
        f"| {row.load:.1f} |"
    )


def highest_clean(rows: Sequence[Row], path: str) -> int:
    """The highest rate this path carried without a failure (0: none)."""
    return max((r.rate for r in rows if r.path == path and r.clean), default=0)


def summary(rows: Sequence[Row]) -> list[str]:
    lines: list[str] = []
    paths = [p for p in PATHS if any(r.path == p for r in rows)]
    best = {p: highest_clean(rows, p) for p in paths}
    lines.append(
        "highest rate with 0 failures: "
        + ", ".join(f"{p} {best[p] or 'none'}{'/s' if best[p] else ''}" for p in paths)
    )
    if "ours" in best and "static" in best and best["static"]:
        ratio = best["ours"] / best["static"]
        lines.append(f"ours/static = {ratio:.2f} (target >= 0.8)")
    clean_ours = [r for r in rows if r.path == "ours" and r.rate == best.get("ours")]
    if clean_ours:
        row = clean_ours[0]
        lines.append(
            f"AMI at {row.rate}/s (ours): {row.manager_queue_warnings} manager queue warnings, "
            f"{row.open_records} of {row.records} call records still in progress "
            f"{SETTLE_S:g} s after the last hangup"
        )
    return lines


def table(rows: Sequence[Row]) -> str:
    separator = "|" + "---|" * (HEADER.count("|") - 1)
    return "\n".join([HEADER, separator, *(_line(r) for r in rows)])


def _rates(text: str) -> tuple[int, ...]:
    rates = tuple(int(part) for part in text.split(",") if part.strip())
    if not rates or any(r < 1 or r > 1000 for r in rates):
        raise argparse.ArgumentTypeError("rates: comma-separated calls/s, 1 to 1000")
    return rates


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="masking bench e2e", description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=_rates, default=DEFAULT_RATES, help="calls/s, e.g. 20,40")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="per rate")
    parser.add_argument("--paths", default=",".join(PATHS), help="ours,static")
    parser.add_argument("--max-calls", type=int, default=4000, help="per rate and path")
    parser.add_argument("--desks", type=int, default=8, help="desk phones per path")
    parser.add_argument("--database-url", default="", help="default: SQLite in the workdir")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--serve-args", default="", help='extra arguments, e.g. "--workers 2"')
    parser.add_argument("--workdir", type=Path, default=None, help="kept; default: a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    parser.add_argument(
        "--asterisk-verbose", type=int, default=0, help="core set verbose (the lab's is 3)"
    )
    parser.add_argument("--json", action="store_true", help="rows as JSON lines at the end")
    args = parser.parse_args(argv)
    paths = tuple(p.strip() for p in args.paths.split(",") if p.strip())
    if not paths or set(paths) - set(PATHS):
        parser.error("--paths: ours, static or both")
    if not 1 <= args.seconds <= 600 or not 1 <= args.max_calls <= 20000:
        parser.error("--seconds 1..600, --max-calls 1..20000")
    options = Options(
        rates=args.rates,
        seconds=args.seconds,
        paths=paths,
        max_calls=args.max_calls,
        desks=max(1, min(args.desks, 50)),
        database_url=args.database_url,
        redis_url=args.redis_url,
        serve_args=tuple(shlex.split(args.serve_args)),
        workdir=args.workdir,
        keep=args.keep,
        asterisk_verbose=args.asterisk_verbose,
        json=args.json,
    )
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    rows = run_benchmark(options)
    print()
    print(table(rows))
    print()
    for line in summary(rows):
        print(line)
    if options.json:
        import json

        for row in rows:
            print(json.dumps(asdict(row)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
