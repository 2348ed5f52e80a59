"""Group commit of call records (masking.calls.writer), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from masking.calls.writer import RecordWriter
from masking.service import MaskingService
from masking.states import CallStatus, Direction, Disposition
from masking.storage.models import CallRecord, new_id


def _record(channel: str = "c") -> CallRecord:
    return CallRecord(id=new_id(), direction=Direction.OUTBOUND, channel_id=channel)


def _count(service: MaskingService) -> int:
    with service.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(CallRecord)) or 0)


def test_a_record_is_stored_with_its_column_defaults(service: MaskingService) -> None:
    writer = RecordWriter(service.db)
    record = _record()
    record.started_at = service.clock()
    writer.insert(record)
    with service.db.session() as session:
        stored = session.get(CallRecord, record.id)
        assert stored is not None
        assert (stored.disposition, stored.status) == (
            Disposition.IN_PROGRESS,
            CallStatus.DECIDING,
        )


def test_concurrent_decisions_share_commits(service: MaskingService) -> None:
    writer = RecordWriter(service.db)
    start = threading.Barrier(16)

    def decide(i: int) -> None:
        start.wait()
        for j in range(20):
            record = _record(f"{i}.{j}")
            record.started_at = service.clock()
            writer.insert(record)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert _count(service) == writer.records == 320
    # not a timing: sixteen threads waiting on one another's commits must have shared some
    assert writer.commits < 320


def test_a_bad_record_fails_alone(service: MaskingService) -> None:
    writer = RecordWriter(service.db)
    good = _record("good")
    good.started_at = service.clock()
    writer.insert(good)
    duplicate = _record("dup")
    duplicate.id = good.id
    duplicate.started_at = service.clock()
    errors: list[BaseException] = []
    others = [_record(f"other{i}") for i in range(5)]

    def insert(record: CallRecord) -> None:
        record.started_at = service.clock()
        try:
            writer.insert(record)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=insert, args=(r,)) for r in [duplicate, *others]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 1
    assert _count(service) == 6


def test_a_dead_database_fails_the_decision(tmp_path: pytest.TempPathFactory) -> None:
    from masking.storage.db import Database

    db = Database(f"sqlite:///{tmp_path}/none.db")  # no tables: every insert fails
    with pytest.raises(Exception, match=r"call_records|no such table"):
        RecordWriter(db).insert(_record())
    db.dispose()
