"""The metrics module (masking.metrics): what each recording function exports, labels that
can never carry a number, the values of several forked workers added up through the
multiprocess directory, and what recording costs a decision."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from masking import metrics
from tests.support.metrics import counted, samples, value

ROOT = Path(__file__).resolve().parents[2]


def test_a_decision_is_counted_by_route_outcome_and_reason_and_timed() -> None:
    before = samples(metrics.exposition())
    metrics.decision("operator-call", "dial", "", 0.004)
    metrics.decision("operator-call", "deny", "closed", 0.03)
    metrics.decision("operator-call", "deny", "busy")  # answered at once: not timed
    after = samples(metrics.exposition())

    def delta(name: str, **labels: str) -> float:
        return counted(after, name, **labels) - counted(before, name, **labels)

    route = {"route": "operator-call"}
    assert delta("masking_decisions_total", **route, outcome="dial", reason="") == 1
    assert delta("masking_decisions_total", **route, outcome="deny", reason="closed") == 1
    assert delta("masking_decisions_total", **route, outcome="deny", reason="busy") == 1
    assert delta("masking_decision_seconds_count", **route) == 2
    assert delta("masking_decision_seconds_bucket", **route, le="0.0025") == 0
    assert delta("masking_decision_seconds_bucket", **route, le="0.005") == 1
    assert delta("masking_decision_seconds_bucket", **route, le="0.05") == 2
    assert abs(delta("masking_decision_seconds_sum", **route) - 0.034) < 1e-9


def test_the_latency_buckets_cover_a_fast_decision_and_the_deadline() -> None:
    assert metrics.DECISION_BUCKETS[0] == 0.001
    assert 0.05 in metrics.DECISION_BUCKETS and 3.0 in metrics.DECISION_BUCKETS
    assert list(metrics.DECISION_BUCKETS) == sorted(metrics.DECISION_BUCKETS)


def test_a_label_never_carries_a_number_or_an_id() -> None:
    for bad in ("+79161234567", "79161234567", "8 (916) 123-45-67", "0123456789abcdef", ""):
        assert metrics._label(bad) == "other", bad
    for good in ("operator-call", "RU", "pool_exhausted", "close_overdue"):
        assert metrics._label(good) == good
    metrics.pool_exhausted("+79161234567")
    metrics.agi_rejected("1700000000.42")
    text = metrics.exposition().decode()
    assert "9161234567" not in text and "1700000000" not in text
    assert 'masking_pool_exhausted_total{region="other"}' in text


def test_the_other_instruments_export_what_they_record() -> None:
    before = samples(metrics.exposition())
    metrics.agi_rejected("secret")
    metrics.pool_exhausted("KZ")
    metrics.ami_connected(True)
    metrics.ami_tracking(True)
    metrics.scheduler_round(None, 1_800_000_000.0)
    metrics.scheduler_round(0.2, 1_800_000_015.0)
    metrics.scheduler_job("outbox", 0.01, failed=False)
    metrics.scheduler_job("outbox", 0.02, failed=True)
    metrics.outbox_delivery(True)
    metrics.outbox_delivery(False)
    metrics.agi_in_flight(3)
    after = samples(metrics.exposition())

    def delta(name: str, **labels: str) -> float:
        return counted(after, name, **labels) - counted(before, name, **labels)

    assert delta("masking_agi_rejected_total", why="secret") == 1
    assert delta("masking_pool_exhausted_total", region="KZ") == 1
    assert value(after, "masking_ami_connected") == 1
    assert delta("masking_ami_logins_total") == 1
    assert value(after, "masking_ami_event_tracking", asterisk="") == 1
    assert delta("masking_scheduler_lag_seconds_count") == 1  # the first round has no lag
    assert delta("masking_scheduler_lag_seconds_bucket", le="0.5") == 1
    assert value(after, "masking_scheduler_last_round_timestamp_seconds") == 1_800_000_015.0
    assert delta("masking_scheduler_job_seconds_count", job="outbox") == 2
    assert delta("masking_scheduler_job_failures_total", job="outbox") == 1
    assert delta("masking_outbox_deliveries_total", result="delivered") == 1
    assert delta("masking_outbox_deliveries_total", result="failed") == 1
    assert value(after, "masking_agi_in_flight") == 3
    metrics.ami_connected(False)
    metrics.ami_tracking(False)
    metrics.agi_in_flight(0)


FORKED_WORKERS = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from masking import metrics

    metrics.use_directory(Path(sys.argv[1]))
    pids = []
    for worker in range(2):
        pid = os.fork()
        if pid == 0:
            for _ in range(3 + worker):
                metrics.decision("operator-call", "dial", "", 0.004)
            metrics.decision("inbound-call", "deny", "closed", 0.02)
            metrics.ami_connected(worker == 0)
            metrics.ami_tracking(worker == 0)
            metrics.agi_in_flight(worker + 1)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    print(metrics.exposition().decode())
    print("=====")
    metrics.process_exited(pids[1])
    print(metrics.exposition().decode())
    """
)


