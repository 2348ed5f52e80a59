"""Reveals per second from concurrent client processes, with the numbering rules checked.

    .venv/bin/python -m lab.benchmarks.reveal_rate [--clients 1 16] [--reveals 300]
        [--databases postgresql sqlite] [--pg ADMIN_URL] [--redis URL]

For each database and client count: a fresh database (a throwaway PostgreSQL database,
created and dropped; an SQLite file) and a fresh Redis prefix (deleted afterwards), seeded
with four sites, a pool and shipments whose customers recur across sites and within a
site. Each client is a process (the machine's cores, not threads under one GIL) revealing
its own shipments; every fourth reveal is the shipment its neighbour reveals at about the
same moment (the same shipment from two clients), and neighbours' shipments share a
customer at two sites (the same customer at once). Clients are timed after a few reveals
of their own (warm, as a running server is) and all start together.

After the run the database and Redis are checked (:func:`rule_violations`): a virtual
number live twice at one site, a customer holding one number twice (or again inside its
cool-off), a shipment with two live bindings, Redis and the database disagreeing, or a
client told a number the database does not hold. Prints one table row per run, with the
CPU the client processes, the database's PostgreSQL backends, Redis and anything else on
the machine used meanwhile (percent of one core: "other CPU" shows a busy machine).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, select, text

from masking import accounts, redis_client, shipments, sites
from masking.config import load_settings
from masking.numbers import bindings
from masking.numbers.pool import LivePool
from masking.refusals import Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.db import Database
from masking.storage.models import Binding

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
REASON = "item_found_later"
SITES = 4
WARM_UPS = 5  # new bindings per client before the clock starts
BARRIER_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Workload:
    """Who reveals what: ``clients`` processes of ``reveals`` each."""

    clients: int
    reveals: int

    @property
    def distinct_per_client(self) -> int:
        return self.reveals - self.reveals // 4

    @property
    def distinct(self) -> int:
        return self.clients * self.distinct_per_client

    @property
    def customers(self) -> int:
        # even, so a customer recurs at the same site too (index j and j + 2 * customers)
        return max(2, self.distinct // 6 * 2)

    @property
    def pool(self) -> int:
        # each site at most half busy: a small pool shared by the sites
        return 2 * (self.bindings // SITES + self.clients) + 8

    @property
    def bindings(self) -> int:
        """New bindings a run makes: every client's own shipments and warm-ups."""
        return self.distinct + self.clients * WARM_UPS

    def site_of(self, index: int) -> int:
        return index % SITES

    def customer_of(self, index: int) -> str:
        return f"+7916{(index // 2) % self.customers:07d}"

    def shipment(self, client: int, position: int) -> tuple[int, str]:
        """(site index, shipment number) of a client's ``position``-th own shipment."""
        index = client + self.clients * position
        return self.site_of(index), f"R{index:06d}"

    def jobs(self, client: int) -> list[tuple[int, str]]:
        """Own shipments; every fourth reveal is the neighbour's shipment of the moment."""
        jobs: list[tuple[int, str]] = []
        position = 0
        neighbour = (client + 1) % self.clients
        for i in range(self.reveals):
            if i % 4 == 3:
                jobs.append(self.shipment(neighbour, position - 1))
            else:
                jobs.append(self.shipment(client, position))
                position += 1
        return jobs

    def warm_up(self, client: int) -> list[tuple[int, str]]:
        """Shipments a client reveals before the clock starts, as a running server has
        (statements compiled and prepared); the first is revealed twice."""
        site = client % SITES
        own = [(site, f"W{client:03d}-{k}") for k in range(WARM_UPS)]
        return [*own, own[0]]


