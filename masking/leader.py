"""Leader election: exactly one process of a deployment (every worker of every instance
sharing the database) holds the leadership and runs the duties that must run once: the
scheduler and the progressive dialer.

AMI event tracking and reconciliation have a leadership of their own per Asterisk
(:func:`tracking_lock_for`, a lock named after ``MASKING_ASTERISK_NAME``): among the
processes attached to one Asterisk exactly one tracks it, and every Asterisk of the
deployment is tracked once. Without a name (one Asterisk per deployment) there is one
tracking lock for the deployment, held by any of its processes.

The lock lives where the deployment's truth lives, the database:

* PostgreSQL: a session-level advisory lock held on a dedicated connection. When that
  connection is lost (the leader died: the server ends its session and frees the lock at
  once; the network failed; the leader froze and ``idle_session_timeout`` ended the
  session), the leadership is lost with it and the leader stops its duties.
* SQLite (one host by nature): ``flock`` on ``var_dir/leader.lock``; the kernel frees it
  when the holder dies, however it dies.

A Redis lock alone is not enough: Redis may restart and forget it while the holder lives.

Followers try again every ``retry_interval`` seconds and take over when the leader is
gone. The leader checks its lock every ``check_interval`` seconds. Between the old
leader's connection dropping and it noticing, two processes may act as leader for about
a second: every leader duty tolerates that (call-log updates are idempotent and never move
a record backwards; scheduler jobs and dialer steps claim their rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from masking.config import Settings

log = logging.getLogger("masking.leader")

LOCK_FILE = "leader.lock"


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64 bits) for the lock called ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


# one advisory lock key for every deployment: advisory locks are scoped to one database
ADVISORY_KEY = advisory_key("masking:leader")


class LeaderLock(Protocol):
    """A lock at most one process holds; its methods block (run them in a thread)."""

    description: str

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it now."""
        ...

    def still_held(self) -> bool:
        """False once the lock was lost (its connection dropped)."""
        ...

    def release(self) -> None: ...


class FileLeaderLock:
    """``flock`` on a file: one host (SQLite deployments)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file lock {path}"
        self._handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open while leading
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")  # for an admin asking who leads
        handle.flush()
        self._handle = handle
        return True

    def still_held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


class PostgresLeaderLock:
    """``pg_try_advisory_lock`` on a dedicated connection (not from the pool)."""

    def __init__(
        self,
        url: str,
        *,
        idle_timeout_ms: int = 10_000,
        key: int = ADVISORY_KEY,
        description: str = "PostgreSQL advisory lock",
    ) -> None:
        self.description = description
        self.key = key
        self.idle_timeout_ms = idle_timeout_ms
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            hide_parameters=True,
            # a dead peer is noticed in seconds, by both ends
            connect_args={
                "connect_timeout": 5,
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 2,
            },
        )
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is not None:
            return self.still_held()
        connection = self._engine.connect()
        try:
            # a frozen leader (SIGSTOP, a stuck host) loses its session, hence the lock,
            # after this long without a check; the server also probes a silent peer
            connection.execute(text(f"SET idle_session_timeout = {int(self.idle_timeout_ms)}"))
            connection.execute(text("SET tcp_keepalives_idle = 5"))
            connection.execute(text("SET tcp_keepalives_interval = 2"))
            connection.execute(text("SET tcp_keepalives_count = 2"))
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def still_held(self) -> bool:
        connection = self._connection
        if connection is None:
            return False
        try:
            connection.execute(text("SELECT 1")).scalar()
        except Exception:
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.invalidate()
            with contextlib.suppress(Exception):
                connection.close()

    def release(self) -> None:
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self._drop()

    def dispose(self) -> None:
        self._drop()
        self._engine.dispose()


def _lock(settings: Settings, label: str, file: str) -> LeaderLock:
    """The lock named ``label``: a PostgreSQL advisory lock, or ``var_dir/file`` on SQLite."""
    url = settings.effective_database_url
    if url.startswith("postgresql"):
        return PostgresLeaderLock(
            url, key=advisory_key(label), description=f"PostgreSQL advisory lock {label}"
        )
    if url.startswith("sqlite"):
        return FileLeaderLock(settings.var_dir / file)
    raise ValueError("leader election supports PostgreSQL and SQLite")


def lock_for(settings: Settings) -> LeaderLock:
    """The deployment's leader lock: by the database the settings point at."""
    return _lock(settings, "masking:leader", LOCK_FILE)


def tracking_lock_for(settings: Settings) -> LeaderLock:
    """The lock of AMI event tracking and reconciliation for the Asterisk this process is
    attached to (``MASKING_ASTERISK_NAME``; empty: the deployment's only Asterisk)."""
    name = settings.asterisk_name
    # the name's shape (masking.shapes.ASTERISK_NAME_RE) is safe in a file name
    return _lock(
        settings, f"masking:tracker:{name}", f"tracker-{name}.lock" if name else "tracker.lock"
    )


Duty = Callable[[], Awaitable[None]]


class Leadership:
    """Tries to hold ``lock``; runs ``on_elected`` when it gets it and ``on_deposed`` when
    it loses it (or stops). Both are awaited on the event loop; the lock's blocking calls
    run in a thread."""

    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_elected: Duty,
        on_deposed: Duty,
        retry_interval: float = 1.5,
        check_interval: float = 1.0,
        check_timeout: float = 5.0,
        role: str = "leader",
    ) -> None:
        self.lock = lock
        # in the log lines: "leader" (the deployment's), "tracker" (an Asterisk's AMI tracking)
        self.role = role
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self.is_leader = False
        self.terms = 0  # how many times this process became leader
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def try_now(self) -> bool:
        """One attempt, without running the duties (before the loop starts: a process
        that leads from the start can set itself up as leader at once)."""
        if not self.is_leader:
            self.is_leader = await self._attempt()
            if self.is_leader:
                self.terms += 1
                log.info("%s (%s), pid %s", self.role, self.lock.description, os.getpid())
        return self.is_leader

    async def _attempt(self) -> bool:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self.lock.try_acquire), self.check_timeout
            )
        except Exception as exc:
            log.warning("leader election: %s unavailable (%s)", self.lock.description, exc)
            return False

    async def _held(self) -> bool:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self.lock.still_held), self.check_timeout
            )
        except Exception:
            return False

    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name=f"masking-{self.role}")

    async def _loop(self) -> None:
        if self.is_leader:
            await self._elected()
        while not self._stopping.is_set():
            if self.is_leader:
                if not await self._held():
                    log.error(
                        "%s lost (%s); %s duties stop",
                        "leadership" if self.role == "leader" else f"{self.role} lock",
                        self.lock.description,
                        self.role,
                    )
                    self.is_leader = False
                    await self._deposed()
                    await self._release()
            elif await self.try_now():
                await self._elected()
            wait = self.check_interval if self.is_leader else self.retry_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)

    async def _elected(self) -> None:
        try:
            await self.on_elected()
        except Exception:
            log.exception("leader duties failed to start")

    async def _deposed(self) -> None:
        try:
            await self.on_deposed()
        except Exception:
            log.exception("leader duties failed to stop")

    async def stop(self) -> None:
        """Stop trying; a leader stops its duties and frees the lock for another process."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(BaseException):
                await task
        if self.is_leader:
            self.is_leader = False
            await self._deposed()
        await self._release()
        dispose = getattr(self.lock, "dispose", None)
        if dispose is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(dispose), self.check_timeout)

    async def _release(self) -> None:
        # a connection stuck in a check may never answer: do not wait for it forever
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.to_thread(self.lock.release), self.check_timeout)
