"""How the web shows a case's parts, the same for every kind (appeals, orders to confirm,
hotline contacts): who (by login), its calls, its notes, its history. Never a number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.policy import Action, may
from masking.storage.models import CallRecord, CaseEvent, CaseNote, Staff
from masking.web.auth import Principal
from masking.web.lookups import iso


def login_of(session: Session, staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    staff = session.get(Staff, staff_id)
    return staff.login if staff else None


def attempt_view(session: Session, p: Principal, record: CallRecord) -> dict[str, Any]:
    """A call about the case: when, who, how it ended, how long; the recording's URL only
    for those who may listen."""
    recorded = bool(record.recording_file and record.recording_bytes)
    view: dict[str, Any] = {
        "call_id": record.id,
        "staff": login_of(session, record.staff_id),
        "started_at": iso(record.started_at),
        "answered_at": iso(record.answered_at),
        "ended_at": iso(record.ended_at),
        "status": record.status,
        "disposition": record.disposition,
        "bridged_seconds": record.bridged_seconds,
        "recording": recorded,
    }
    if recorded and may(p.role, Action.LISTEN_RECORDINGS):
        view["recording_url"] = f"/api/v1/recordings/{record.id}"
    return view


def notes_view(session: Session, case_id: str) -> list[dict[str, Any]]:
    notes = session.scalars(
        select(CaseNote).where(CaseNote.case_id == case_id).order_by(CaseNote.at, CaseNote.id)
    )
    return [
        {"at": iso(n.at), "staff": login_of(session, n.staff_id), "text": n.text} for n in notes
    ]


def events_view(session: Session, case_id: str) -> list[dict[str, Any]]:
    """The case's audit, oldest first: who (None: the service itself), what, from which
    status to which, and the detail (a person's note, or an automatic detail's code)."""
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id)
    )
    return [
        {
            "at": iso(e.at),
            "staff": login_of(session, e.staff_id),
            "action": e.action,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "automatic": e.automatic,
            "detail": e.detail,
        }
        for e in events
    ]
