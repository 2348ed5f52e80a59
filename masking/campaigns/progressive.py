"""Progressive dialing: an operator starts a session over a campaign assigned to them, and
whenever their phone is free and the note of the last attempt is written, the service
picks the next due order and rings the operator's phone first, then the customer.

A session is a :class:`DialSession` row. :func:`step` moves it on; the telephony adapter
(``agi/progressive.py``) calls it about once a second for every session that may need it
(:func:`sessions_to_step`). It never rings anything itself: it returns a
:class:`StepResult` whose ``outcome`` is ``dial`` with the prepared click-to-call (call
id, the operator's endpoint, a label) and the adapter originates it.

Rules:

- starting needs ``Action.WORK_CAMPAIGNS``, a desk phone and the campaign assigned to
  the staff member today (in the campaign's time zone); one running or paused session
  per staff member;
- pause, resume, stop at any time. A call that is up is never cut: after a pause or a
  stop no further call starts, and the call's end still makes its note due;
- after each attempt a note is owed (``note_due_call_id``) before the next call starts;
  any note the operator writes on the order's case after that call started pays it
  (:func:`write_note`, the order page, the note of a confirmation);
- the operator is free when the session's current call has ended (its call record's
  ``ended_at``, which AMI closes) and no other call of theirs is under way;
- the operator's phone did not answer (busy, rejected, no answer, could not be rung):
  the customer's leg never started (the call record has no ``recording_file``: the desk
  names it when it dials the customer; see :func:`masking.campaigns.orders.is_attempt`),
  so it is no attempt on the order: no note is owed, the order's claim is released at
  once (dialable again), and after :data:`MAX_OPERATOR_MISSES` such misses in a row the
  session pauses with ``idle_reason`` ``operator_unreachable``;
- a call refused by the desk after the operator answered (the site closed meanwhile, the
  number expired...) is no attempt either: the session pauses, ``refused_<refusal>``;
- nothing dialable: the session stays running and says why in ``idle_reason``
  (stored ``"<wait reason>@<UTC minute>"``; :func:`state` reads it back as
  ``idle_reason`` and ``idle_until``) so the console can say "nothing due: next at 14:10
  (gap)".

Two service instances may step one session at the same time: the session row is claimed
by a conditional UPDATE on ``current_call_id IS NULL`` (only one instance goes on to
pick), and the order by the worklist's claim (:func:`masking.campaigns.worklist.claim`).
Nothing here logs or returns a customer's number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from masking.calls import call_log
from masking.campaigns import orders, worklist
from masking.cases import lifecycle
from masking.cases.rules import RuleBroken
from masking.policy import Action, may
from masking.refusals import Refusal, Refused
from masking.service import MaskingService
from masking.states import DialSessionState, Direction, Disposition, Role
from masking.storage.models import (
    CallRecord,
    Campaign,
    CaseNote,
    DialSession,
    Order,
    Staff,
    new_id,
)

log = logging.getLogger("masking.campaigns")

CHANNEL = "progressive"  # how the reveal behind a session's call is audited
MAX_OPERATOR_MISSES = 2  # the operator's phone missed this many calls in a row: pause
# a session row claimed by an instance that died before it named its call is freed
PICK_STALE = timedelta(minutes=2)
# an idle session looks for a due order again after this (or at once when its wait is
# over): a pick that finds nothing among 100,000 orders costs tens of milliseconds
IDLE_RECHECK = timedelta(seconds=5)
# another call of the operator's still "in progress" after this long no longer keeps
# them busy (AMI reconciliation closes such records; this keeps a lost one from
# blocking the session for ever)
OTHER_CALL_STALE = timedelta(hours=4)
OPEN_STATES = (DialSessionState.RUNNING.value, DialSessionState.PAUSED.value)
LABEL_MAX = 40


class IdleReason(StrEnum):
    """Why a session does not dial now, beside an order's ``WaitReason`` (those come
    from the worklist's explanation of an empty pick, with the moment it ends)."""

    EMPTY = "empty"  # no order in the campaign's list at all
    OPERATOR_ON_CALL = "operator_on_call"  # another call of the operator is under way
    OPERATOR_UNREACHABLE = "operator_unreachable"  # paused: the phone missed twice
    NOT_ASSIGNED = "not_assigned"  # paused: the campaign is not the operator's today
    NOT_ALLOWED = "not_allowed"  # paused: the account may not work campaigns (any more)
    NO_PHONE = "no_phone"  # paused: no desk phone
    CAMPAIGN_INACTIVE = "campaign_inactive"  # paused: the campaign was switched off
    REFUSED = "refused"  # paused: stored as "refused_<Refusal value>"


