"""Call recordings on behalf of admins and QA reviewers (admins alone purge them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from masking import recordings
from masking.policy import Action
from masking.service import MaskingService
from masking.storage.models import CallRecord
from masking.web.auth import Principal, need
from masking.web.calls.service import call_view, find_call
from masking.web.errors import ApiError, bad_input
from masking.web.lookups import site_for

LISTENS = "only admins and QA reviewers listen to recordings"


def _views(service: MaskingService, p: Principal, rows: list[CallRecord]) -> list[dict[str, Any]]:
    with service.db.session() as session:
        views = []
        for record in rows:
            view = call_view(session, p, record)
            view["recording_bytes"] = record.recording_bytes
            view["url"] = f"/api/v1/recordings/{record.id}"
            views.append(view)
        return views


def list_recordings(
    service: MaskingService, p: Principal, site: str | None, limit: int, offset: int
) -> dict[str, Any]:
    need(p, Action.LISTEN_RECORDINGS, LISTENS)
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
    try:
        rows = recordings.list_recordings(
            service, site_id=target.id if target else None, limit=limit, offset=offset
        )
    except recordings.RecordingError as exc:
        raise bad_input(str(exc)) from None
    return {"recordings": _views(service, p, rows)}


def sample_recordings(
    service: MaskingService, p: Principal, site: str, size: int, days: int
) -> dict[str, Any]:
    need(p, Action.LISTEN_RECORDINGS, "only admins and QA reviewers sample calls")
    with service.db.session() as session:
        target = site_for(session, p, site, required=True)
        assert target is not None
    try:
        rows = recordings.sample(service, site_id=target.id, size=size, days=days)
    except recordings.RecordingError as exc:
        raise bad_input(str(exc)) from None
    return {"site": target.code, "days": days, "recordings": _views(service, p, rows)}


def recording_file(service: MaskingService, p: Principal, call_id: str) -> Path:
    need(p, Action.LISTEN_RECORDINGS, LISTENS)
    with service.db.session() as session:
        record = find_call(session, call_id, "recording")
        path = recordings.file_for(service, record)
        if path is None:
            raise ApiError(
                404, "no_recording", record.recording_error or "this call has no recording"
            )
        return path


def purge_recordings(
    service: MaskingService, p: Principal, days: int, dry_run: bool
) -> dict[str, Any]:
    need(p, Action.PURGE_RECORDINGS, "only a platform admin deletes recordings")
    try:
        report = recordings.purge(service, days=days, dry_run=dry_run)
    except recordings.RecordingError as exc:
        raise bad_input(str(exc)) from None
    return {
        "days": days,
        "dry_run": dry_run,
        "deleted": report.deleted,
        "missing": report.missing,
        "failed": report.failed,
        "freed_bytes": report.freed_bytes,
    }
