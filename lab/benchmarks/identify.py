"""Hotline identification among 1,000,000 orders' numbers: p50 / p99 of ``identify``.

    .venv/bin/python -m lab.benchmarks.identify [--orders 1000000] [--runs 300] [--pg URL]
                                                [--only sqlite|postgresql]

Creates a throwaway PostgreSQL database (and an SQLite file), seeds one site (the team of
a KZ hotline) and ``orders`` shipments with generated KZ and RU mobile numbers, written in
bulk with their typo-index keys (not through the ORM: COPY on PostgreSQL, executemany on
SQLite, batches of 50,000; the key table's indexes are built after the load, as a bulk
load does), then fresh statistics. Then ``runs`` calls of
:func:`masking.hotline.identify.identify` (each in its own session) per kind of caller:

- ``exact``: an order's number, written as people and carriers do (``8 (7xx) ...``,
  ``7xxxxxxxxxx``, ``+7 xxx ...``);
- ``1 typo`` / ``2 typos``: an order's number with one / two edits (substitution,
  adjacent transposition, or a digit missing and one extra: a shift);
- ``stranger``: a random mobile number that is no order's.

Prints fill time, key rows, p50 / p99 in milliseconds per backend and kind, and what the
callers matched (at a million numbers in one team, a random number often has an order's
number two digits away: that is the data, not a miss).
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, text

from masking import sites
from masking.hotline import index
from masking.hotline.identify import identify
from masking.storage.db import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BATCH = 50_000
KZ = ["700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778"]
RU = ["900", "901", "902", "903", "904", "905", "906", "908", "909", "910", "911", "912"]
RU += ["913", "914", "915", "916", "917", "918", "919", "920", "921", "922", "925", "926"]
RU += ["927", "928", "929", "950", "951", "952", "953", "960", "961", "962", "977", "999"]
KINDS = ("exact", "1 typo", "2 typos", "stranger")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def numbers(count: int, seed: int = 12) -> list[str]:
    """``count`` national numbers (10 digits), a third KZ; repeats are customers who
    ordered again."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(KZ if rng.random() < 1 / 3 else RU)}{rng.randrange(10**7):07d}"
        for _ in range(count)
    ]


def key_rows(nsns: list[str]) -> Iterator[tuple[int, int]]:
    """(key, shipment id) of every shipment; shipment ids are 1..N in order."""
    for shipment_id, nsn in enumerate(nsns, 1):
        for key in index.stored_keys(7, nsn):
            yield key, shipment_id


def shipment_rows(site_id: int, nsns: list[str]) -> Iterator[tuple[Any, ...]]:
    for shipment_id, nsn in enumerate(nsns, 1):
        yield shipment_id, site_id, f"B{shipment_id:07d}", "+7" + nsn, "at_pickup_point", NOW


COPY_SHIPMENTS = (
    "COPY shipments (id, site_id, external_number, customer_phone, status, created_at) FROM STDIN"
)
INSERT_SHIPMENTS = (
    "INSERT INTO shipments (id, site_id, external_number, customer_phone, status, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def fill_postgres(db: Database, site_id: int, nsns: list[str]) -> int:
    raw: Any = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        # the key table's constraints and index after the load (sorted builds)
        cur.execute("ALTER TABLE phone_keys DROP CONSTRAINT fk_phone_keys_shipment_id_shipments")
        cur.execute("ALTER TABLE phone_keys DROP CONSTRAINT pk_phone_keys")
        cur.execute("DROP INDEX ix_phone_keys_shipment_id")
        with cur.copy(COPY_SHIPMENTS) as copy:
            for row in shipment_rows(site_id, nsns):
                copy.write_row(row)
        cur.execute("SELECT setval(pg_get_serial_sequence('shipments', 'id'), %s)", (len(nsns),))
        say("  shipments copied")
        written = 0
        with cur.copy("COPY phone_keys (key, shipment_id) FROM STDIN") as copy:
            for row in key_rows(nsns):
                copy.write_row(row)
                written += 1
        say(f"  {written:,} keys copied")
        cur.execute(
            "ALTER TABLE phone_keys ADD CONSTRAINT pk_phone_keys PRIMARY KEY (key, shipment_id)"
        )
        cur.execute("CREATE INDEX ix_phone_keys_shipment_id ON phone_keys (shipment_id)")
        cur.execute(
            "ALTER TABLE phone_keys ADD CONSTRAINT fk_phone_keys_shipment_id_shipments"
            " FOREIGN KEY (shipment_id) REFERENCES shipments (id) ON DELETE CASCADE"
        )
        raw.commit()
    finally:
        raw.close()
    return written


def fill_sqlite(db: Database, site_id: int, nsns: list[str]) -> int:
    raw: Any = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA cache_size = -1000000")
        cur.execute("PRAGMA synchronous = OFF")
        cur.execute("DROP INDEX ix_phone_keys_shipment_id")
        rows = shipment_rows(site_id, nsns)
        stamp = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores it on SQLite
        while batch := list(itertools.islice(rows, BATCH)):
            cur.executemany(
                INSERT_SHIPMENTS,
                [(*row[:5], stamp) for row in batch],
            )
        say("  shipments inserted")
        # in key order: the primary key's index (SQLite cannot drop it) grows at its end
        packed = sorted((key << 24) | shipment_id for key, shipment_id in key_rows(nsns))
        for start in range(0, len(packed), BATCH):
            cur.executemany(
                "INSERT INTO phone_keys (key, shipment_id) VALUES (?, ?)",
                [(p >> 24, p & 0xFFFFFF) for p in packed[start : start + BATCH]],
            )
        say(f"  {len(packed):,} keys inserted")
        cur.execute("CREATE INDEX ix_phone_keys_shipment_id ON phone_keys (shipment_id)")
        raw.commit()
    finally:
        raw.close()
    return len(packed)


def settle(db: Database) -> None:
    postgres = db.engine.dialect.name == "postgresql"
    options = {"isolation_level": "AUTOCOMMIT"} if postgres else {}
    with db.engine.connect().execution_options(**options) as conn:
        conn.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))
        if not postgres:
            conn.commit()