class StepOutcome(StrEnum):
    DIAL = "dial"  # a call is prepared: originate it now
    ON_CALL = "on_call"  # the session's call is under way
    NOTE_DUE = "note_due"  # the last attempt's note is not written yet
    IDLE = "idle"  # nothing dialable now (see idle_reason / idle_until)
    PAUSED = "paused"
    STOPPED = "stopped"
    CONTENDED = "contended"  # another instance is stepping this session right now


@dataclass(frozen=True)
class StepResult:
    outcome: StepOutcome
    call_id: str | None = None  # DIAL: the call to originate; ON_CALL / NOTE_DUE: its call
    endpoint: str | None = None  # DIAL: the operator's PJSIP endpoint
    label: str | None = None  # DIAL: what the operator's phone shows ("Order 1042")
    order_id: int | None = None  # DIAL: the order dialed
    idle_reason: str | None = None  # IDLE / PAUSED: why
    idle_until: datetime | None = None  # IDLE: when the next order becomes dialable


@dataclass(frozen=True)
class SessionView:
    """A session as the console shows it (never a customer's number)."""

    id: str
    campaign_id: int
    staff_id: int
    state: str  # DialSessionState
    started_at: datetime
    ended_at: datetime | None
    current_call_id: str | None  # the call up now (None also while a pick is under way)
    current_call_status: str | None  # its CallStatus
    current_order_id: int | None
    note_due_call_id: str | None  # the attempt whose note is owed
    note_due_order_id: int | None
    idle_reason: str | None  # an IdleReason, a WaitReason or "refused_<refusal>"
    idle_until: datetime | None  # when the next order becomes dialable, if known
    last_pick_at: datetime | None


class SessionNotFound(LookupError):
    pass


class SessionConflict(RuleBroken):
    """The staff member already has an open (running or paused) session: ``session_id``."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            "session_open", "session: you already have a progressive session; stop it first"
        )
        self.session_id = session_id


# ---- the idle reason as stored (dial_sessions.idle_reason holds 40 characters) ----------
def encode_idle(reason: str, until: datetime | None = None) -> str:
    """``reason``, with ``until`` to the minute, rounded up ("not before 14:10")."""
    if until is None:
        return reason[:40]
    minute = until.astimezone(UTC).replace(second=0, microsecond=0)
    if minute < until:
        minute += timedelta(minutes=1)
    return f"{reason[:20]}@{minute:%Y-%m-%dT%H:%MZ}"


def decode_idle(stored: str | None) -> tuple[str | None, datetime | None]:
    if not stored:
        return None, None
    reason, _, when = stored.partition("@")
    if not when:
        return reason, None
    try:
        return reason, datetime.strptime(when, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    except ValueError:
        return reason, None


def _utc(moment: datetime) -> datetime:
    """SQLite may hand back naive UTC from an aggregate; columns are aware already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# ---- reading ----------------------------------------------------------------------------
def _row(session: Session, session_id: str, *, lock: bool = False) -> DialSession:
    row = session.get(DialSession, session_id, with_for_update=lock or None)
    if row is None:
        raise SessionNotFound(session_id)
    return row


def _order_of_call(session: Session, call_id: str | None) -> int | None:
    if not call_id:
        return None
    return session.scalar(
        select(Order.id)
        .join(CallRecord, CallRecord.case_id == Order.case_id)
        .where(CallRecord.id == call_id)
    )


