"""Crash test: every ``dial`` the service answered has its call record after a ``kill -9``.

Starts the FastAGI service (the benchmark's ``ours`` server: the real FastAGIServer and
call desk on a throwaway database and the local Redis), drives it with FastAGI clients at
a fixed concurrency, kills it with SIGKILL in the middle of the load, starts it again on
the same database and port, and drives it once more. Then it looks up every call id the
clients were answered ``dial`` for: each must be in the database (the desk stores the
record, in a group commit, before it answers).

    python -m lab.benchmarks.crash [--databases sqlite,postgresql] [--seconds 4] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lab.benchmarks.agi_load import (
    ENV_PREFIX,
    ENV_URL,
    ENV_VAR,
    Result,
    Server,
    bench_database,
    run_level,
)

DESK = "lab.benchmarks.agi_load:seeded_desk"


@dataclass
class CrashRun:
    database: str
    answered_dial: int  # before and after the kill
    answered_before_kill: int  # by the first run, killed
    cut_by_kill: int  # requests left without a decision (in flight, or refused while down)
    records_found: int
    missing: int

    def row(self) -> str:
        return (
            f"| {self.database} | {self.answered_before_kill} | {self.cut_by_kill} "
            f"| {self.answered_dial} | {self.records_found} | {self.missing} |"
        )


HEADER = (
    "| database | dial answers before the kill | requests left without a decision "
    "| dial answers in all | their call records found | missing |\n|---|---|---|---|---|---|"
)


async def _load_with_kill(server: Server, concurrency: int, seconds: float) -> Result:
    """Load for ``seconds`` / 2, then SIGKILL every server process (the clients stop
    starting requests right after)."""
    result_box: list[Result] = []
    killed_after = seconds / 2

    async def load() -> None:
        result_box.append(
            await run_level(
                server.port, concurrency, 10**6, killed_after + 0.2, "desk1", "74950000001",
                keep_ids=True,
            )
        )  # fmt: skip

    task = asyncio.create_task(load())
    await asyncio.sleep(killed_after)
    for proc in server.procs:
        os.kill(proc.pid, signal.SIGKILL)
    await task
    for proc in server.procs:
        proc.wait(10)
    return result_box[0]


def _stored(url: str, call_ids: list[str]) -> int:
    from sqlalchemy import select

    from masking.storage.db import Database
    from masking.storage.models import CallRecord

    db = Database(url)
    found = 0
    try:
        with db.session() as session:
            for start in range(0, len(call_ids), 500):
                chunk = call_ids[start : start + 500]
                found += len(
                    list(session.scalars(select(CallRecord.id).where(CallRecord.id.in_(chunk))))
                )
    finally:
        db.dispose()
    return found


def crash_run(database: str, seconds: float, concurrency: int, var_dir: Path) -> CrashRun:
    with bench_database(database, var_dir) as (url, prefix):
        env = {ENV_URL: url, ENV_PREFIX: prefix, ENV_VAR: str(var_dir)}
        server = Server.start("ours", DESK, 1, env)
        try:
            first = asyncio.run(_load_with_kill(server, concurrency, seconds))
        finally:
            server.stop()
        again = Server.start("ours", DESK, 1, env)
        try:
            second = asyncio.run(
                run_level(again.port, concurrency, 10**6, seconds / 2, "desk1", "74950000001",
                          first=10**7, keep_ids=True)
            )  # fmt: skip
        finally:
            again.stop()
        ids = first.call_ids + second.call_ids
        found = _stored(url, ids)
        return CrashRun(
            database=database,
            answered_dial=len(ids),
            answered_before_kill=first.dial,
            cut_by_kill=first.errors + first.unavailable,
            records_found=found,
            missing=len(ids) - found,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", type=lambda s: s.split(","), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="load before + after the kill")
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    print(
        f"kill -9 of the FastAGI service under {args.concurrency} concurrent requests, "
        f"half-way through {args.seconds:.0f} s of load; restart; {args.seconds / 2:.0f} s more\n"
    )
    print(HEADER, flush=True)
    missing = 0
    with tempfile.TemporaryDirectory(prefix="crash-bench-") as tmp:
        for database in args.databases:
            run = crash_run(database, args.seconds, args.concurrency, Path(tmp))
            print(run.row(), flush=True)
            missing += run.missing
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