def edit(rng: random.Random, nsn: str, *, shift: bool = False) -> str:
    """One typo that keeps the length and the operator prefix (the number stays a mobile
    one): a substitution or an adjacent transposition; with ``shift``, also a digit
    missing and an extra one at the end (two edits)."""
    i = rng.randrange(3, len(nsn))
    op = rng.choice(["sub", "sub", "swap", "shift"] if shift else ["sub", "sub", "swap"])
    if op == "swap" and i + 1 < len(nsn) and nsn[i] != nsn[i + 1]:
        return nsn[:i] + nsn[i + 1] + nsn[i] + nsn[i + 2 :]
    if op == "shift":
        return nsn[:i] + nsn[i + 1 :] + rng.choice("0123456789")
    return nsn[:i] + rng.choice("0123456789".replace(nsn[i], "")) + nsn[i + 1 :]


def callers(nsns: list[str], runs: int, seed: int = 7) -> dict[str, list[str]]:
    """``runs`` caller IDs of each kind, none of them an order's number but the exact ones."""
    rng = random.Random(seed)
    stored = set(nsns)
    styles = ["8 ({}{}{}) {}{}{}-{}{}-{}{}", "7{}{}{}{}{}{}{}{}{}{}", "+7 {}{}{} {}{}{} {}{} {}{}"]
    out: dict[str, list[str]] = {kind: [] for kind in KINDS}
    while len(out["exact"]) < runs:
        out["exact"].append(rng.choice(styles).format(*rng.choice(nsns)))
    while len(out["1 typo"]) < runs:
        once = edit(rng, rng.choice(nsns))
        if once not in stored:
            out["1 typo"].append("8" + once)
    while len(out["2 typos"]) < runs:
        base = rng.choice(nsns)
        twice = edit(rng, edit(rng, base, shift=True), shift=True)
        if twice not in stored and index.distance(twice, base) == 2:
            out["2 typos"].append("+7" + twice)
    while len(out["stranger"]) < runs:
        number = f"{rng.choice(KZ + RU)}{rng.randrange(10**7):07d}"
        if number not in stored:
            out["stranger"].append("+7" + number)
    return out


def percentiles(latencies: list[float]) -> tuple[float, float]:
    latencies = sorted(latencies)
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
    return statistics.median(latencies) * 1000, p99 * 1000


def run(url: str, nsns: list[str], runs: int) -> tuple[dict[str, float], dict[str, Counter[str]]]:
    db = Database(url)
    db.upgrade()
    with db.session() as session:
        site = sites.create_site(
            session,
            code="bench",
            name="bench",
            timezone="Asia/Almaty",
            region="KZ",
            hours="daily 00:00-24:00",
        )
        session.flush()
        site_id = site.id
    say(f"{db.engine.dialect.name}: filling {len(nsns):,} orders")
    t0 = time.perf_counter()
    fill = fill_postgres if db.engine.dialect.name == "postgresql" else fill_sqlite
    keys = fill(db, site_id, nsns)
    settle(db)
    results: dict[str, float] = {"fill s": time.perf_counter() - t0, "key rows (M)": keys / 1e6}
    say(f"  filled in {results['fill s']:.0f} s")
    matched: dict[str, Counter[str]] = {}
    for kind, batch in callers(nsns, runs).items():
        latencies = []
        seen: Counter[str] = Counter()
        for i, caller_id in enumerate([batch[0], *batch]):  # the first one warms the caches
            with db.session() as session:
                t0 = time.perf_counter()
                found = identify(session, site_id=site_id, caller_id=caller_id, region="KZ")
                elapsed = time.perf_counter() - t0
            if i:
                latencies.append(elapsed)
                seen[found.match_type.value + (" ambiguous" if found.ambiguous else "")] += 1
        results[f"{kind} p50 ms"], results[f"{kind} p99 ms"] = percentiles(latencies)
        matched[kind] = seen
    db.dispose()
    return results, matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    nsns = numbers(args.orders)
    table: dict[str, dict[str, float]] = {}
    mixes: dict[str, dict[str, Counter[str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            table["SQLite"], mixes["SQLite"] = run(f"sqlite:///{tmp}/bench.db", nsns, args.runs)
    if args.only != "sqlite":
        name = f"masking_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.pg.rsplit("/", 1)[0] + "/" + name
            table["PostgreSQL"], mixes["PostgreSQL"] = run(url, nsns, args.runs)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"{f'identify, {args.orders:,} orders':<30}" + "".join(f"{k:>14}" for k in table))
    for metric in next(iter(table.values())):
        print(f"{metric:<30}" + "".join(f"{table[k][metric]:>14.1f}" for k in table))
    print(f"matched ({args.runs} callers each)")
    for backend, mix in mixes.items():
        for kind in KINDS:
            counts = ", ".join(f"{m} {n}" for m, n in sorted(mix[kind].items()))
            print(f"  {backend:<11} {kind:<9} {counts}")


if __name__ == "__main__":
    main()
