"""What the service counts for Prometheus, and how the counts of several processes add up.

The domain and the adapters record through the functions here (never through
prometheus-client directly): a decision made, a request refused before any decision, the
pool exhausted, the AMI connection's state, a scheduler round, a webhook delivery. The
HTTP app serves :func:`exposition` at ``/metrics`` together with the gauges read from the
database and Redis at scrape time (:mod:`masking.monitoring`).

Labels are small fixed sets (routes, outcomes, refusal reasons, regions, job names):
never a phone number, a name or a call id. :func:`_label` refuses anything else.

One process (``masking serve``, tests): the values live in this process. ``masking serve
--workers N``: the supervisor calls :func:`use_directory` before it forks, every worker
writes its values to its own files there (prometheus-client's multiprocess mode: a
memory-mapped write per update) and the worker serving HTTP adds the files of every worker
up at scrape time. Counters of a worker that died stay in the sum (totals never go
backwards); the supervisor drops its live gauges (:func:`process_exited`).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from masking.shapes import is_asterisk_name

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# A decision takes 1-50 ms; the deadline (MASKING_AGI_REQUEST_TIMEOUT) is 3 s by default.
DECISION_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0,
)  # fmt: skip
# The scheduler runs every 15 s by default; a round that starts a minute late is news.
LAG_BUCKETS = (0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
JOB_BUCKETS = (0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# _created series double every counter in one-process mode and say nothing useful here
disable_created_metrics()


class _Instruments:
    """The service's metric families on one registry (built once per process)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "masking_decisions",
            "FastAGI requests answered, by route and outcome (dial, queue, deny) and, for "
            "a deny, the refusal reason (busy: refused at once by the admission control)",
            ["route", "outcome", "reason"],
            registry=registry,
        )
        self.decision_seconds = Histogram(
            "masking_decision_seconds",
            "From a complete FastAGI request to its decision (queue wait included; busy "
            "answers excluded)",
            ["route"],
            buckets=DECISION_BUCKETS,
            registry=registry,
        )
        self.agi_in_flight = Gauge(
            "masking_agi_in_flight",
            "FastAGI requests admitted and not decided yet",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.agi_rejected = Counter(
            "masking_agi_rejected",
            "FastAGI connections closed without a decision, by why",
            ["why"],
            registry=registry,
        )
        self.pool_exhausted = Counter(
            "masking_pool_exhausted",
            "Reveals refused because no temporary number of the region was free",
            ["region"],
            registry=registry,
        )
        self.ami_connected = Gauge(
            "masking_ami_connected",
            "1 when the AMI connection is logged in (of several workers: the lowest)",
            multiprocess_mode="livemin",
            registry=registry,
        )
        self.ami_logins = Counter(
            "masking_ami_logins",
            "Successful AMI logins (more than one per process: reconnections)",
            registry=registry,
        )
        self.ami_tracking = Gauge(
            "masking_ami_event_tracking",
            "Processes tracking an Asterisk's AMI events (exactly 1 per Asterisk)",
            ["asterisk"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.scheduler_lag = Histogram(
            "masking_scheduler_lag_seconds",
            "How late a scheduler round started after it was due",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.scheduler_last_round = Gauge(
            "masking_scheduler_last_round_timestamp_seconds",
            "Unix time the last scheduler round ended (timers stopped: it grows old)",
            multiprocess_mode="max",
            registry=registry,
        )
        self.job_seconds = Histogram(
            "masking_scheduler_job_seconds",
            "Duration of one scheduled job in a round",
            ["job"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.job_failures = Counter(
            "masking_scheduler_job_failures",
            "Scheduled jobs that raised (the next round tries again)",
            ["job"],
            registry=registry,
        )
        self.outbox_deliveries = Counter(
            "masking_outbox_deliveries",
            "Webhook delivery attempts of case events, by result (delivered, failed)",
            ["result"],
            registry=registry,
        )


_lock = threading.Lock()
_current: _Instruments | None = None
_directory: Path | None = None


def _instruments() -> _Instruments:
    """This process's instruments, built on first use: in multiprocess mode after the
    fork, so the supervisor writes no values of its own (a gauge of 0 from it would count
    in the workers' minimum)."""
    global _current
    current = _current
    if current is None:
        with _lock:
            if _current is None:
                _current = _Instruments()
            current = _current
    return current


_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,39}$")


@lru_cache(maxsize=256)
def _label(value: str) -> str:
    """``value`` when it is a word (a route, a reason, a region code), else ``other``: a
    label value never carries a phone number or an id."""
    return value if _LABEL.match(value) else "other"


# ---- recording ----------------------------------------------------------------------------
def decision(route: str, outcome: str, reason: str = "", seconds: float | None = None) -> None:
    """A FastAGI request answered: ``outcome`` dial, queue or deny (``reason``: the refusal);
    ``seconds`` from the complete request to the decision (None: not decided, e.g. busy)."""
    instruments = _instruments()
    route = _label(route)
    instruments.decisions.labels(route, _label(outcome), _label(reason) if reason else "").inc()
    if seconds is not None:
        instruments.decision_seconds.labels(route).observe(seconds)


def agi_in_flight(count: int) -> None:
    _instruments().agi_in_flight.set(count)


def agi_rejected(why: str) -> None:
    """A connection closed without a decision: ``peer``, ``secret``, ``bad_request``,
    ``unknown_route``, ``connection_limit``."""
    _instruments().agi_rejected.labels(_label(why)).inc()


def pool_exhausted(region: str) -> None:
    _instruments().pool_exhausted.labels(_label(region)).inc()


def ami_connected(connected: bool) -> None:
    instruments = _instruments()
    instruments.ami_connected.set(1 if connected else 0)
    if connected:
        instruments.ami_logins.inc()


def ami_tracking(on: bool, asterisk: str = "") -> None:
    """``asterisk``: its name (MASKING_ASTERISK_NAME, validated by its own shape, which
    allows dots and a leading digit); empty with one Asterisk."""
    label = asterisk if not asterisk or is_asterisk_name(asterisk) else "other"
    _instruments().ami_tracking.labels(label).set(1 if on else 0)


def scheduler_round(lag_seconds: float | None, ended_at: float) -> None:
    """A round ended (unix time ``ended_at``); ``lag_seconds`` None for the first one."""
    instruments = _instruments()
    if lag_seconds is not None:
        instruments.scheduler_lag.observe(max(lag_seconds, 0.0))
    instruments.scheduler_last_round.set(ended_at)


def scheduler_job(job: str, seconds: float, *, failed: bool) -> None:
    instruments = _instruments()
    job = _label(job)
    instruments.job_seconds.labels(job).observe(seconds)
    if failed:
        instruments.job_failures.labels(job).inc()


def outbox_delivery(delivered: bool) -> None:
    _instruments().outbox_deliveries.labels("delivered" if delivered else "failed").inc()


# ---- several processes --------------------------------------------------------------------
def use_directory(path: Path) -> None:
    """Multiprocess mode from now on, in this process and the ones it forks: each writes
    its values to files in ``path`` (emptied here), which :func:`exposition` adds up.
    Call it before the first value is recorded and before forking."""
    global _current, _directory
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)  # where prometheus-client's values write
    with _lock:
        # the value class is chosen when a metric's value is created; prometheus-client
        # reads this module attribute then (its own tests switch modes the same way)
        values.ValueClass = values.MultiProcessValue()
        _current = None
        _directory = path


def process_exited(pid: int) -> None:
    """A worker is gone: its live gauges no longer count (its counters still do)."""
    if _directory is not None:
        multiprocess.mark_process_dead(pid, str(_directory))


# ---- exposition ---------------------------------------------------------------------------
class _Scrape:
    """What one scrape collects: the instruments (this process's, or every process's
    files) and the extra collectors (gauges read at scrape time)."""

    def __init__(self, sources: Iterable[Collector]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The text format for ``/metrics``: every process's values when in multiprocess
    mode, this process's otherwise, then ``extra``."""
    if _directory is not None:
        own: Collector = multiprocess.MultiProcessCollector(None, str(_directory))
    else:
        own = _instruments().registry
    return generate_latest(_Scrape([own, *extra]))
