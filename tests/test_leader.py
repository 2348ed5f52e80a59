"""Leader election between real processes (issue 13): one leader per deployment, on
SQLite (flock in var_dir) and PostgreSQL (advisory lock on its own connection); when the
leader is killed (-9) another process takes over; a leader whose database connection is
cut stops leading."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from masking.config import ConfigError, load_settings
from masking.leader import (
    ADVISORY_KEY,
    FileLeaderLock,
    LeaderLock,
    PostgresLeaderLock,
    advisory_key,
    lock_for,
    tracking_lock_for,
)

ROOT = Path(__file__).resolve().parents[1]

# a process that only runs for leadership and says when it wins or loses it
CANDIDATE = """
import asyncio, os, sys
from masking.config import ConfigError, load_settings
from masking.leader import Leadership, lock_for

async def main() -> None:
    settings = load_settings(var_dir=sys.argv[1], database_url=sys.argv[2])

    async def elected() -> None:
        print("LEADER", os.getpid(), flush=True)

    async def deposed() -> None:
        print("DEPOSED", os.getpid(), flush=True)

    leadership = Leadership(
        lock_for(settings), on_elected=elected, on_deposed=deposed,
        retry_interval=0.2, check_interval=0.2,
    )
    await leadership.start()
    print("READY", os.getpid(), flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


class Candidate:
    def __init__(self, var_dir: Path, database_url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CANDIDATE, str(var_dir), database_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.split()[0])

    def wait_for(self, word: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while word not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"pid {self.pid} never said {word}: {self.seen}")
            try:
                self.seen.append(self.lines.get(timeout=left))
            except queue.Empty:
                continue

    def drain(self, seconds: float) -> list[str]:
        time.sleep(seconds)
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return self.seen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def candidates() -> Iterator[list[Candidate]]:
    started: list[Candidate] = []
    yield started
    for candidate in started:
        candidate.stop()


def election(
    candidates: list[Candidate], var_dir: Path, database_url: str
) -> tuple[Candidate, Candidate]:
    first = Candidate(var_dir, database_url)
    candidates.append(first)
    first.wait_for("LEADER")
    second = Candidate(var_dir, database_url)
    candidates.append(second)
    second.wait_for("READY")
    assert "LEADER" not in second.drain(1.0)  # several retries: the lock is taken
    return first, second


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_other_process_takes_over_when_the_leader_is_killed(
    database: str, tmp_path: Path, candidates: list[Candidate], request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'masking.db'}"
        if database == "sqlite"
        else request.getfixturevalue("pg_template_url")
    )
    leader, follower = election(candidates, tmp_path, url)
    os.kill(leader.pid, signal.SIGKILL)
    follower.wait_for("LEADER", timeout=15)
    # a newcomer follows the new leader
    newcomer = Candidate(tmp_path, url)
    candidates.append(newcomer)
    newcomer.wait_for("READY")
    assert "LEADER" not in newcomer.drain(1.0)


def test_a_leader_whose_connection_is_cut_stops_leading(
    tmp_path: Path, candidates: list[Candidate], pg_template_url: str
) -> None:
    leader, follower = election(candidates, tmp_path, pg_template_url)
    admin = create_engine(pg_template_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND granted AND objid = :low AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"low": ADVISORY_KEY & 0xFFFFFFFF},
            ).all()
    finally:
        admin.dispose()
    assert ended == [(True,)]
    leader.wait_for("DEPOSED")
    # whoever gets the lock next leads; both keep trying
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        leads = [c for c in (leader, follower) if c.drain(0.2).count("LEADER") > (c is leader)]
        if leads:
            break
    assert len(leads) == 1


def test_the_lock_follows_the_database(tmp_path: Path) -> None:
    sqlite = load_settings(var_dir=tmp_path, database_url="")
    assert isinstance(lock_for(sqlite), FileLeaderLock)
    pg = load_settings(var_dir=tmp_path, database_url="postgresql+psycopg://u@127.0.0.1/x")
    lock = lock_for(pg)
    assert isinstance(lock, PostgresLeaderLock)
    lock.dispose()


def test_one_process_two_file_locks(tmp_path: Path) -> None:
    """flock is per open file: two runtimes in one process (the tests) exclude each other."""
    first, second = FileLeaderLock(tmp_path / "l"), FileLeaderLock(tmp_path / "l")
    assert first.try_acquire() and not second.try_acquire()
    first.release()
    assert second.try_acquire()
    assert (tmp_path / "l").read_text().strip() == str(os.getpid())
    second.release()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_one_tracker_per_asterisk(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    """AMI tracking is elected per Asterisk: two processes attached to one Asterisk, one
    tracks it; processes attached to different Asterisks each track theirs; neither lock
    is the deployment's leader lock."""
    url = "" if database == "sqlite" else request.getfixturevalue("pg_template_url")

    def tracking(name: str) -> LeaderLock:
        return tracking_lock_for(
            load_settings(var_dir=tmp_path, database_url=url, asterisk_name=name)
        )

    leader = lock_for(load_settings(var_dir=tmp_path, database_url=url))
    a1, a2, b, unnamed1, unnamed2 = (tracking(n) for n in ("ast-a", "ast-a", "ast-b", "", ""))
    locks = [leader, a1, a2, b, unnamed1, unnamed2]
    try:
        assert leader.try_acquire()
        assert a1.try_acquire() and not a2.try_acquire()  # one tracker for ast-a
        assert b.try_acquire()  # ast-b is tracked too
        assert unnamed1.try_acquire() and not unnamed2.try_acquire()
        a1.release()
        assert a2.try_acquire()  # the other instance of ast-a takes over
    finally:
        for lock in locks:
            lock.release()
            dispose = getattr(lock, "dispose", None)
            if dispose is not None:
                dispose()


def test_tracking_lock_names(tmp_path: Path) -> None:
    named = load_settings(var_dir=tmp_path, database_url="", asterisk_name="ast-a")
    lock = tracking_lock_for(named)
    assert isinstance(lock, FileLeaderLock) and lock.path == tmp_path / "tracker-ast-a.lock"
    pg = load_settings(
        var_dir=tmp_path, database_url="postgresql+psycopg://u@127.0.0.1/x", asterisk_name="b"
    )
    keys = {
        PostgresLeaderLock("postgresql+psycopg://u@127.0.0.1/x").key,
        advisory_key("masking:tracker:"),
    }
    pg_lock = tracking_lock_for(pg)
    assert isinstance(pg_lock, PostgresLeaderLock) and pg_lock.key not in keys
    assert "masking:tracker:b" in pg_lock.description
    pg_lock.dispose()
    with pytest.raises(ConfigError, match="MASKING_ASTERISK_NAME"):
        load_settings(var_dir=tmp_path, asterisk_name="bad name")
