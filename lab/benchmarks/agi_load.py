"""FastAGI load: decisions per second and latency of the operator-call route.

Plays Asterisk's side of FastAGI (connect, send the environment, answer every command
with ``200 result=1``, wait for the close) at several concurrency levels, against

(a) ``ours``: :class:`agi.server.FastAGIServer` with the real call desk on a throwaway
    database (SQLite file and/or PostgreSQL) and the local Redis under a unique prefix,
    seeded so that every request is a real ``dial`` (one site open around the clock,
    staff endpoint ``desk1``, a revealed shipment behind +74950000001), and
(b) ``no logic``: a minimal FastAGI server that reads the environment and sets the same
    eight variables to constants: the floor any FastAGI service on this machine has.

Each server runs as 1 or N worker processes sharing one port (SO_REUSEPORT, as
``masking serve --workers N``). The load comes from several client processes (so the
generator is not the bottleneck); the table shows their CPU next to the servers'.
``busy`` counts requests the admission control answered at once; ``errors`` are requests
with no decision at all. Every level is bounded by a request count and a time limit, and
the child processes end with this script.

    python -m lab.benchmarks.agi_load                       # SQLite and PostgreSQL, 1 and 2 workers
    python -m lab.benchmarks.agi_load --databases sqlite --workers 1 --levels 1,50
    python -m lab.benchmarks.agi_load --desk tests.support.agi:FakeDesk
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
LEVELS = (1, 50, 200, 1000)
CHILD_LIFETIME_S = 900.0  # a child never outlives this, whatever happens here
CLIENT_PROCESSES = 4
PG_ADMIN_URL = os.environ.get(
    "MASKING_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)
ENV_URL = "MASKING_BENCH_DATABASE_URL"
ENV_PREFIX = "MASKING_BENCH_REDIS_PREFIX"
ENV_VAR = "MASKING_BENCH_VAR_DIR"

BASELINE_COMMANDS = b"".join(
    b'SET VARIABLE "%s" "%s"\n' % pair
    for pair in [
        (b"MASKING_CALL_ID", b"0123456789abcdef0123456789abcdef"),
        (b"MASKING_DIAL_NUMBER", b"79001234567"),
        (b"MASKING_DIAL_TIMEOUT", b"45"),
        (b"MASKING_CALLERID_NUM", b"+74950000001"),
        (b"MASKING_CALLERID_NAME", b"Masked call"),
        (b"MASKING_RECORD_FILE", b"2026/11/22/0123456789abcdef0123456789abcdef.wav"),
        (b"MASKING_ANNOUNCE_RECORDING", b"no"),
        (b"MASKING_ACTION", b"dial"),
    ]
).splitlines(keepends=True)

# ---- the real desk on a throwaway database ---------------------------------------------------


def seed(url: str, prefix: str, var_dir: Path) -> None:
    """One site open around the clock, staff endpoint ``desk1``, one revealed shipment
    behind +74950000001 (so the default request is a real ``dial``)."""
    from masking import accounts, shipments, sites
    from masking.config import load_settings
    from masking.numbers import bindings
    from masking.numbers.pool import LivePool
    from masking.reveal import reveal_number
    from masking.service import MaskingService
    from masking.storage.db import Database

    settings = load_settings(var_dir=var_dir, database_url=url, redis_prefix=prefix)
    db = Database(url)
    db.upgrade()
    service = MaskingService(settings, db, LivePool.from_settings(settings))
    with db.session() as session:
        site = sites.create_site(
            session,
            code="bench",
            name="bench",
            timezone="Europe/Moscow",
            region="RU",
            hours="daily 00:00-24:00",
        )
        owner = accounts.add_staff(
            session, login="bench-owner", role="owner", site=site, endpoint="desk1"
        )
        shipments.add_shipment(session, site, "B1", "+79161234567")
        owner_id = owner.id
    bindings.add_pool_numbers(service, ["+74950000001"], "RU")
    reveal_number(service, staff_id=owner_id, shipment_number="B1", reason="item_found_later")
    service.close()


def seeded_desk() -> object:
    """The real call desk on the database and Redis prefix the parent seeded (its
    environment), or, run alone, on a fresh seeded SQLite file."""
    from masking.calls.desk import MaskingCallDesk
    from masking.config import load_settings
    from masking.service import MaskingService

    url, prefix = os.environ.get(ENV_URL), os.environ.get(ENV_PREFIX)
    var_dir = Path(os.environ.get(ENV_VAR) or tempfile.mkdtemp(prefix="agi-bench-"))
    if not url or not prefix:
        url, prefix = f"sqlite:///{var_dir}/bench.db", f"bench:{uuid.uuid4().hex[:8]}:"
        seed(url, prefix, var_dir)
    settings = load_settings(var_dir=var_dir, database_url=url, redis_prefix=prefix)
    return MaskingCallDesk(MaskingService.from_settings(settings))


@contextmanager
def bench_database(kind: str, var_dir: Path) -> Iterator[tuple[str, str]]:
    """A seeded throwaway database of ``kind`` and a Redis prefix; dropped afterwards."""
    from sqlalchemy import create_engine, text

    from masking import redis_client
    from masking.config import load_settings

    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    if kind == "sqlite":
        url = f"sqlite:///{var_dir}/bench-{uuid.uuid4().hex[:6]}.db"
        admin = None
    else:
        name = f"masking_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        seed(url, prefix, var_dir)
        yield url, prefix
    finally:
        client = redis_client.connect(load_settings(var_dir=var_dir))
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


# ---- servers (child processes) -------------------------------------------------------------


async def _baseline_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)
        for command in BASELINE_COMMANDS:
            writer.write(command)
            await writer.drain()
            if not await asyncio.wait_for(reader.readline(), 5):
                break
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve_child(kind: str, desk_spec: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # the parent holds our stdin: EOF means it is gone
    loop.add_reader(sys.stdin.fileno(), stop.set)
    loop.call_later(CHILD_LIFETIME_S, stop.set)
    if kind == "baseline":
        server = await asyncio.start_server(
            _baseline_client, HOST, port, backlog=4096, reuse_port=True
        )
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await stop.wait()
        server.close()
        return
    import logging

    from agi.server import FastAGIServer, load_factory

    logging.basicConfig(level=logging.ERROR)
    desk = load_factory(desk_spec)()
    from agi.server import DECISION_THREADS

    threads = int(os.environ.get("MASKING_BENCH_THREADS") or DECISION_THREADS)
    ours = FastAGIServer(
        desk,
        HOST,
        port,
        request_timeout=3.0,
        max_connections=4000,
        reuse_port=True,
        workers=threads,
    )
    await ours.start()
    print(f"PORT {ours.port}", flush=True)
    await stop.wait()
    await ours.close(grace=2.0)


@dataclass
class Server:
    """One server: ``workers`` processes on one port."""

    kind: str
    procs: list[subprocess.Popen[str]]
    port: int

    @classmethod
    def start(cls, kind: str, desk_spec: str, workers: int, env: dict[str, str]) -> Server:
        procs: list[subprocess.Popen[str]] = []
        port = 0
        for _ in range(workers):
            proc = subprocess.Popen(
                [
                    sys.executable, "-m", "lab.benchmarks.agi_load",
                    "--child", kind, "--desk", desk_spec, "--port", str(port),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, **env},
            )  # fmt: skip
            procs.append(proc)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("PORT "):
                for p in procs:
                    p.kill()
                raise SystemExit(f"{kind} server did not start (desk {desk_spec!r})")
            port = int(line.split()[1])
        return cls(kind, procs, port)

    def cpu_seconds(self) -> float:
        return sum(_cpu_of(p.pid) for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.stdin:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- clients (child processes) ------------------------------------------------------------


def request_bytes(n: int, endpoint: str, dialed: str) -> bytes:
    lines = [
        "agi_network: yes",
        "agi_network_script: operator-call",
        "agi_request: agi://127.0.0.1/operator-call",
        f"agi_channel: PJSIP/{endpoint}-{n:08x}",
        "agi_type: PJSIP",
        f"agi_uniqueid: 1700000000.{n}",
        "agi_version: 22.10.1",
        f"agi_callerid: {endpoint}",
        "agi_context: masking-staff",
        f"agi_extension: {dialed}",
        "agi_priority: 2",
        f"agi_arg_1: {endpoint}",
        f"agi_arg_2: {dialed}",
    ]
    return ("\n".join(lines) + "\n\n").encode()


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    dial: int = 0
    deny: int = 0
    busy: int = 0
    unavailable: int = 0
    elapsed: float = 0.0
    client_cpu: float = 0.0
    call_ids: list[str] = field(default_factory=list)

    def merge(self, other: Result) -> None:
        self.latencies += other.latencies
        self.call_ids += other.call_ids
        for name in ("errors", "dial", "deny", "busy", "unavailable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.elapsed = max(self.elapsed, other.elapsed)
        self.client_cpu += other.client_cpu


_CALL_ID = b'SET VARIABLE "MASKING_CALL_ID" "'
_REASON = b'SET VARIABLE "MASKING_DENY_REASON" "'


async def one_call(
    port: int, n: int, endpoint: str, dialed: str, result: Result, keep_ids: bool = False
) -> None:
    started = time.perf_counter()
    writer = None
    call_id = reason = b""
    try:
        async with asyncio.timeout(10):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request_bytes(n, endpoint, dialed))
            await writer.drain()
            last = b""
            while line := await reader.readline():
                last = line
                if line.startswith(_CALL_ID):
                    call_id = line[len(_CALL_ID) :].split(b'"', 1)[0]
                elif line.startswith(_REASON):
                    reason = line[len(_REASON) :].split(b'"', 1)[0]
                writer.write(b"200 result=1\n")
                await writer.drain()
        if last.startswith(b'SET VARIABLE "MASKING_ACTION" "dial"'):
            result.dial += 1
            if keep_ids:
                result.call_ids.append(call_id.decode())
        elif last.startswith(b'SET VARIABLE "MASKING_ACTION" "deny"'):
            if reason == b"busy":
                result.busy += 1
            elif reason == b"unavailable":
                result.unavailable += 1
            else:
                result.deny += 1
        else:
            result.errors += 1
            return
        result.latencies.append(time.perf_counter() - started)
    except (TimeoutError, ConnectionError, OSError):
        result.errors += 1
    finally:
        if writer is not None:
            writer.close()


async def run_level(
    port: int,
    concurrency: int,
    total: int,
    seconds: float,
    endpoint: str,
    dialed: str,
    *,
    first: int = 0,
    keep_ids: bool = False,
) -> Result:
    result = Result()
    counter = iter(range(first, first + total))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        for n in counter:
            if time.perf_counter() > deadline:
                return
            await one_call(port, n, endpoint, dialed, result, keep_ids)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
    return result


def _client_main(spec: str) -> None:
    """A client process: runs its share of a level, prints its Result as JSON."""
    args = json.loads(spec)
    cpu_before = time.process_time()
    result = asyncio.run(
        run_level(
            args["port"],
            args["concurrency"],
            args["total"],
            args["seconds"],
            args["endpoint"],
            args["dialed"],
            first=args["first"],
            keep_ids=args.get("keep_ids", False),
        )
    )
    result.client_cpu = time.process_time() - cpu_before
    print(json.dumps(result.__dict__), flush=True)


def run_clients(
    port: int,
    concurrency: int,
    total: int,
    seconds: float,
    endpoint: str,
    dialed: str,
    processes: int = CLIENT_PROCESSES,
    keep_ids: bool = False,
) -> Result:
    """One level from ``processes`` client processes started together."""
    processes = max(1, min(processes, concurrency))
    procs = []
    for i in range(processes):
        share = concurrency // processes + (1 if i < concurrency % processes else 0)
        spec = {
            "port": port,
            "concurrency": share,
            "total": total // processes + (1 if i < total % processes else 0),
            "seconds": seconds,
            "endpoint": endpoint,
            "dialed": dialed,
            "first": i * 10_000_000 + int(time.time() * 1000) % 1_000_000 * 10,
            "keep_ids": keep_ids,
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "lab.benchmarks.agi_load", "--client", json.dumps(spec)],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    merged = Result()
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 60)
        part = Result(**json.loads(out.strip().splitlines()[-1]))
        merged.merge(part)
    return merged


# ---- the table ------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


HEADER = (
    "| server | db | workers | conc. | answered | dial/deny | busy | unavail. | errors "
    "| decided/s | p50 ms | p99 ms | server CPU % | clients CPU % |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def decided_rate(r: Result) -> float:
    """Requests the desk decided (dial or deny), per second: not the busy answers."""
    return (r.dial + r.deny) / r.elapsed if r.elapsed else 0.0


def row(name: str, db: str, workers: int, concurrency: int, r: Result, server_cpu: float) -> str:
    done = len(r.latencies)
    rate = decided_rate(r)
    wall = r.elapsed or 1.0
    return (
        f"| {name} | {db} | {workers} | {concurrency} | {done} | {r.dial}/{r.deny} | {r.busy} "
        f"| {r.unavailable} | {r.errors} | {rate:.0f} | {percentile(r.latencies, 50) * 1000:.2f} "
        f"| {percentile(r.latencies, 99) * 1000:.2f} | {server_cpu / wall * 100:.0f} "
        f"| {r.client_cpu / wall * 100:.0f} |"
    )


def measure(
    server: Server, args: argparse.Namespace, name: str, db: str, workers: int
) -> dict[int, float]:
    """Every level against one running server; prints rows, returns decisions/s by level."""
    rates: dict[int, float] = {}
    # warm up: connections, imports, database pools, caches
    run_clients(server.port, 8, 200, 5, args.endpoint, args.dialed, processes=2)
    for level in args.levels:
        total = max(args.requests, 3 * level)
        cpu_before = server.cpu_seconds()
        result = run_clients(
            server.port, level, total, args.seconds, args.endpoint, args.dialed, args.clients
        )
        print(row(name, db, workers, level, result, server.cpu_seconds() - cpu_before), flush=True)
        rates[level] = decided_rate(result)
    return rates


def bench(args: argparse.Namespace) -> None:
    print(
        f"operator-call over FastAGI on {HOST}; levels {args.levels}; at most "
        f"max({args.requests}, 3 x level) requests or {args.seconds:.0f} s per level; "
        f"{args.clients} client processes; {os.cpu_count()} CPUs\n"
    )
    print(HEADER, flush=True)
    summary: list[str] = []
    with tempfile.TemporaryDirectory(prefix="agi-bench-") as tmp:
        var_dir = Path(tmp)
        floor: dict[int, dict[int, float]] = {}
        for workers in args.workers:
            server = Server.start("baseline", args.desk, workers, {})
            try:
                floor[workers] = measure(server, args, "no logic", "-", workers)
            finally:
                server.stop()
        if args.baseline:
            return
        for db in args.databases:
            with bench_database(db, var_dir) as (url, prefix):
                env = {ENV_URL: url, ENV_PREFIX: prefix, ENV_VAR: str(var_dir)}
                for workers in args.workers:
                    server = Server.start("ours", args.desk, workers, env)
                    try:
                        ours = measure(server, args, "ours", db, workers)
                    finally:
                        server.stop()
                    base = floor[workers]
                    summary.append(
                        f"| {db} | {workers} | "
                        + " | ".join(
                            f"{ours[lv] / base[lv]:.2f}" if base.get(lv) else "-"
                            for lv in args.levels
                        )
                        + " |"
                    )
    print("\nours / no logic (decided/s, same number of workers):\n")
    print("| db | workers | " + " | ".join(f"conc. {lv}" for lv in args.levels) + " |")
    print("|---|---|" + "---|" * len(args.levels))
    print("\n".join(summary))


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desk", default="lab.benchmarks.agi_load:seeded_desk")
    parser.add_argument("--baseline", action="store_true", help="measure only server (b)")
    parser.add_argument("--levels", type=_ints, default=list(LEVELS))
    parser.add_argument("--workers", type=_ints, default=[1, 2])
    parser.add_argument(
        "--databases", type=lambda s: s.split(","), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--clients", type=int, default=CLIENT_PROCESSES, help="client processes")
    parser.add_argument("--requests", type=int, default=3000, help="per level (at least 3 x level)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per level")
    parser.add_argument("--endpoint", default="desk1", help="agi_arg_1 (PJSIP endpoint)")
    parser.add_argument("--dialed", default="74950000001", help="agi_arg_2 (dialed digits)")
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        _client_main(args.client)
        return 0
    if args.child:
        asyncio.run(_serve_child(args.child, args.desk, args.port))
        return 0
    bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