@dataclass
class ClientReport:
    started: float = 0.0
    finished: float = 0.0
    cpu_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    # (shipment, binding id, virtual number) of every granted reveal
    answers: list[tuple[str, str, str]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class RunResult:
    database: str
    clients: int
    reveals: int
    wall_s: float
    latencies_ms: list[float]
    errors: Counter[str]
    violations: Counter[str]
    client_cpu_s: float
    usage: Usage

    @property
    def rate(self) -> float:
        return self.reveals / self.wall_s if self.wall_s else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def open_service(url: str, prefix: str, redis_url: str, var: Path) -> MaskingService:
    settings = load_settings(
        var_dir=var, database_url=url, redis_url=redis_url, redis_prefix=prefix
    )
    return MaskingService(settings, Database(url), LivePool.from_settings(settings))


def seed(service: MaskingService, workload: Workload) -> list[int]:
    """Sites, their owners, shipments and the pool; returns the owners' staff ids by site."""
    owners: list[int] = []
    per_site: dict[int, list[str]] = defaultdict(list)
    for index in range(workload.distinct):
        per_site[workload.site_of(index)].append(f"R{index:06d},{workload.customer_of(index)}")
    for client in range(workload.clients):
        for site_index, number in workload.warm_up(client)[:WARM_UPS]:
            per_site[site_index].append(f"{number},+7917{client:07d}")
    with service.db.session() as session:
        for s in range(SITES):
            site = sites.create_site(
                session,
                code=f"bench{s}",
                name=f"bench {s}",
                timezone="Europe/Moscow",
                region="RU",
                hours="daily 00:00-24:00",
            )
            owner = accounts.add_staff(session, login=f"bench{s}-owner", role="owner", site=site)
            if per_site[s]:
                shipments.import_shipments(
                    session, site, "shipment,phone\n" + "\n".join(per_site[s]) + "\n"
                )
            session.flush()
            owners.append(owner.id)
    bindings.add_pool_numbers(service, [f"+7495{i:07d}" for i in range(workload.pool)], "RU")
    bindings.restore_live_state(service)
    return owners


def _client(
    url: str,
    prefix: str,
    redis_url: str,
    var: str,
    workload: Workload,
    client: int,
    owners: list[int],
    start: Barrier,
    end: Barrier,
    reports: Any,
) -> None:
    """One client process: warm up, wait for the others, reveal, report, wait for the
    parent to sample the servers' CPU before closing its connections."""
    try:
        _reveal_all(url, prefix, redis_url, var, workload, client, owners, start, end, reports)
    except BaseException:
        # the parent and the other clients stop waiting for this one
        start.abort()
        end.abort()
        raise


def _reveal_all(
    url: str,
    prefix: str,
    redis_url: str,
    var: str,
    workload: Workload,
    client: int,
    owners: list[int],
    start: Barrier,
    end: Barrier,
    reports: Any,
) -> None:
    service = open_service(url, prefix, redis_url, Path(var))
    report = ClientReport()
    for site_index, number in workload.warm_up(client):
        reveal_number(service, staff_id=owners[site_index], shipment_number=number, reason=REASON)
    jobs = workload.jobs(client)
    start.wait(BARRIER_TIMEOUT_S)
    cpu0 = time.process_time()
    report.started = time.monotonic()
    for site_index, number in jobs:
        t0 = time.perf_counter()
        try:
            result = reveal_number(
                service, staff_id=owners[site_index], shipment_number=number, reason=REASON
            )
        except Refused as refused:
            report.errors[refused.code] += 1
            continue
        except Exception as exc:  # counted and shown, the run goes on
            report.errors[type(exc).__name__] += 1
            continue
        report.latencies_ms.append((time.perf_counter() - t0) * 1000)
        report.answers.append((number, result.binding_id, result.virtual_number))
    report.finished = time.monotonic()
    report.cpu_s = time.process_time() - cpu0
    reports.put(report)
    end.wait(BARRIER_TIMEOUT_S)
    service.close()


@dataclass(frozen=True)
class Usage:
    """CPU seconds spent while the clients ran, beside the clients' own."""

    database_s: float | None  # the benchmark database's PostgreSQL backends (None: SQLite)
    redis_s: float
    machine_s: float  # every CPU of the machine: what is not ours is someone else's load


def _ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def _machine_ticks() -> int:
    """Busy ticks of all CPUs since boot (all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4]


def _backends(service: MaskingService) -> list[int]:
    """The PostgreSQL server processes of the benchmark's database (none on SQLite)."""
    if service.db.engine.dialect.name != "postgresql":
        return []
    with service.db.engine.connect() as conn:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        return [int(pid) for pid in conn.scalars(text(query))]


def _redis_cpu_s(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class _Meter:
    """Reads the CPU the database backends, Redis and the whole machine have used."""

    def __init__(self, service: MaskingService, monitor: redis.Redis) -> None:
        self.backends = _backends(service)
        self.monitor = monitor
        self.hz = os.sysconf("SC_CLK_TCK")
        self.start = self._read()

    def _read(self) -> tuple[int, float, int]:
        database = sum(_ticks(pid) for pid in self.backends)
        return database, _redis_cpu_s(self.monitor), _machine_ticks()

    def since_start(self) -> Usage:
        database, redis_s, machine = self._read()
        return Usage(
            database_s=(database - self.start[0]) / self.hz if self.backends else None,
            redis_s=redis_s - self.start[1],
            machine_s=(machine - self.start[2]) / self.hz,
        )


def run_clients(
    service: MaskingService, var: Path, workload: Workload, owners: list[int]
) -> tuple[list[ClientReport], Usage]:
    """Start the client processes on the service's database and Redis prefix, time them;
    returns their reports and the CPU the servers and the machine used meanwhile."""
    url, prefix = service.db.url, service.pool.prefix
    redis_url = service.settings.redis_url
    service.db.engine.dispose()
    service.pool.redis.connection_pool.disconnect()
    # forked, not spawned: a client starts in milliseconds instead of importing everything
    # again; each opens its own connections (the parent's pooled ones are closed first)
    context = (
        multiprocessing.get_context("fork")
        if "fork" in multiprocessing.get_all_start_methods()
        else multiprocessing.get_context("spawn")
    )
    start = context.Barrier(workload.clients + 1)
    end = context.Barrier(workload.clients + 1)
    reports = context.Queue()
    processes = [
        context.Process(
            target=_client,
            args=(url, prefix, redis_url, str(var), workload, c, owners, start, end, reports),
            daemon=True,
        )
        for c in range(workload.clients)
    ]
    for process in processes:
        process.start()
    monitor = redis_client.connect(service.settings)
    try:
        start.wait(BARRIER_TIMEOUT_S)
        # the clients are connected (warmed up) and about to start
        meter = _Meter(service, monitor)
        collected = [reports.get(timeout=BARRIER_TIMEOUT_S) for _ in processes]
        # every client has reported and waits, its database connection still open
        usage = meter.since_start()
        end.wait(BARRIER_TIMEOUT_S)
    except BaseException:
        for process in processes:
            if process.is_alive():
                process.terminate()
        raise
    finally:
        monitor.close()
    for process in processes:
        process.join(BARRIER_TIMEOUT_S)
    return collected, usage


def _repeats(keys: Iterable[object]) -> int:
    return sum(count - 1 for count in Counter(keys).values())


def rule_violations(service: MaskingService, answers: list[tuple[str, str, str]]) -> Counter[str]:
    """What breaks the product's rules, read from the database and Redis after a run.

    * ``site``: a virtual number live in two bindings of one site;
    * ``customer``: one customer bound to one number twice while the first binding is
      live or cooling off;
    * ``shipment``: a shipment with two live bindings;
    * ``redis``: a live binding Redis does not find by site, customer and shipment, or a
      live binding in Redis the database does not hold;
    * ``answer``: a client told a binding the database does not hold live, or two
      bindings for one shipment.
    """
    now = service.clock()
    found: Counter[str] = Counter()
    with service.db.session() as session:
        every = list(session.scalars(select(Binding).order_by(Binding.created_at)))
    live = [b for b in every if b.expires_at > now and b.revoked_at is None]
    found["site"] = _repeats((b.site_id, b.virtual_number) for b in live)
    found["shipment"] = _repeats((b.site_id, b.shipment_id) for b in live)
    by_customer_number: dict[tuple[str, str], list[Binding]] = defaultdict(list)
    for b in every:
        by_customer_number[(b.customer_phone, b.virtual_number)].append(b)
    for group in by_customer_number.values():
        cooling_until: datetime | None = None
        for b in group:
            if cooling_until is not None and b.created_at < cooling_until:
                found["customer"] += 1
            ends = b.cooloff_until
            cooling_until = ends if cooling_until is None else max(cooling_until, ends)
    for b in live:
        for seen in (
            service.pool.for_site(b.site_id, b.virtual_number, now),
            service.pool.for_customer(b.customer_phone, b.virtual_number, now),
            service.pool.for_shipment(b.site_id, b.shipment_id, now),
        ):
            if seen is None or seen.id != b.id:
                found["redis"] += 1
    live_ids = {b.id: b.virtual_number for b in live}
    for binding_id in service.pool.live_ids() - set(live_ids):
        in_redis = service.pool.binding(binding_id)
        if in_redis is not None and in_redis.is_live(now):
            found["redis"] += 1
    told: dict[str, set[str]] = defaultdict(set)
    for shipment, binding_id, number in answers:
        told[shipment].add(binding_id)
        if live_ids.get(binding_id) != number:
            found["answer"] += 1
    found["answer"] += sum(len(ids) - 1 for ids in told.values())
    return found


def measure(database: str, url: str, redis_url: str, var: Path, workload: Workload) -> RunResult:
    """Seed ``url`` (migrated, empty), run the clients, check the rules."""
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    service = open_service(url, prefix, redis_url, var)
    try:
        owners = seed(service, workload)
        reports, usage = run_clients(service, var, workload, owners)
        answers = [a for r in reports for a in r.answers]
        violations = rule_violations(service, answers)
    finally:
        service.pool.flush()
        service.close()
    errors: Counter[str] = Counter()
    for r in reports:
        errors.update(r.errors)
    return RunResult(
        database=database,
        clients=workload.clients,
        reveals=sum(len(r.latencies_ms) + sum(r.errors.values()) for r in reports),
        wall_s=max(r.finished for r in reports) - min(r.started for r in reports),
        latencies_ms=[ms for r in reports for ms in r.latencies_ms],
        errors=errors,
        violations=violations,
        client_cpu_s=sum(r.cpu_s for r in reports),
        usage=usage,
    )


@contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    name = f"masking_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure_on(database: str, admin_url: str, redis_url: str, workload: Workload) -> RunResult:
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        if database == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
            Database(url).upgrade()
            return measure("SQLite", url, redis_url, var, workload)
        with throwaway_postgres(admin_url) as url:
            db = Database(url)
            db.upgrade()
            db.dispose()
            return measure("PostgreSQL", url, redis_url, var, workload)


def table(results: list[RunResult]) -> str:
    """The runs as a Markdown table. CPU in percent of one core: the clients', the
    benchmark database's PostgreSQL backends', Redis', and the rest of the machine's
    (another program, the kernel, the benchmark's parent); "CPU ms/reveal" is ours
    (clients, backends and Redis) per reveal: the ceiling is cores / that."""

    def pct(seconds: float | None, wall: float) -> str:
        return "-" if seconds is None else f"{100 * seconds / wall:.0f} %"

    def counts(found: Counter[str]) -> str:
        total = sum(found.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(found.items()) if v)
        return f"{total} ({detail})" if total else "0"

    lines = [
        "| database | clients | reveals | reveals/s | p50 ms | p99 ms | errors | violations "
        "| clients' CPU | PostgreSQL CPU | Redis CPU | other CPU | CPU ms/reveal |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ours = r.client_cpu_s + (r.usage.database_s or 0.0) + r.usage.redis_s
        lines.append(
            f"| {r.database} | {r.clients} | {r.reveals} | {r.rate:.0f} "
            f"| {r.percentile(0.5):.1f} | {r.percentile(0.99):.1f} "
            f"| {counts(r.errors)} | {counts(r.violations)} "
            f"| {pct(r.client_cpu_s, r.wall_s)} | {pct(r.usage.database_s, r.wall_s)} "
            f"| {pct(r.usage.redis_s, r.wall_s)} "
            f"| {pct(max(0.0, r.usage.machine_s - ours), r.wall_s)} "
            f"| {1000 * ours / max(r.reveals, 1):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--reveals", type=int, default=300, help="reveals per client")
    parser.add_argument(
        "--databases", nargs="+", choices=["postgresql", "sqlite"], default=["postgresql", "sqlite"]
    )
    parser.add_argument("--pg", default=PG_ADMIN_URL, help="PostgreSQL admin URL")
    parser.add_argument("--redis", default=REDIS_URL)
    args = parser.parse_args()
    redis_client.connect(load_settings(redis_url=args.redis)).ping()
    results = []
    for database in args.databases:
        for clients in args.clients:
            workload = Workload(clients=clients, reveals=args.reveals)
            results.append(measure_on(database, args.pg, args.redis, workload))
    print(
        f"reveals: {args.reveals} per client process, {SITES} sites, a quarter of each "
        f"client's reveals race a neighbour for the same shipment; {os.cpu_count()} cores"
    )
    print(table(results))


if __name__ == "__main__":
    main()
