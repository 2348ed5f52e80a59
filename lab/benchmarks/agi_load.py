"""FastAGI load: decisions per second and latency of the operator-call route.

Plays Asterisk's side of FastAGI (connect, send the environment, answer every command
with ``200 result=1``, wait for the close) from asyncio clients at several concurrency
levels, against

(a) our :class:`agi.server.FastAGIServer` with a CallDesk from ``--desk module:factory``
    (default ``masking.calls.desk:build_call_desk``: the real domain on the configured
    database and Redis), and
(b) a minimal FastAGI server with no logic: it reads the environment and sets the same
    eight variables to constants: the floor any FastAGI service on this machine has.

Each server runs in its own child process (so the clients do not share its event loop)
on a loopback port; the clients run here. Every level is bounded by a request count and
a time limit, and the child processes end with this script.

    python -m lab.benchmarks.agi_load                   # (a) real desk and (b)
    python -m lab.benchmarks.agi_load --desk lab.benchmarks.agi_load:seeded_desk
    python -m lab.benchmarks.agi_load --desk tests.support.agi:FakeDesk
    python -m lab.benchmarks.agi_load --baseline        # (b) only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
LEVELS = (1, 50, 200)
CHILD_LIFETIME_S = 600.0  # a child server never outlives this, whatever happens here

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

# ---- a real desk on a throwaway database ---------------------------------------------------


def seeded_desk() -> object:
    """The real call desk on a throwaway database (``MASKING_BENCH_DATABASE_URL``, an empty
    database, or a temporary SQLite file) and the local Redis under a unique prefix: one
    site open around the clock, staff endpoint ``desk1``, one revealed shipment whose
    temporary number is +74950000001, so the default request is a real ``dial``."""
    import atexit
    import tempfile
    import uuid

    from masking import accounts, shipments, sites
    from masking.calls.desk import MaskingCallDesk
    from masking.config import load_settings
    from masking.numbers import bindings
    from masking.numbers.pool import LivePool
    from masking.reveal import reveal_number
    from masking.service import MaskingService
    from masking.storage.db import Database

    tmp = tempfile.TemporaryDirectory(prefix="agi-bench-")
    url = os.environ.get("MASKING_BENCH_DATABASE_URL") or f"sqlite:///{tmp.name}/bench.db"
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    settings = load_settings(var_dir=Path(tmp.name), database_url=url, redis_prefix=prefix)
    db = Database(url)
    db.upgrade()
    service = MaskingService(settings, db, LivePool.from_url(settings.redis_url, prefix))
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

    def cleanup() -> None:
        service.pool.flush()
        db.dispose()
        tmp.cleanup()

    atexit.register(cleanup)
    return MaskingCallDesk(service)


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


async def _serve_child(kind: str, desk_spec: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # the parent holds our stdin: EOF means it is gone
    loop.add_reader(sys.stdin.fileno(), stop.set)
    loop.call_later(CHILD_LIFETIME_S, stop.set)
    if kind == "baseline":
        server = await asyncio.start_server(_baseline_client, HOST, 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await stop.wait()
        server.close()
        return
    import logging

    from agi.server import FastAGIServer, load_factory

    logging.basicConfig(level=logging.ERROR)
    desk = load_factory(desk_spec)()
    ours = FastAGIServer(desk, HOST, 0, request_timeout=3.0, max_connections=2000)
    await ours.start()
    print(f"PORT {ours.port}", flush=True)
    await stop.wait()
    await ours.close(grace=2.0)


@dataclass
class Child:
    kind: str
    proc: subprocess.Popen[str]
    port: int

    @classmethod
    def start(cls, kind: str, desk_spec: str) -> Child:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lab.benchmarks.agi_load", "--child", kind, "--desk", desk_spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            proc.kill()
            raise SystemExit(f"{kind} server did not start (desk {desk_spec!r})")
        return cls(kind, proc, int(line.split()[1]))

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- clients (this process) ----------------------------------------------------------------


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
    elapsed: float = 0.0


async def one_call(port: int, n: int, endpoint: str, dialed: str, result: Result) -> None:
    started = time.perf_counter()
    writer = None
    try:
        async with asyncio.timeout(10):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request_bytes(n, endpoint, dialed))
            await writer.drain()
            last = b""
            while line := await reader.readline():
                last = line
                writer.write(b"200 result=1\n")
                await writer.drain()
        if last.startswith(b'SET VARIABLE "MASKING_ACTION" "dial"'):
            result.dial += 1
        elif last.startswith(b'SET VARIABLE "MASKING_ACTION" "deny"'):
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
    port: int, concurrency: int, total: int, seconds: float, endpoint: str, dialed: str
) -> Result:
    result = Result()
    counter = iter(range(total))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        for n in counter:
            if time.perf_counter() > deadline:
                return
            await one_call(port, n, endpoint, dialed, result)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
    return result


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def row(name: str, concurrency: int, r: Result) -> str:
    done = len(r.latencies)
    rate = done / r.elapsed if r.elapsed else 0.0
    p50 = percentile(r.latencies, 50) * 1000
    p99 = percentile(r.latencies, 99) * 1000
    return (
        f"| {name:<36} | {concurrency:>5} | {done:>6} | {r.dial:>5}/{r.deny:<5} | {r.errors:>6} "
        f"| {rate:>11.0f} | {p50:>8.2f} | {p99:>8.2f} |"
    )


async def bench(args: argparse.Namespace) -> None:
    kinds = ["baseline"] if args.baseline else ["ours", "baseline"]
    print(
        f"operator-call over FastAGI on {HOST}; levels {args.levels}; at most "
        f"{args.requests} requests or {args.seconds:.0f} s per level; {os.cpu_count()} CPUs\n"
    )
    print(
        "| server                               | conc. | done   | dial/deny   | errors "
        "| decisions/s |  p50 ms  |  p99 ms  |"
    )
    print("|" + "|".join("-" * w for w in (38, 7, 8, 13, 8, 13, 10, 10)) + "|")
    for kind in kinds:
        child = Child.start(kind, args.desk)
        name = "baseline (no logic)" if kind == "baseline" else f"ours {args.desk}"[:36]
        try:
            # warm up: connections, imports, database pool
            await run_level(child.port, 4, 40, 5, args.endpoint, args.dialed)
            for level in args.levels:
                result = await run_level(
                    child.port, level, args.requests, args.seconds, args.endpoint, args.dialed
                )
                print(row(name, level, result), flush=True)
        finally:
            child.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desk", default="masking.calls.desk:build_call_desk")
    parser.add_argument("--baseline", action="store_true", help="measure only server (b)")
    parser.add_argument(
        "--levels", type=lambda s: [int(x) for x in s.split(",")], default=list(LEVELS)
    )
    parser.add_argument("--requests", type=int, default=2000, help="per level")
    parser.add_argument("--seconds", type=float, default=10.0, help="per level")
    parser.add_argument("--endpoint", default="desk1", help="agi_arg_1 (PJSIP endpoint)")
    parser.add_argument("--dialed", default="74950000001", help="agi_arg_2 (dialed digits)")
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(_serve_child(args.child, args.desk))
        return 0
    asyncio.run(bench(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
