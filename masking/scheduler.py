"""The timers of ``masking serve``: a small asyncio loop that, every interval, runs its
jobs in a worker thread, one after the other.

A job is a plain callable ``job(now)`` that acts on due times kept in the
database (events to send, appeals past their deadline). So the scheduler keeps no state
of its own: after downtime the first round finds everything that fell due meanwhile and
catches up. It runs a round as soon as it starts, then every ``interval`` seconds.

A job that raises is logged and the others still run; the loop goes on. Only the elected
leader of a deployment runs it (:mod:`masking.leader`); that a job acts exactly once on a
row still comes from the job's row locks (PostgreSQL ``FOR UPDATE SKIP LOCKED``, SQLite's
single writer), which also covers the second in which a deposed leader has not noticed yet.

Metrics: each job's duration and failures, and the lag of each round: how much later than
``interval`` after the previous round's start it started (a slow round delays the next by
its own length, since the pause comes after it), and when the last round ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from masking import metrics

log = logging.getLogger("masking.scheduler")

Job = Callable[[datetime], object]  # what a job returns is ignored


class Scheduler:
    def __init__(
        self,
        jobs: Sequence[tuple[str, Job]],
        interval: float,
        clock: Callable[[], datetime],
        *,
        grace: float = 30.0,
    ) -> None:
        self.jobs = list(jobs)
        self.interval = interval
        self.clock = clock
        self.grace = grace  # how long stop() waits for a round under way
        self.rounds = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def run_once(self) -> None:
        """One round: every job, each isolated from the others' failures."""
        now = self.clock()
        for name, job in self.jobs:
            began = time.monotonic()
            failed = False
            try:
                job(now)
            except Exception:
                failed = True
                log.exception("scheduled job %s failed; the next round tries again", name)
            metrics.scheduler_job(name, time.monotonic() - began, failed=failed)
        self.rounds += 1

    async def _loop(self) -> None:
        due: float | None = None  # the first round is on time by definition
        while not self._stopping.is_set():
            started = time.monotonic()
            await asyncio.to_thread(self.run_once)
            metrics.scheduler_round(None if due is None else started - due, time.time())
            due = started + self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="masking-scheduler")
            log.info("scheduler: %s every %g s", ", ".join(n for n, _ in self.jobs), self.interval)

    async def stop(self) -> None:
        """Stop after the round under way (waiting at most ``grace`` seconds for it)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(task, self.grace)
        except TimeoutError:
            log.warning("scheduler: a round still runs after %g s; not waiting", self.grace)
        except Exception:
            log.exception("scheduler loop failed")