def state(service: MaskingService, session_id: str) -> SessionView:
    """The session now. Raises :class:`SessionNotFound`."""
    with service.db.session() as session:
        row = _row(session, session_id)
        reason, until = decode_idle(row.idle_reason)
        current = session.get(CallRecord, row.current_call_id) if row.current_call_id else None
        return SessionView(
            id=row.id,
            campaign_id=row.campaign_id,
            staff_id=row.staff_id,
            state=row.state,
            started_at=row.started_at,
            ended_at=row.ended_at,
            current_call_id=current.id if current is not None else None,
            current_call_status=current.status if current is not None else None,
            current_order_id=_order_of_call(session, current.id) if current else None,
            note_due_call_id=row.note_due_call_id,
            note_due_order_id=_order_of_call(session, row.note_due_call_id),
            idle_reason=reason,
            idle_until=until,
            last_pick_at=row.last_pick_at,
        )


def open_session(service: MaskingService, staff_id: int) -> str | None:
    """The staff member's running or paused session, if any."""
    with service.db.session() as session:
        return session.scalar(
            select(DialSession.id)
            .where(DialSession.staff_id == staff_id, DialSession.state.in_(OPEN_STATES))
            .order_by(DialSession.started_at.desc())
            .limit(1)
        )


def sessions_to_step(service: MaskingService) -> list[str]:
    """Sessions :func:`step` has work for: the running ones, and any other with a call up
    or being set up (its end makes the note due, even after a pause or a stop)."""
    with service.db.session() as session:
        return list(
            session.scalars(
                select(DialSession.id)
                .where(
                    or_(
                        DialSession.state == DialSessionState.RUNNING,
                        DialSession.current_call_id.is_not(None),
                    )
                )
                .order_by(DialSession.started_at, DialSession.id)
            )
        )


# ---- who may ----------------------------------------------------------------------------
def _today(campaign: Campaign, now: datetime) -> date:
    return worklist.campaign_today(campaign, now)


def _work_refusal(
    session: Session, staff: Staff | None, campaign: Campaign | None, now: datetime
) -> tuple[IdleReason, Refused] | None:
    """Why ``staff`` may not dial ``campaign`` now (None: they may)."""
    if staff is None or not staff.active:
        return IdleReason.NOT_ALLOWED, Refused(Refusal.INACTIVE)
    if not may(staff.role, Action.WORK_CAMPAIGNS):
        return IdleReason.NOT_ALLOWED, Refused(
            Refusal.NOT_ALLOWED, "your role may not work campaigns"
        )
    if campaign is None:
        return IdleReason.CAMPAIGN_INACTIVE, Refused(Refusal.UNKNOWN, "no such campaign")
    if staff.site_id != campaign.site_id:
        return IdleReason.NOT_ALLOWED, Refused(Refusal.OTHER_SITE)
    if not campaign.active:
        return IdleReason.CAMPAIGN_INACTIVE, Refused(
            Refusal.NOT_ALLOWED, "the campaign is switched off"
        )
    if worklist.assignee_on(session, campaign.id, _today(campaign, now)) != staff.id:
        return IdleReason.NOT_ASSIGNED, Refused(
            Refusal.NOT_ALLOWED, "this campaign is not assigned to you today"
        )
    if not staff.sip_endpoint:
        return IdleReason.NO_PHONE, Refused(Refusal.NO_PHONE)
    return None


def _may_act(session: Session, actor_id: int, row: DialSession, *, supervise: bool) -> None:
    """The session's own operator; for pause and stop (``supervise``) also an admin, or
    an owner / staff manager of the campaign's site. Raises :class:`Refused`."""
    actor = session.get(Staff, actor_id)
    if actor is None or not actor.active:
        raise Refused(Refusal.INACTIVE)
    if actor_id == row.staff_id:
        return
    if supervise and may(actor.role, Action.MANAGE_CAMPAIGNS):
        campaign = session.get(Campaign, row.campaign_id)
        if actor.role == Role.ADMIN or (campaign and actor.site_id == campaign.site_id):
            return
    raise Refused(Refusal.NOT_ALLOWED, "this is another staff member's session")


