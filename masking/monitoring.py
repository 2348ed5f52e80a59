"""What the scraper and the orchestrator ask about: readiness, and the gauges that are read
from the database and Redis when ``/metrics`` is scraped (the counters are recorded as
things happen, :mod:`masking.metrics`).

Readiness (``/readyz``): the database answers a query, Redis answers PING, the AMI
connection is logged in. Each check runs in a thread under a deadline; a check still
running from an earlier probe counts as down instead of starting another one. What is
down is named with the exception's type only: connection errors quote hosts, and a
URL may carry a password.

At scrape time (one process serves HTTP, so these are not multiplied by the workers;
several instances each report the same values: aggregate them with ``max``): numbers per
region in the pool, free ones (in live use by no site), the headroom of the busiest site,
the webhook deliveries pending and how long the oldest due one has waited.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func, select, text

from masking.numbers import virtual
from masking.service import MaskingService
from masking.storage.models import OutboxEvent

log = logging.getLogger("masking.monitoring")

CHECK_TIMEOUT = 2.0
OK = "ok"
DOWN = "down"


def database_check(service: MaskingService) -> Callable[[], None]:
    def check() -> None:
        with service.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return check


def redis_check(service: MaskingService) -> Callable[[], None]:
    def check() -> None:
        service.pool.redis.ping()

    return check


@dataclass
class Report:
    """The answer of one readiness probe: per check ``ok`` or ``down``, and for a check
    that is down the type of what failed (``ConnectionError``, ``timeout``)."""

    checks: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "status": "ready" if self.ready else "not ready",
            "checks": self.checks,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


class Readiness:
    """The checks of ``/readyz``: blocking ones (database, Redis) run in threads, and
    ``flags`` are read as they are (the AMI client's ``connected``)."""

    def __init__(
        self,
        checks: Mapping[str, Callable[[], None]],
        flags: Mapping[str, Callable[[], bool]] | None = None,
        *,
        timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self.checks = dict(checks)
        self.flags = dict(flags or {})
        self.timeout = timeout
        self._running: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def of(
        cls, service: MaskingService, ami_connected: Callable[[], bool] | None = None
    ) -> Readiness:
        return cls(
            {"database": database_check(service), "redis": redis_check(service)},
            {"ami": ami_connected} if ami_connected is not None else None,
        )

    async def probe(self) -> Report:
        names = list(self.checks)
        outcomes = await asyncio.gather(*(self._run(name) for name in names))
        report = Report({})
        for name, error in zip(names, outcomes, strict=True):
            report.checks[name] = OK if error is None else DOWN
            if error is not None:
                report.errors[name] = error
        for name, flag in self.flags.items():
            up = _flag(flag)
            report.checks[name] = OK if up else DOWN
            if not up:
                report.errors[name] = "not connected"
        return report

    async def _run(self, name: str) -> str | None:
        """None when the check passed, else what failed (a type name, never a message)."""
        with self._lock:
            if name in self._running:
                return "timeout"  # the previous probe's check hangs still
            self._running.add(name)
        check = self.checks[name]

        def run() -> str | None:
            try:
                check()
                return None
            except Exception as exc:
                return type(exc).__name__
            finally:
                with self._lock:
                    self._running.discard(name)

        try:
            return await asyncio.wait_for(asyncio.to_thread(run), self.timeout)
        except TimeoutError:
            return "timeout"


def _flag(flag: Callable[[], bool]) -> bool:
    try:
        return bool(flag())
    except Exception:
        return False


class StateCollector:
    """Gauges read at scrape time from the database and Redis (prometheus-client calls
    :meth:`collect` in the thread serving the scrape)."""

    def __init__(self, service: MaskingService) -> None:
        self.service = service
        self._failure_logged_at = 0.0
        # one scrape at a time asks the database: scrapes that come while a query hangs
        # (a server gone without a word) leave its gauges out instead of piling up threads
        self._querying = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "masking_dependency_up",
            "1 when the dependency answered this scrape's queries",
            labels=["dependency"],
        )
        if self._querying.acquire(blocking=False):
            try:
                yield from self._database_gauges()
                up.add_metric(["database"], 1)
            except Exception as exc:
                self._log_failure("database", exc)
                up.add_metric(["database"], 0)
            finally:
                self._querying.release()
        else:  # an earlier scrape's query still hangs: the database does not answer
            self._log_failure("database", TimeoutError("an earlier scrape's query still runs"))
            up.add_metric(["database"], 0)
        try:
            self.service.pool.redis.ping()
            up.add_metric(["redis"], 1)
        except Exception as exc:
            self._log_failure("redis", exc)
            up.add_metric(["redis"], 0)
        yield up

    def _database_gauges(self) -> list[Metric]:
        """All or nothing: a failing query leaves out every database gauge."""
        now = self.service.clock()
        with self.service.db.session() as session:
            levels = virtual.pool_levels(session, now)
            pending = session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.delivered_at.is_(None))
            )
            oldest_due = session.scalar(
                select(func.min(OutboxEvent.next_attempt_at)).where(
                    OutboxEvent.delivered_at.is_(None), OutboxEvent.next_attempt_at <= now
                )
            )
        numbers = GaugeMetricFamily(
            "masking_pool_numbers", "Temporary numbers in the pool", labels=["region"]
        )
        free = GaugeMetricFamily(
            "masking_pool_free_numbers",
            "Temporary numbers in live use by no site",
            labels=["region"],
        )
        headroom = GaugeMetricFamily(
            "masking_pool_headroom",
            "Reveals the busiest site of the region can still make (0: exhausted for it)",
            labels=["region"],
        )
        for row in levels:
            region = str(row["region"])
            numbers.add_metric([region], row["numbers"])
            free.add_metric([region], row["free"])
            headroom.add_metric([region], row["headroom"])
        backlog = GaugeMetricFamily(
            "masking_outbox_pending", "Case events not delivered to the webhook yet"
        )
        backlog.add_metric([], int(pending or 0))
        waiting = GaugeMetricFamily(
            "masking_outbox_oldest_due_seconds",
            "How long the oldest due, undelivered case event has waited (0: none due)",
        )
        waiting.add_metric([], (now - oldest_due).total_seconds() if oldest_due else 0.0)
        return [numbers, free, headroom, backlog, waiting]

    def _log_failure(self, what: str, exc: Exception) -> None:
        """One warning a minute at most: Prometheus scrapes every few seconds."""
        now = time.monotonic()
        if now - self._failure_logged_at >= 60:
            self._failure_logged_at = now
            log.warning("metrics: %s did not answer (%s)", what, type(exc).__name__)