def test_event_tracking_is_counted_per_asterisk() -> None:
    metrics.ami_tracking(True, "ast1")
    metrics.ami_tracking(False, "ast2")
    found = samples(metrics.exposition())
    assert value(found, "masking_ami_event_tracking", asterisk="ast1") == 1
    assert value(found, "masking_ami_event_tracking", asterisk="ast2") == 0
    metrics.ami_tracking(False, "ast1")


def test_an_asterisk_name_keeps_its_dots_and_digits_in_the_label() -> None:
    """MASKING_ASTERISK_NAME allows "pbx.dc1" and "1pbx": two such servers must not fall
    together into one "other" series (the one-tracker-per-Asterisk alert would fire)."""
    metrics.ami_tracking(True, "pbx.dc1")
    metrics.ami_tracking(True, "1pbx")
    found = samples(metrics.exposition())
    assert value(found, "masking_ami_event_tracking", asterisk="pbx.dc1") == 1
    assert value(found, "masking_ami_event_tracking", asterisk="1pbx") == 1
    assert ("masking_ami_event_tracking", frozenset({("asterisk", "other")})) not in found
    metrics.ami_tracking(False, "pbx.dc1")
    metrics.ami_tracking(False, "1pbx")


def test_forked_workers_add_up_and_a_dead_one_leaves_its_counts_but_not_its_gauges(
    tmp_path: Path,
) -> None:
    """As ``masking serve --workers 2``: the parent switches to the directory and forks;
    each worker records; one scrape adds them up. The parent itself records nothing (its
    gauge of 0 would pull the AMI minimum down)."""
    folder = tmp_path / "metrics"
    run = subprocess.run(
        [sys.executable, "-c", FORKED_WORKERS, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    both, survivor = (samples(part) for part in run.stdout.split("====="))
    dial = {"route": "operator-call", "outcome": "dial", "reason": ""}
    for found in (both, survivor):  # counters stay when a worker is gone
        assert value(found, "masking_decisions_total", **dial) == 7
        assert (
            value(
                found,
                "masking_decisions_total",
                route="inbound-call",
                outcome="deny",
                reason="closed",
            )
            == 2
        )
        assert value(found, "masking_decision_seconds_count", route="operator-call") == 7
        assert (
            value(found, "masking_decision_seconds_bucket", route="inbound-call", le="0.025") == 2
        )
    # live gauges: the lowest AMI state, the sum of trackers and of requests in flight
    assert value(both, "masking_ami_connected") == 0
    assert value(both, "masking_ami_event_tracking", asterisk="") == 1
    assert value(both, "masking_agi_in_flight") == 3
    assert value(survivor, "masking_ami_connected") == 1
    assert value(survivor, "masking_agi_in_flight") == 1
    files = sorted(p.name.split("_")[0] for p in folder.iterdir())
    assert "counter" in files and "histogram" in files
    assert len(list(folder.glob("counter_*.db"))) == 2  # one per worker, none of the parent


MICROBENCH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from masking import metrics

    if sys.argv[1] != "-":
        metrics.use_directory(Path(sys.argv[1]))
    n = 20000
    started = time.perf_counter()
    for _ in range(n):  # what agi.server records per decision
        metrics.agi_in_flight(1)
        metrics.agi_in_flight(0)
        metrics.decision("operator-call", "dial", "", 0.004)
    print((time.perf_counter() - started) / n * 1e6)
    """
)


def test_recording_costs_a_decision_microseconds(tmp_path: Path) -> None:
    """A decision takes about a millisecond; recording it must stay far below that, in
    one process and in the multiprocess directory (memory-mapped writes)."""
    costs = {}
    for mode, folder in (("one process", "-"), ("multiprocess", str(tmp_path / "m"))):
        run = subprocess.run(
            [sys.executable, "-c", MICROBENCH, folder],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        costs[mode] = float(run.stdout.strip())
    print("recording cost per decision (us):", costs)
    assert all(cost < 100 for cost in costs.values()), costs


def test_exposition_is_fast_enough_to_scrape_often() -> None:
    started = time.perf_counter()
    for _ in range(20):
        metrics.exposition()
    assert (time.perf_counter() - started) / 20 < 0.05