# ---- commands -----------------------------------------------------------------------------
def start(service: MaskingService, campaign_id: int, staff_id: int) -> str:
    """Start a progressive session of ``staff_id`` over the campaign; returns its id.

    Raises :class:`Refused` (inactive, role, other site, campaign switched off or
    unknown, not assigned today, no desk phone) or :class:`SessionConflict`."""
    now = service.clock()
    session_id = new_id()
    with service.db.session() as session:
        # the staff row's lock serialises two starts by one person on PostgreSQL; the
        # conditional INSERT does it on SQLite (one writer)
        staff = session.get(Staff, staff_id, with_for_update=True)
        campaign = session.get(Campaign, campaign_id)
        refused = _work_refusal(session, staff, campaign, now)
        if refused is not None:
            raise refused[1]
        columns = DialSession.__table__.c
        already = exists().where(
            DialSession.staff_id == staff_id, DialSession.state.in_(OPEN_STATES)
        )
        values: list[tuple[str, Any]] = [
            ("id", session_id),
            ("campaign_id", campaign_id),
            ("staff_id", staff_id),
            ("state", DialSessionState.RUNNING.value),
            ("started_at", now),
        ]
        source = select(*(literal(v, columns[k].type) for k, v in values)).where(~already)
        session.execute(insert(DialSession).from_select([k for k, _ in values], source))
        # (the rowcount of INSERT ... SELECT is not reported by every driver)
        if session.get(DialSession, session_id) is None:
            session.rollback()
            existing = session.scalar(
                select(DialSession.id).where(
                    DialSession.staff_id == staff_id, DialSession.state.in_(OPEN_STATES)
                )
            )
            raise SessionConflict(existing or "")
    log.info(
        "progressive session %s: staff %s started campaign %s", session_id, staff_id, campaign_id
    )
    return session_id


def _change_state(
    service: MaskingService,
    session_id: str,
    actor_id: int,
    *,
    allowed_from: tuple[str, ...],
    target: DialSessionState,
    supervise: bool,
) -> None:
    now = service.clock()
    with service.db.session() as session:
        row = _row(session, session_id, lock=True)
        _may_act(session, actor_id, row, supervise=supervise)
        if row.state == target:
            return  # pressed twice: already so
        if row.state not in allowed_from:
            raise RuleBroken(
                "session_state", f"session: a {row.state} session cannot become {target}"
            )
        if target is DialSessionState.RUNNING:
            staff = session.get(Staff, row.staff_id)
            campaign = session.get(Campaign, row.campaign_id)
            refused = _work_refusal(session, staff, campaign, now)
            if refused is not None:
                raise refused[1]
        row.state = target.value
        row.idle_reason = None
        if target is DialSessionState.RUNNING:
            row.resumed_at = now  # the operator's misses are counted afresh
        if target is DialSessionState.STOPPED:
            row.ended_at = now
    log.info("progressive session %s: %s by staff %s", session_id, target.value, actor_id)


def pause(service: MaskingService, session_id: str, staff_id: int) -> None:
    """No further call starts until :func:`resume`; a call that is up goes on."""
    _change_state(
        service,
        session_id,
        staff_id,
        allowed_from=(DialSessionState.RUNNING.value,),
        target=DialSessionState.PAUSED,
        supervise=True,
    )


def resume(service: MaskingService, session_id: str, staff_id: int) -> None:
    """Run a paused session again (the operator only; the same checks as :func:`start`)."""
    _change_state(
        service,
        session_id,
        staff_id,
        allowed_from=(DialSessionState.PAUSED.value,),
        target=DialSessionState.RUNNING,
        supervise=False,
    )


def stop(service: MaskingService, session_id: str, staff_id: int) -> None:
    """End the session for good: no further call; a call that is up is not cut, and its
    note is still owed (and may be written)."""
    _change_state(
        service,
        session_id,
        staff_id,
        allowed_from=OPEN_STATES,
        target=DialSessionState.STOPPED,
        supervise=True,
    )


def write_note(service: MaskingService, session_id: str, staff_id: int, text: str) -> str:
    """The operator's note about the session's last attempt (or the call up now): a case
    note on the order's case, which lets the next call start. Returns the call id the
    note is about. Raises :class:`RuleBroken` (``note_required``: empty; ``no_call``:
    no call to write about), :class:`Refused` (not the session's operator)."""
    if not (text or "").strip():
        raise RuleBroken("note_required", "note: say what happened (a note is required)")
    with service.db.session() as session:
        row = _row(session, session_id)
        _may_act(session, staff_id, row, supervise=False)
        call_id = row.note_due_call_id or row.current_call_id
        record = session.get(CallRecord, call_id) if call_id else None
        if record is None:
            raise RuleBroken("no_call", "note: there is no call of this session to note")
        call_id, case_id = record.id, record.case_id
    if case_id is not None:
        lifecycle.add_note(service, case_id, staff_id, text)
    with service.db.session() as session:
        session.execute(
            update(DialSession)
            .where(DialSession.id == session_id, DialSession.note_due_call_id == call_id)
            .values(note_due_call_id=None)
            .execution_options(synchronize_session=False)
        )
    log.info("progressive session %s: note written about call %s", session_id, call_id)
    return call_id


