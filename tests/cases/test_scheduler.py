"""The scheduler of ``masking serve``: runs its jobs every interval in a worker thread,
goes on after a job raises, stops cleanly; the runtime gives it the appeals timer and,
with a webhook URL, the outbox delivery."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime
from pathlib import Path

import pytest

from masking.runtime import Runtime
from masking.scheduler import Scheduler
from tests.support.clock import FakeClock
from tests.support.services import make_settings


async def run_until(scheduler: Scheduler, rounds: int) -> None:
    await scheduler.start()
    for _ in range(200):
        if scheduler.rounds >= rounds:
            break
        await asyncio.sleep(0.01)
    await scheduler.stop()


def test_runs_every_job_each_round_and_goes_on_after_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    seen: list[tuple[str, datetime, str]] = []

    def failing(now: datetime) -> None:
        seen.append(("failing", now, threading.current_thread().name))
        raise RuntimeError("boom")

    def counting(now: datetime) -> None:
        seen.append(("counting", now, threading.current_thread().name))
        clock.advance(seconds=15)

    scheduler = Scheduler([("failing", failing), ("counting", counting)], 0.01, clock)
    with caplog.at_level(logging.ERROR, "masking.scheduler"):
        asyncio.run(run_until(scheduler, 3))
    done = scheduler.rounds
    assert done >= 3
    assert [name for name, _, _ in seen] == ["failing", "counting"] * done  # in order
    assert all(thread != threading.main_thread().name for _, _, thread in seen)
    first, second = seen[0][1], seen[2][1]
    assert (second - first).total_seconds() == 15  # each round gets the clock's now
    assert "scheduled job failing failed" in caplog.text


def test_stops_cleanly_and_runs_no_more() -> None:
    calls: list[datetime] = []

    async def scenario() -> None:
        scheduler = Scheduler([("count", calls.append)], 0.01, FakeClock())
        await run_until(scheduler, 2)
        after_stop = len(calls)
        await asyncio.sleep(0.1)
        assert len(calls) == after_stop
        await scheduler.stop()  # a second stop is harmless
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "masking-scheduler"]

    asyncio.run(scenario())
    assert len(calls) >= 2


def test_stop_waits_for_the_round_under_way() -> None:
    finished = threading.Event()

    def slow(now: datetime) -> None:
        threading.Event().wait(0.2)
        finished.set()

    async def scenario() -> None:
        scheduler = Scheduler([("slow", slow)], 30, FakeClock())
        await scheduler.start()
        await asyncio.sleep(0.05)  # the first round runs at once
        await scheduler.stop()

    asyncio.run(scenario())
    assert finished.is_set()


def test_the_runtime_schedules_the_appeals_timer_and_the_webhook(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    quiet = Runtime(make_settings(tmp_path, sqlite_url, "p:"), with_http=False)
    with caplog.at_level(logging.WARNING, "masking.serve"):
        assert [name for name, _ in quiet.scheduled_jobs()] == ["close_overdue"]
    assert "MASKING_WEBHOOK_URL is not set" in caplog.text
    loud = Runtime(
        make_settings(
            tmp_path, sqlite_url, "p:", webhook_url="http://127.0.0.1:9/", webhook_secret="k" * 32
        ),
        with_http=False,
    )
    assert [name for name, _ in loud.scheduled_jobs()] == ["close_overdue", "outbox"]
    for runtime in (quiet, loud):
        runtime.service.close()
