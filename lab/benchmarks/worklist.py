"""The campaign worklist and the "next due order" pick with 100,000 orders in one campaign.

    .venv/bin/python -m lab.benchmarks.worklist [--orders 100000] [--runs 200] [--pg URL]

Creates a throwaway PostgreSQL database (and an SQLite file), seeds one site, one campaign
(wire transfers, pending / pending payment, from yesterday) and ``orders`` matching orders
created over the last 30 hours, written in bulk (not through the API: shipment, case and
order rows). Then, with the clock at 12:00 on a Wednesday in the customers' zone:

- ``worklist`` first page: :func:`masking.campaigns.worklist.worklist` (the counts by
  wait reason, the page of 50 newest, their attempts, the verdicts recomputed);
- ``pick+release``: :func:`pick_next` (claim the newest dialable order, re-verified) and
  :func:`release`, so every run finds the same list;
- ``pick, none due``: every order waiting (the stored hints say "gap" for an hour), so
  the pick finds no candidate and answers with the counts and the earliest moment.

Prints p50 / p99 in milliseconds per backend. Redis is only pinged (the service needs
a pool object); nothing is written there.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text, update

from masking import accounts, redis_client, sites
from masking.campaigns import worklist
from masking.config import load_settings
from masking.numbers.pool import LivePool
from masking.service import MaskingService
from masking.states import CaseKind, CaseStatus, WaitReason
from masking.storage.db import Database
from masking.storage.models import Case, Order, Shipment, new_id

NOON = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Moscow
CHUNK = 5000


def fill(service: MaskingService, site_id: int, count: int) -> None:
    """``count`` matching orders (with their shipments and cases), newest at NOON - 1 s."""
    span = timedelta(hours=30).total_seconds()
    with service.db.session() as session:
        for start in range(0, count, CHUNK):
            numbers = range(start, min(start + CHUNK, count))
            created = {i: NOON - timedelta(seconds=1 + span * i / count) for i in numbers}
            case_ids = {i: new_id() for i in numbers}
            session.execute(
                insert(Shipment),
                [
                    {
                        "site_id": site_id,
                        "external_number": f"B{i:07d}",
                        "customer_phone": f"+7916{i:07d}",
                        "status": "at_pickup_point",
                        "created_at": NOON,
                    }
                    for i in numbers
                ],
            )
            shipment_ids = dict(
                session.execute(
                    select(Shipment.external_number, Shipment.id).where(
                        Shipment.site_id == site_id,
                        Shipment.external_number.in_([f"B{i:07d}" for i in numbers]),
                    )
                ).all()
            )
            session.execute(
                insert(Case),
                [
                    {
                        "id": case_ids[i],
                        "kind": CaseKind.CONFIRMATION,
                        "site_id": site_id,
                        "source": "shop",
                        "external_ref": f"B{i:07d}",
                        "shipment_id": shipment_ids[f"B{i:07d}"],
                        "topic": "order_confirmation",
                        "text": "",
                        "status": CaseStatus.NEW,
                        "received_at": created[i],
                        "closed_automatically": False,
                        "created_at": NOON,
                    }
                    for i in numbers
                ],
            )
            session.execute(
                insert(Order),
                [
                    {
                        "site_id": site_id,
                        "shipment_id": shipment_ids[f"B{i:07d}"],
                        "case_id": case_ids[i],
                        "source": "shop",
                        "external_ref": f"B{i:07d}",
                        "status": "pending_payment" if i % 2 else "pending",
                        "payment_method": "wire_transfer",
                        "store": "Country stores",
                        "created_at": created[i],
                        "customer_tz": "Europe/Moscow",
                        "updated_at": NOON,
                    }
                    for i in numbers
                ],
            )
    settle(service)


def settle(service: MaskingService) -> None:
    """Fresh statistics for the planner (and on PostgreSQL the visibility map that lets
    the counts read the index alone), as autovacuum would have made them by now."""
    postgres = service.db.engine.dialect.name == "postgresql"
    options = {"isolation_level": "AUTOCOMMIT"} if postgres else {}
    with service.db.engine.connect().execution_options(**options) as conn:
        conn.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))
        if not postgres:
            conn.commit()


def measure(runs: int, action: Callable[[], Any]) -> tuple[float, float]:
    action()  # warm the caches once
    latencies = []
    for _ in range(runs):
        t0 = time.perf_counter()
        action()
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
    return statistics.median(latencies) * 1000, p99 * 1000


def run(url: str, count: int, runs: int, var: Path) -> dict[str, float]:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    settings = load_settings(var_dir=var, database_url=url, redis_prefix=prefix)
    db = Database(url)
    db.upgrade()
    service = MaskingService(settings, db, LivePool.from_settings(settings), lambda: NOON)
    with db.session() as session:
        site = sites.create_site(
            session,
            code="bench",
            name="bench",
            timezone="Europe/Moscow",
            region="RU",
            hours="daily 08:00-22:00",
        )
        staff = accounts.add_staff(session, login="bench-emp", role="employee", site=site)
        site_id, staff_id = site.id, staff.id
    campaign_id = worklist.save_campaign(
        service,
        "bench",
        "unpaid",
        tz="Europe/Moscow",
        payment_methods=["wire_transfer"],
        statuses=["pending", "pending_payment"],
    )
    t0 = time.perf_counter()
    fill(service, site_id, count)
    filled = time.perf_counter() - t0
    page = worklist.worklist(service, campaign_id, NOON, staff_id=staff_id)
    assert page.total == count, page.total

    def pick_and_release() -> None:
        picked = worklist.pick_next(service, campaign_id, staff_id, NOON)
        assert isinstance(picked, worklist.Picked), picked
        with service.db.session() as session:
            worklist.release(session, picked.order_id, NOON, token=picked.token)

    def pick_none() -> None:
        empty = worklist.pick_next(service, campaign_id, staff_id, NOON)
        assert isinstance(empty, worklist.Empty) and empty.total == count, empty

    results: dict[str, float] = {"fill s": filled}
    results["worklist p50 ms"], results["worklist p99 ms"] = measure(
        runs, lambda: worklist.worklist(service, campaign_id, NOON, staff_id=staff_id)
    )
    results["pick+release p50 ms"], results["pick+release p99 ms"] = measure(runs, pick_and_release)
    with db.session() as session:
        session.execute(
            update(Order).values(
                next_at=NOON + timedelta(hours=1), wait_reason=WaitReason.GAP.value
            )
        )
    settle(service)
    results["pick, none due p50 ms"], results["pick, none due p99 ms"] = measure(
        max(runs // 4, 10), pick_none
    )
    db.dispose()
    service.pool.redis.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    redis_client.connect(load_settings()).ping()
    name = f"masking_bench_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    table: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            table["SQLite"] = run(f"sqlite:///{tmp}/bench.db", args.orders, args.runs, Path(tmp))
            table["PostgreSQL"] = run(
                args.pg.rsplit("/", 1)[0] + "/" + name, args.orders, args.runs, Path(tmp)
            )
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()
    metrics = list(next(iter(table.values())))
    print(f"{f'one campaign, {args.orders:,} orders':<34}" + "".join(f"{k:>14}" for k in table))
    for metric in metrics:
        print(f"{metric:<34}" + "".join(f"{table[k][metric]:>14.1f}" for k in table))


if __name__ == "__main__":
    main()