# ---- the step -----------------------------------------------------------------------------
def _noted_since(session: Session, record: CallRecord, staff_id: int) -> bool:
    """The operator wrote a note on the call's case after the call started."""
    if record.case_id is None:
        return True
    return (
        session.scalar(
            select(CaseNote.id)
            .where(
                CaseNote.case_id == record.case_id,
                CaseNote.staff_id == staff_id,
                CaseNote.at >= record.started_at,
            )
            .limit(1)
        )
        is not None
    )


def _consecutive_misses(session: Session, row: DialSession) -> int:
    """How many of the operator's latest campaign calls since the session started (or was
    last resumed), in a row, ended without the operator's phone answering."""
    records = session.scalars(
        select(CallRecord)
        .where(
            CallRecord.staff_id == row.staff_id,
            CallRecord.direction == Direction.CLICK2CALL,
            CallRecord.reason_code == orders.REASON_CODE,
            CallRecord.started_at >= (row.resumed_at or row.started_at),
            CallRecord.ended_at.is_not(None),
        )
        .order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
        .limit(MAX_OPERATOR_MISSES * 2)
    ).all()
    misses = 0
    for record in records:
        if not _operator_missed(record):
            break
        misses += 1
    return misses


def _operator_missed(record: CallRecord) -> bool:
    """The call ended before the customer's leg was dialed, and not by a refusal: the
    operator's phone did not answer (or could not be rung)."""
    return (
        record.ended_at is not None
        and record.disposition != Disposition.DENIED
        and not orders.is_attempt(record.disposition, record.recording_file)
    )


def _pause_for(session: Session, session_id: str, reason: str) -> None:
    session.execute(
        update(DialSession)
        .where(DialSession.id == session_id, DialSession.state == DialSessionState.RUNNING)
        .values(state=DialSessionState.PAUSED.value, idle_reason=reason[:40])
        .execution_options(synchronize_session=False)
    )


