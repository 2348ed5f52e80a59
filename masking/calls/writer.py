"""Group commit of new call records: a decision returns only once its record is stored.

Every decision writes one call record, and a commit per decision (an fsync on
PostgreSQL) caps the desk at a few hundred decisions a second. Here, decisions that
arrive while a commit is running wait for it and are stored together by the next one:
one transaction of N records instead of N transactions. The first thread that finds no
commit running becomes the committer for everything queued (no writer thread to start
or stop); the others wait for their record's outcome.

Why a decision waits for the commit (and no journal is written instead): the answer to
Asterisk comes after the record is in the database, so a ``kill -9`` of the service at
any moment never leaves a dialed customer without a record, and the AMI tracker always
finds the record its events refer to. The wait is one commit at most.

A batch that fails (a constraint, a dead database) is retried row by row, so one bad
record fails only its own decision (which then denies: fail closed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, insert

from masking.storage.db import Database
from masking.storage.models import CallRecord

log = logging.getLogger("masking.calls.writer")

MAX_BATCH = 500


@dataclass
class _Pending:
    row: dict[str, Any]
    done: bool = False
    error: BaseException | None = None


def _columns() -> list[tuple[str, Any]]:
    """(attribute, value when unset) of every column: its scalar default, else None."""
    table: Table = CallRecord.__table__  # type: ignore[assignment]
    columns = []
    for column in table.columns:
        default = column.default
        scalar = default.arg if getattr(default, "is_scalar", False) else None  # type: ignore[union-attr]
        columns.append((column.key, scalar))
    return columns


_COLUMNS = _columns()


def record_row(record: CallRecord) -> dict[str, Any]:
    """Every column of a (transient) record, scalar column defaults applied: the rows of
    one ``executemany`` must all have the same keys. Read from the instance dict: the
    ORM's attribute machinery costs more than the insert."""
    values = record.__dict__
    row: dict[str, Any] = {}
    for key, default in _COLUMNS:
        value = values.get(key)
        row[key] = default if value is None else value
    return row


@dataclass
class DeferredRecords:
    """Records queued by :meth:`RecordWriter.deferred`; ``failed``: ids not stored."""

    items: list[_Pending] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)


class RecordWriter:
    """Stores call records in batched transactions; :meth:`insert` blocks until stored."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._table: Table = CallRecord.__table__  # type: ignore[assignment]
        self._lock = threading.Condition()
        self._queue: list[_Pending] = []
        self._committing = False
        self._deferred = threading.local()
        # counters, for the benchmark and tests
        self.commits = 0
        self.records = 0

    @contextmanager
    def deferred(self) -> Iterator[DeferredRecords]:
        """Within this block (in this thread), :meth:`insert` only queues; on leaving it
        the queued records are stored in one group commit. The caller must not answer a
        decision before the block ends, and must answer ``unavailable`` for every record
        id in :attr:`DeferredRecords.failed`."""
        batch = DeferredRecords()
        self._deferred.batch = batch
        try:
            yield batch
        finally:
            self._deferred.batch = None
            if batch.items:
                self._store(batch.items)
                batch.failed = {
                    str(item.row["id"]) for item in batch.items if item.error is not None
                }

    def insert(self, record: CallRecord) -> None:
        """Store ``record`` (a new one); raises what storing it raised."""
        item = _Pending(record_row(record))
        deferred: DeferredRecords | None = getattr(self._deferred, "batch", None)
        if deferred is not None:
            deferred.items.append(item)
            return
        self._store([item])
        if item.error is not None:
            raise item.error

    def _store(self, items: list[_Pending]) -> None:
        """Queue ``items`` and return once they are committed (or failed): by a commit
        running now or next, or by this thread becoming the committer."""
        with self._lock:
            self._queue.extend(items)
        while True:
            with self._lock:
                while self._committing and not all(i.done for i in items):
                    self._lock.wait()
                if all(i.done for i in items):
                    return
                self._committing = True
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            try:
                self._commit(batch)
            finally:
                with self._lock:
                    for pending in batch:
                        pending.done = True
                    self._committing = False
                    self._lock.notify_all()

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            with self.db.engine.begin() as conn:
                conn.execute(insert(self._table), [p.row for p in batch])
            self.commits += 1
            self.records += len(batch)
            return
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            log.warning(
                "a batch of %d call records failed (%s); storing them one by one",
                len(batch),
                type(exc).__name__,
            )
        for pending in batch:
            try:
                with self.db.engine.begin() as conn:
                    conn.execute(insert(self._table), [pending.row])
                self.commits += 1
                self.records += 1
            except Exception as exc:  # handed to the waiting decision
                pending.error = exc
