"""Reveals per second from one process against the local Redis and a database.

    .venv/bin/python -m lab.benchmarks.reveal_rate [--count 2000] [--pg URL]

Creates a throwaway PostgreSQL database (and an SQLite file), seeds one site with a pool of
500 numbers and ``count`` shipments, then reveals each shipment once (new bindings) and once
more (re-reveal of a live binding). Prints a table; Redis keys use a unique prefix and are
deleted afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from masking import accounts, shipments, sites
from masking.config import load_settings
from masking.numbers import bindings
from masking.numbers.pool import LivePool
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.db import Database


def run(url: str, count: int, var: Path) -> dict[str, float]:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    settings = load_settings(var_dir=var, database_url=url, redis_prefix=prefix)
    db = Database(url)
    db.upgrade()
    noon = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    service = MaskingService(
        settings, db, LivePool.from_url(settings.redis_url, prefix), lambda: noon
    )
    with db.session() as session:
        site = sites.create_site(
            session,
            code="bench",
            name="bench",
            timezone="Europe/Moscow",
            region="RU",
            hours="daily 00:00-24:00",
        )
        owner = accounts.add_staff(session, login="bench-owner", role="owner", site=site)
        rows = "".join(f"B{i},+7916{i:07d}\n" for i in range(count))
        shipments.import_shipments(session, site, "shipment,phone\n" + rows)
        owner_id = owner.id
    bindings.add_pool_numbers(service, [f"+7495{i:07d}" for i in range(500)], "RU")
    results: dict[str, float] = {}
    for label in ("new binding", "re-reveal"):
        latencies = []
        started = time.perf_counter()
        for i in range(count):
            t0 = time.perf_counter()
            reveal_number(
                service, staff_id=owner_id, shipment_number=f"B{i}", reason="item_found_later"
            )
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        latencies.sort()
        results[f"{label} /s"] = count / elapsed
        results[f"{label} p50 ms"] = statistics.median(latencies) * 1000
        results[f"{label} p99 ms"] = latencies[int(len(latencies) * 0.99) - 1] * 1000
    service.pool.flush()
    db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    redis.Redis().ping()
    name = f"masking_bench_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    table: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            table["PostgreSQL"] = run(args.pg.rsplit("/", 1)[0] + "/" + name, args.count, Path(tmp))
            table["SQLite"] = run(f"sqlite:///{tmp}/bench.db", args.count, Path(tmp))
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    metrics = list(next(iter(table.values())))
    print(
        f"{'reveals, one process, ' + str(args.count) + ' each':<34}"
        + "".join(f"{k:>14}" for k in table)
    )
    for metric in metrics:
        print(f"{metric:<34}" + "".join(f"{table[k][metric]:>14.1f}" for k in table))


if __name__ == "__main__":
    main()