def _settle(service: MaskingService, row: DialSession, now: datetime) -> StepResult | None:
    """The session's current call: still up -> ON_CALL (or CONTENDED while another
    instance sets it up); ended -> moved to ``note_due_call_id`` (an attempt) or dropped
    (a miss or a refusal; see the module doc), and None: go on."""
    call_id = row.current_call_id
    assert call_id is not None
    with service.db.session() as session:
        record = session.get(CallRecord, call_id)
        if record is None:
            # a pick under way (another instance), or one whose instance died
            picked = row.last_pick_at
            if picked is not None and _utc(picked) > now - PICK_STALE:
                return StepResult(StepOutcome.CONTENDED)
            session.execute(
                update(DialSession)
                .where(DialSession.id == row.id, DialSession.current_call_id == call_id)
                .values(current_call_id=None)
                .execution_options(synchronize_session=False)
            )
            log.warning("progressive session %s: a stale pick was dropped", row.id)
            return None
        if record.ended_at is None:
            return StepResult(StepOutcome.ON_CALL, call_id=call_id)
        attempt = orders.is_attempt(record.disposition, record.recording_file)
        owed = attempt and not _noted_since(session, record, row.staff_id)
        done = session.execute(
            update(DialSession)
            .where(DialSession.id == row.id, DialSession.current_call_id == call_id)
            .values(current_call_id=None, note_due_call_id=call_id if owed else None)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:
            return StepResult(StepOutcome.CONTENDED)  # another instance settled it
        if attempt:
            log.info(
                "progressive session %s: call %s ended %s%s",
                row.id,
                call_id,
                record.disposition,
                "; note due" if owed else "",
            )
            return None
        if record.disposition == Disposition.DENIED:
            reason = f"{IdleReason.REFUSED.value}_{record.deny_reason or 'unknown'}"
            _pause_for(session, row.id, reason)
            log.warning(
                "progressive session %s: call %s refused (%s); paused", row.id, call_id, reason
            )
            return None
        # the operator's phone missed: no attempt; the order is dialable again at once
        order_id = _order_of_call(session, call_id)
        if order_id is not None:
            held = session.scalar(select(Order.dialing_call_id).where(Order.id == order_id))
            if held == call_id:  # the call log's hook did not release it
                worklist.release(session, order_id, now, token=call_id)
        misses = _consecutive_misses(session, row)
        log.info(
            "progressive session %s: the operator's phone missed call %s (%s, %d in a row)",
            row.id,
            call_id,
            record.disposition,
            misses,
        )
        if misses >= MAX_OPERATOR_MISSES:
            _pause_for(session, row.id, IdleReason.OPERATOR_UNREACHABLE.value)
            log.warning(
                "progressive session %s: paused, the operator's phone missed %d calls",
                row.id,
                misses,
            )
    return None


def _set_idle(service: MaskingService, session_id: str, stored: str | None) -> None:
    with service.db.session() as session:
        session.execute(
            update(DialSession)
            .where(DialSession.id == session_id, DialSession.idle_reason.is_distinct_from(stored))
            .values(idle_reason=stored)
            .execution_options(synchronize_session=False)
        )


def _operator_on_other_call(session: Session, staff_id: int, now: datetime) -> bool:
    return (
        session.scalar(
            select(CallRecord.id)
            .where(
                CallRecord.staff_id == staff_id,
                CallRecord.ended_at.is_(None),
                CallRecord.disposition == Disposition.IN_PROGRESS,
                CallRecord.started_at > now - OTHER_CALL_STALE,
            )
            .limit(1)
        )
        is not None
    )


def _idle_of(empty: worklist.Empty) -> tuple[str, datetime | None]:
    if empty.total == 0:
        return IdleReason.EMPTY.value, None
    if empty.earliest_reason:
        return empty.earliest_reason, empty.earliest
    if empty.counts:
        return max(empty.counts.items(), key=lambda kv: kv[1])[0], None
    return IdleReason.EMPTY.value, None


def _unclaim(service: MaskingService, session_id: str, token: str, idle: str | None) -> None:
    with service.db.session() as session:
        session.execute(
            update(DialSession)
            .where(DialSession.id == session_id, DialSession.current_call_id == token)
            .values(current_call_id=None, idle_reason=idle)
            .execution_options(synchronize_session=False)
        )


def step(service: MaskingService, session_id: str, now: datetime | None = None) -> StepResult:
    """Move the session on (see the module doc); DIAL means: originate the call now.

    Raises :class:`SessionNotFound`; a click-to-call refusal pauses the session
    (``refused_<refusal>``), anything unexpected propagates with the session unclaimed."""
    now = now or service.clock()
    with service.db.session() as session:
        row = _row(session, session_id)
    if row.current_call_id is not None:
        settled = _settle(service, row, now)
        if settled is not None:
            return settled
        with service.db.session() as session:
            row = _row(session, session_id)
    if row.state != DialSessionState.RUNNING:
        outcome = (
            StepOutcome.STOPPED if row.state == DialSessionState.STOPPED else (StepOutcome.PAUSED)
        )
        return StepResult(outcome, idle_reason=decode_idle(row.idle_reason)[0])
    if row.note_due_call_id is not None:
        with service.db.session() as session:
            record = session.get(CallRecord, row.note_due_call_id)
            if record is not None and not _noted_since(session, record, row.staff_id):
                return StepResult(StepOutcome.NOTE_DUE, call_id=row.note_due_call_id)
            session.execute(
                update(DialSession)
                .where(
                    DialSession.id == session_id,
                    DialSession.note_due_call_id == row.note_due_call_id,
                )
                .values(note_due_call_id=None)
                .execution_options(synchronize_session=False)
            )
    with service.db.session() as session:
        staff = session.get(Staff, row.staff_id)
        campaign = session.get(Campaign, row.campaign_id)
        refused = _work_refusal(session, staff, campaign, now)
        if refused is not None:
            _pause_for(session, session_id, refused[0].value)
            log.warning("progressive session %s: paused (%s)", session_id, refused[0].value)
            return StepResult(StepOutcome.PAUSED, idle_reason=refused[0].value)
        busy = _operator_on_other_call(session, row.staff_id, now)
    if busy:
        _set_idle(service, session_id, IdleReason.OPERATOR_ON_CALL.value)
        return StepResult(StepOutcome.IDLE, idle_reason=IdleReason.OPERATOR_ON_CALL.value)
    idle, idle_until = decode_idle(row.idle_reason)
    if (
        idle is not None
        and row.last_pick_at is not None
        and now - row.last_pick_at < IDLE_RECHECK
        and (idle_until is None or now < idle_until)
    ):
        return StepResult(StepOutcome.IDLE, idle_reason=idle, idle_until=idle_until)
    # claim the session row: of two instances stepping it, one goes on
    token = new_id()
    with service.db.session() as session:
        done = session.execute(
            update(DialSession)
            .where(
                DialSession.id == session_id,
                DialSession.state == DialSessionState.RUNNING,
                DialSession.current_call_id.is_(None),
                DialSession.note_due_call_id.is_(None),
            )
            .values(current_call_id=token, last_pick_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:
            return StepResult(StepOutcome.CONTENDED)
    try:
        picked = worklist.pick_next(service, row.campaign_id, row.staff_id, now)
        if isinstance(picked, worklist.Empty):
            reason, until = _idle_of(picked)
            _unclaim(service, session_id, token, encode_idle(reason, until))
            return StepResult(StepOutcome.IDLE, idle_reason=reason, idle_until=until)
        call_id = worklist.dial_order(
            service,
            picked.order_id,
            row.staff_id,
            channel=CHANNEL,
            campaign_id=row.campaign_id,
            claimed=picked.token,
        )
    except worklist.NotDialable as exc:  # changed between the pick and the dial: next tick
        verdict = exc.verdict
        reason = verdict.reason.value if verdict.reason else IdleReason.EMPTY.value
        _unclaim(service, session_id, token, encode_idle(reason, verdict.until))
        return StepResult(StepOutcome.IDLE, idle_reason=reason, idle_until=verdict.until)
    except Refused as exc:
        if exc.reason is Refusal.ALREADY_DIALING:  # lost the order to another path
            _unclaim(service, session_id, token, None)
            return StepResult(StepOutcome.CONTENDED)
        reason = f"{IdleReason.REFUSED.value}_{exc.reason.value}"
        _unclaim(service, session_id, token, reason)
        with service.db.session() as session:
            _pause_for(session, session_id, reason)
        log.warning("progressive session %s: the dial was refused (%s); paused", session_id, reason)
        return StepResult(StepOutcome.PAUSED, idle_reason=reason)
    except BaseException:
        _unclaim(service, session_id, token, None)
        raise
    with service.db.session() as session:
        named = session.execute(
            update(DialSession)
            .where(
                DialSession.id == session_id,
                DialSession.current_call_id == token,
                DialSession.state == DialSessionState.RUNNING,
            )
            .values(current_call_id=call_id, idle_reason=None)
            .execution_options(synchronize_session=False)
        )
        ok = getattr(named, "rowcount", 0) == 1
        endpoint = session.scalar(select(CallRecord.endpoint).where(CallRecord.id == call_id))
    if not ok:
        # paused or stopped between the pick and now: the call is not rung
        call_log.mark_ended(service, call_id, service.clock(), Disposition.FAILED)
        _unclaim(service, session_id, token, None)
        with service.db.session() as session:
            current = _row(session, session_id)
            outcome = (
                StepOutcome.STOPPED
                if current.state == DialSessionState.STOPPED
                else StepOutcome.PAUSED
            )
        return StepResult(outcome)
    log.info(
        "progressive session %s: order %s, call %s prepared", session_id, picked.order_id, call_id
    )
    return StepResult(
        StepOutcome.DIAL,
        call_id=call_id,
        endpoint=endpoint,
        label=f"Order {picked.external_ref}"[:LABEL_MAX],
        order_id=picked.order_id,
    )
