"""Recordings for quality review: listing, random sampling, safe file lookup, retention.

Files live under ``settings.effective_recordings_dir`` at ``CallRecord.recording_file``
(a relative path built from the date and the call id only, never a phone number).
Retention deletes the file but keeps the record: ``recording_file`` stays for the audit
trail, ``recording_bytes`` becomes None and ``recording_error`` says why.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Select, select

from masking.service import MaskingService
from masking.storage.models import CallRecord

log = logging.getLogger("masking.recordings")

DELETED_BY_RETENTION = "deleted by retention"
MAX_RETENTION_DAYS = 3650


class RecordingError(ValueError):
    """Bad input for a recording operation (the message names the field)."""


@dataclass(frozen=True)
class PurgeReport:
    deleted: int  # files removed
    missing: int  # records whose file was already gone
    failed: int  # files that could not be removed (permissions ...)
    freed_bytes: int


def recording_path(call_id: str, at: datetime) -> str:
    """Relative path under the monitor directory: date folders and the call id only."""
    return f"{at:%Y/%m/%d}/{call_id}.wav"


def safe_path(recordings_dir: Path, relative: str | None) -> Path | None:
    """The absolute file for a stored relative path; None for anything escaping the dir."""
    if not relative:
        return None
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts or "\\" in relative or "\x00" in relative:
        return None
    path = Path(recordings_dir, *rel.parts)
    try:
        path.resolve().relative_to(Path(recordings_dir).resolve())
    except ValueError:
        return None
    return path


def file_for(service: MaskingService, record: CallRecord) -> Path | None:
    """The record's playable file, or None when it has none or it is gone."""
    if record.recording_bytes is None:
        return None
    path = safe_path(service.settings.effective_recordings_dir, record.recording_file)
    if path is None or not path.is_file():
        return None
    return path


def _with_recording(
    site_id: int | None, since: datetime | None, until: datetime | None
) -> Select[Any]:
    query = select(CallRecord).where(
        CallRecord.recording_file.is_not(None), CallRecord.recording_bytes.is_not(None)
    )
    if site_id is not None:
        query = query.where(CallRecord.site_id == site_id)
    if since is not None:
        query = query.where(CallRecord.started_at >= since)
    if until is not None:
        query = query.where(CallRecord.started_at < until)
    return query


def list_recordings(
    service: MaskingService,
    *,
    site_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CallRecord]:
    """Calls with a recording on disk, newest first."""
    if not 1 <= limit <= 500:
        raise RecordingError("limit: must be between 1 and 500")
    if offset < 0:
        raise RecordingError("offset: must not be negative")
    query = (
        _with_recording(site_id, since, until)
        .order_by(CallRecord.started_at.desc(), CallRecord.id)
        .limit(limit)
        .offset(offset)
    )
    with service.db.session() as session:
        return list(session.scalars(query))


def sample(
    service: MaskingService,
    *,
    site_id: int | None,
    size: int = 5,
    days: int = 7,
    rng: random.Random | None = None,
) -> list[CallRecord]:
    """A uniform random sample of the site's recorded calls of the last ``days`` days."""
    if not 1 <= size <= 100:
        raise RecordingError("size: must be between 1 and 100")
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise RecordingError(f"days: must be between 1 and {MAX_RETENTION_DAYS}")
    since = service.clock() - timedelta(days=days)
    with service.db.session() as session:
        ids = list(
            session.scalars(_with_recording(site_id, since, None).with_only_columns(CallRecord.id))
        )
        chosen = (rng or random.SystemRandom()).sample(ids, min(size, len(ids)))
        if not chosen:
            return []
        rows = session.scalars(select(CallRecord).where(CallRecord.id.in_(chosen)))
        return sorted(rows, key=lambda r: r.started_at, reverse=True)


def purge(service: MaskingService, *, days: int, dry_run: bool = False) -> PurgeReport:
    """Delete recordings of calls that started more than ``days`` days ago."""
    if not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
        raise RecordingError(f"days: must be a whole number between 1 and {MAX_RETENTION_DAYS}")
    cutoff = service.clock() - timedelta(days=days)
    directory = service.settings.effective_recordings_dir
    deleted = missing = failed = freed = 0
    with service.db.session() as session:
        rows = session.scalars(
            select(CallRecord).where(
                CallRecord.recording_file.is_not(None),
                CallRecord.started_at < cutoff,
                (CallRecord.recording_bytes.is_not(None))
                | (CallRecord.recording_error.is_(None))
                | (CallRecord.recording_error != DELETED_BY_RETENTION),
            )
        )
        for record in rows:
            path = safe_path(directory, record.recording_file)
            size = 0
            try:
                if path is None:
                    raise FileNotFoundError
                size = path.stat().st_size
                if not dry_run:
                    path.unlink()
            except FileNotFoundError:
                missing += 1
            except OSError as exc:
                failed += 1
                log.error("retention: cannot delete recording of call %s: %s", record.id, exc)
                continue
            else:
                deleted += 1
                freed += size
            if not dry_run:
                record.recording_bytes = None
                record.recording_error = DELETED_BY_RETENTION
        if dry_run:
            session.rollback()
    log.info(
        "retention (%d days%s): %d deleted, %d already gone, %d failed, %d bytes",
        days,
        ", dry run" if dry_run else "",
        deleted,
        missing,
        failed,
        freed,
    )
    return PurgeReport(deleted=deleted, missing=missing, failed=failed, freed_bytes=freed)
