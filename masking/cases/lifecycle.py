"""A case's life: opened, taken, noted, its attempts linked, its status changed under the
rules of its kind (:mod:`masking.cases.rules`), every change audited and sent out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.cases import outbox
from masking.cases.rules import OPEN, Attempt, RuleBroken, check_change
from masking.service import MaskingService
from masking.states import AutoDetail, CaseStatus
from masking.storage.models import CallRecord, Case, CaseEvent, CaseNote

log = logging.getLogger("masking.cases")

MAX_NOTE = 4000


class CaseNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Opened:
    case_id: str
    new: bool  # False: the same source and reference were sent before


def locked_case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise CaseNotFound(case_id)
    return case


def audit(
    session: Session,
    case: Case,
    action: str,
    at: datetime,
    *,
    staff_id: int | None = None,
    from_status: str | None = None,
    detail: str = "",
    automatic: bool = False,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            at=at,
            staff_id=staff_id,
            action=action,
            from_status=from_status,
            to_status=case.status if action == "status" else None,
            automatic=automatic,
            detail=detail[:MAX_NOTE],
        )
    )


def attempts(session: Session, case_id: str) -> list[Attempt]:
    rows = session.execute(
        select(CallRecord.disposition, CallRecord.bridged_seconds).where(
            CallRecord.case_id == case_id
        )
    ).all()
    return [Attempt(disposition=d, bridged_seconds=b) for d, b in rows]


def open_case_of_shipment(session: Session, shipment_id: int) -> str | None:
    """The newest open case whose customer is this shipment's: calls about the shipment
    are its attempts."""
    return session.scalar(
        select(Case.id)
        .where(Case.shipment_id == shipment_id, Case.status.in_(OPEN))
        .order_by(Case.received_at.desc())
        .limit(1)
    )


def _set_status(
    session: Session,
    case: Case,
    target: CaseStatus,
    at: datetime,
    *,
    staff_id: int | None,
    detail: str,
    automatic: bool = False,
) -> None:
    before = case.status
    case.status = target
    if target not in OPEN:
        case.closed_at = at
        case.closed_automatically = automatic
    audit(
        session,
        case,
        "status",
        at,
        staff_id=staff_id,
        from_status=before,
        detail=detail,
        automatic=automatic,
    )
    outbox.enqueue(session, case, outbox.CASE_STATUS_CHANGED, at, previous_status=before)
    log.info("case %s: %s -> %s%s", case.id, before, target, " (automatic)" if automatic else "")


def take(service: MaskingService, case_id: str, staff_id: int) -> None:
    """A staff member takes the case: assigned, and In progress if it was New."""
    now = service.clock()
    with service.db.session() as session:
        case = locked_case(session, case_id)
        if case.status not in OPEN:
            raise RuleBroken("closed", f"status: the case is {case.status}", current=case.status)
        case.assignee_id = staff_id
        audit(session, case, "assigned", now, staff_id=staff_id)
        if case.status == CaseStatus.NEW:
            _set_status(
                session,
                case,
                CaseStatus.IN_PROGRESS,
                now,
                staff_id=staff_id,
                detail=AutoDetail.TAKEN,
            )


def add_note(service: MaskingService, case_id: str, staff_id: int, text: str) -> None:
    text = (text or "").strip()
    if not text:
        raise RuleBroken("note_required", "note: the note is empty")
    now = service.clock()
    with service.db.session() as session:
        case = locked_case(session, case_id)
        session.add(CaseNote(case_id=case.id, staff_id=staff_id, at=now, text=text[:MAX_NOTE]))
        audit(session, case, "note", now, staff_id=staff_id)


def change_status(
    service: MaskingService,
    case_id: str,
    staff_id: int,
    target: str,
    note: str,
    *,
    evidence: Sequence[Attempt] = (),
) -> None:
    """A person sets the status; the rules of the case's kind decide on the evidence
    (raises :class:`RuleBroken`). The note is kept with the change. ``evidence``: calls
    about the case kept under another case (a hotline call of the customer, see
    :func:`masking.hotline.verify.confirm_order`) that count beside its own attempts."""
    try:
        wanted = CaseStatus(target)
    except ValueError:
        raise RuleBroken(
            "transition", f"status: {target!r} is not a status", target=target
        ) from None
    now = service.clock()
    with service.db.session() as session:
        case = locked_case(session, case_id)
        done = [*attempts(session, case.id), *evidence]
        check_change(case.kind, case.status, wanted, done, note=note)
        text = note.strip()[:MAX_NOTE]
        session.add(CaseNote(case_id=case.id, staff_id=staff_id, at=now, text=text))
        _set_status(session, case, wanted, now, staff_id=staff_id, detail=text)


def close_automatically(
    session: Session,
    case: Case,
    at: datetime,
    why: str,
    target: CaseStatus = CaseStatus.NOT_RESOLVED,
) -> None:
    """The service's own change (the SLA timer, the end of a hotline call): ``target``,
    marked automatic, audited and sent out like any other. The caller holds the case's
    row lock."""
    check_change(case.kind, case.status, target, (), note=None, automatic=True)
    _set_status(session, case, target, at, staff_id=None, detail=why, automatic=True)


def attempt_started(session: Session, case_id: str, at: datetime) -> None:
    """A call about the case started: the first one stamps the clock and moves a New case
    to In progress."""
    case = locked_case(session, case_id)
    if case.first_attempt_at is None:
        case.first_attempt_at = at
    if case.status == CaseStatus.NEW:
        _set_status(
            session,
            case,
            CaseStatus.IN_PROGRESS,
            at,
            staff_id=None,
            detail=AutoDetail.FIRST_CALL,
            automatic=True,
        )
