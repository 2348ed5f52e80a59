"""Keep call records true after the decision: answered, bridged, ended, recording.

The AMI event tracker (``agi/ami/tracker.py``) turns Asterisk events into these calls; nothing here
knows about AMI. Every function opens its own session, is idempotent (events repeat
after a reconnect, reconciliation may race with late events) and never moves a record
backwards: an ended record stays ended, a ``denied`` record stays denied.

:func:`apply_updates` applies a batch of such changes (a burst of events) in one
transaction, in order, with the same rules as the one-call functions: the tracker's
writes cost one commit per batch, not one per event.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from masking.campaigns import worklist
from masking.hotline import contacts
from masking.recordings import safe_path
from masking.service import MaskingService
from masking.states import CallStatus, Direction, Disposition
from masking.storage.models import CallRecord

log = logging.getLogger("masking.call_log")

# A WAV file holding nothing but its header.
WAV_HEADER_BYTES = 44
# In-progress records older than this are closed by reconciliation whatever Asterisk says.
ABANDONED_AFTER = timedelta(hours=4)
# Records younger than this are left alone by reconciliation: their channel may not be
# in the snapshot yet (a click-to-call is written before its Originate is sent).
RECONCILE_GRACE = timedelta(seconds=30)

RECORDING_MISSING = "recording missing"
RECORDING_EMPTY = "recording empty"
RECORDING_FAILED = "recording failed to start"
RECORDING_NOT_SET = "recording not configured for an answered call"

# Q.850 hangup causes (Asterisk's ${HANGUPCAUSE} and the AMI ``Cause`` header).
CAUSE_NORMAL_CLEARING = 16
CAUSE_USER_BUSY = 17
CAUSE_NO_USER_RESPONSE = 18
CAUSE_NO_ANSWER = 19
CAUSE_CALL_REJECTED = 21

_DIAL_STATUS = {
    "ANSWER": Disposition.ANSWERED,
    "BUSY": Disposition.BUSY,
    "NOANSWER": Disposition.NO_ANSWER,
    "CANCEL": Disposition.NO_ANSWER,  # the caller gave up while it rang
    "CHANUNAVAIL": Disposition.FAILED,
    "CONGESTION": Disposition.FAILED,
    "DONTCALL": Disposition.FAILED,
    "TORTURE": Disposition.FAILED,
    "INVALIDARGS": Disposition.FAILED,
}
_CAUSES = {
    CAUSE_USER_BUSY: Disposition.BUSY,
    CAUSE_NO_USER_RESPONSE: Disposition.NO_ANSWER,
    CAUSE_NO_ANSWER: Disposition.NO_ANSWER,
    CAUSE_CALL_REJECTED: Disposition.NO_ANSWER,
    # hung up before anything answered, without an error: abandoned, not a failure
    CAUSE_NORMAL_CLEARING: Disposition.NO_ANSWER,
}


def disposition_for(
    *, answered: bool, dial_status: str | None = None, hangup_cause: int | None = None
) -> Disposition:
    """How an attempt ended, from what Asterisk told us (DIALSTATUS wins over the cause).

    ANSWER -> answered; BUSY or cause 17 -> busy; NOANSWER, CANCEL or causes 18, 19, 21
    (and 16 before any answer) -> no_answer; CHANUNAVAIL, CONGESTION, anything else ->
    failed.
    """
    if answered:
        return Disposition.ANSWERED
    status = (dial_status or "").strip().upper()
    if status in _DIAL_STATUS:
        return _DIAL_STATUS[status]
    if hangup_cause is not None and hangup_cause in _CAUSES:
        return _CAUSES[hangup_cause]
    return Disposition.FAILED


def _locked(session: Session, call_id: str) -> CallRecord | None:
    return session.get(CallRecord, call_id, with_for_update=True)


def _advance(record: CallRecord, status: CallStatus) -> bool:
    if status.rank <= CallStatus(record.status).rank:
        return False
    record.status = status
    return True


def set_status(service: MaskingService, call_id: str, status: CallStatus | str) -> bool:
    """Move the live status forward (never back); False when nothing changed."""
    try:
        status = CallStatus(status)
    except ValueError:
        raise ValueError(f"unknown call status {status!r}") from None
    with service.db.session() as session:
        record = _locked(session, call_id)
        if record is None or record.ended_at is not None:
            return False
        changed = _advance(record, status)
    if changed:
        log.info("call %s: status %s", call_id, status)
    return changed


def mark_answered(service: MaskingService, call_id: str, at: datetime) -> bool:
    """The called side answered (first answer wins); False for unknown or ended calls."""
    with service.db.session() as session:
        return _answer(_locked(session, call_id), at)


def _answer(record: CallRecord | None, at: datetime) -> bool:
    if record is None or record.ended_at is not None:
        return False
    if record.answered_at is not None:
        _advance(record, CallStatus.CONNECTED)
        return False
    record.answered_at = at
    _advance(record, CallStatus.CONNECTED)
    log.info("call %s: answered", record.id)
    return True


def mark_bridged(service: MaskingService, call_id: str, at: datetime) -> bool:
    """Both parties are in a bridge: answered (if no answer was seen) and connected."""
    return mark_answered(service, call_id, at)


def mark_ended(
    service: MaskingService,
    call_id: str,
    at: datetime,
    disposition: Disposition | str | None = None,
    hangup_cause: int | None = None,
    bridged_seconds: int | None = None,
    *,
    dial_status: str | None = None,
) -> bool:
    """Close the record; ``disposition`` None derives it (see :func:`disposition_for`).

    A record already ended (denied, reconciled, or an event repeated) keeps its outcome;
    only a missing hangup cause is filled in. Returns True when this call closed it.
    """
    with service.db.session() as session:
        return _end(
            session,
            _locked(session, call_id),
            at,
            service.clock(),
            disposition,
            hangup_cause,
            bridged_seconds,
            dial_status,
        )


def _end(
    session: Session,
    record: CallRecord | None,
    at: datetime,
    now: datetime,
    disposition: Disposition | str | None,
    hangup_cause: int | None,
    bridged_seconds: int | None,
    dial_status: str | None,
) -> bool:
    if record is None:
        return False
    if record.ended_at is not None or record.disposition == Disposition.DENIED:
        if record.hangup_cause is None and hangup_cause is not None:
            record.hangup_cause = hangup_cause
        return False
    answered = record.answered_at is not None
    if disposition is None:
        outcome = disposition_for(
            answered=answered, dial_status=dial_status, hangup_cause=hangup_cause
        )
    else:
        outcome = Disposition(disposition)
        if answered and outcome is not Disposition.ANSWERED:
            outcome = Disposition.ANSWERED
    record.disposition = outcome
    record.ended_at = max(at, record.started_at)
    record.hangup_cause = hangup_cause
    record.status = CallStatus.ENDED
    if bridged_seconds is None and record.answered_at is not None:
        bridged_seconds = int((record.ended_at - record.answered_at).total_seconds())
    record.bridged_seconds = max(0, bridged_seconds) if bridged_seconds is not None else None
    _case_call_ended(session, record, now)
    log.info(
        "call %s: ended %s (cause %s, %ss bridged)",
        record.id,
        outcome.value,
        hangup_cause,
        record.bridged_seconds,
    )
    return True


def _case_call_ended(session: Session, record: CallRecord, now: datetime) -> None:
    """What the end of a call means for its case, in the transaction that ends it: an
    order's claim is released (campaigns), a hotline call's case is closed (hotline)."""
    worklist.attempt_ended(session, record, now)
    contacts.call_ended(session, record, now)


def _attach(record: CallRecord, recordings_dir: Path) -> None:
    answered = record.answered_at is not None
    if not record.recording_file:
        if answered and record.recording_error is None:
            record.recording_error = RECORDING_NOT_SET
            log.error("call %s: answered but no recording was set up", record.id)
        return
    path = safe_path(recordings_dir, record.recording_file)
    try:
        size = path.stat().st_size if path is not None else None
    except OSError:
        size = None
    if size is None:
        record.recording_bytes = None
        if answered and record.recording_error != RECORDING_FAILED:
            record.recording_error = RECORDING_MISSING
            log.error(
                "call %s: answered but the recording %s is missing",
                record.id,
                record.recording_file,
            )
        return
    record.recording_bytes = size
    if size <= WAV_HEADER_BYTES:
        record.recording_error = RECORDING_EMPTY if answered else None
        if answered:
            log.error("call %s: the recording %s is empty", record.id, record.recording_file)
    else:
        record.recording_error = None


def mark_recording_failed(service: MaskingService, call_id: str) -> bool:
    """The dialplan reported that MixMonitor did not start: visible on the record."""
    with service.db.session() as session:
        return _recording_failed(_locked(session, call_id))


def _recording_failed(record: CallRecord | None) -> bool:
    if record is None:
        return False
    record.recording_error = RECORDING_FAILED
    log.error("call %s: %s", record.id, RECORDING_FAILED)
    return True


def attach_recording(
    service: MaskingService, call_id: str, recordings_dir: Path | None = None
) -> bool:
    """Stat the record's recording file: store its size, or a visible error.

    An answered call without a file gets ``recording missing`` (or ``recording empty``
    for a header-only WAV); a later call that finds the file clears the error.
    Returns True when a usable recording is attached.
    """
    directory = recordings_dir or service.settings.effective_recordings_dir
    with service.db.session() as session:
        record = _locked(session, call_id)
        if record is None:
            return False
        _attach(record, directory)
        return record.recording_error is None and bool(record.recording_bytes)


def find_call(service: MaskingService, *ids: str) -> tuple[str, str | None] | None:
    """The newest call whose id, calling channel or linked id is one of ``ids``.

    Returns ``(call id, calling channel uniqueid)``. A click-to-call's staff channel is
    originated with its uniqueid set to the call id, so the call id matches it too.
    """
    wanted = [i for i in ids if i]
    if not wanted:
        return None
    with service.db.session() as session:
        row = session.execute(
            select(CallRecord.id, CallRecord.channel_id)
            .where(
                or_(
                    CallRecord.id.in_(wanted),
                    CallRecord.channel_id.in_(wanted),
                    CallRecord.linked_id.in_(wanted),
                )
            )
            .order_by(CallRecord.started_at.desc())
            .limit(1)
        ).first()
        return (row[0], row[1]) if row else None


def call_for_channel(service: MaskingService, *channel_ids: str) -> str | None:
    """The newest call whose id, calling channel or linked id is one of ``channel_ids``."""
    found = find_call(service, *channel_ids)
    return found[0] if found else None


def set_channel(
    service: MaskingService,
    call_id: str,
    *,
    channel_id: str | None = None,
    linked_id: str | None = None,
) -> None:
    """Remember the calling channel / linked id of a call where they are not known yet."""
    with service.db.session() as session:
        _set_channel(_locked(session, call_id), channel_id, linked_id)


def _set_channel(record: CallRecord | None, channel_id: str | None, linked_id: str | None) -> bool:
    if record is None:
        return False
    changed = False
    if channel_id and not record.channel_id:
        record.channel_id = channel_id[:64]
        changed = True
    if linked_id and not record.linked_id:
        record.linked_id = linked_id[:64]
        changed = True
    return changed


def find_calls(service: MaskingService, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """:func:`find_call` for many ids in one query: each id that is a call's id, calling
    channel or linked id -> ``(call id, calling channel uniqueid)`` of its newest call."""
    wanted = sorted({i for i in ids if i})
    found: dict[str, tuple[str, str | None]] = {}
    if not wanted:
        return found
    with service.db.session() as session:
        rows = session.execute(
            select(CallRecord.id, CallRecord.channel_id, CallRecord.linked_id)
            .where(
                or_(
                    CallRecord.id.in_(wanted),
                    CallRecord.channel_id.in_(wanted),
                    CallRecord.linked_id.in_(wanted),
                )
            )
            .order_by(CallRecord.started_at, CallRecord.id)  # the newest is written last
        ).all()
    for call_id, channel_id, linked_id in rows:
        for key in (call_id, channel_id, linked_id):
            if key in wanted:
                found[key] = (call_id, channel_id)
    return found


# ---- batches of updates (the AMI tracker) ---------------------------------------------
class UpdateKind(StrEnum):
    CHANNEL = "channel"  # set_channel
    ANSWERED = "answered"  # mark_answered / mark_bridged
    ENDED = "ended"  # mark_ended
    RECORDING_FAILED = "recording_failed"  # mark_recording_failed


@dataclass(frozen=True)
class Update:
    """One change of :func:`apply_updates`: the arguments of the one-call function."""

    kind: UpdateKind
    call_id: str
    at: datetime | None = None
    channel_id: str | None = None
    linked_id: str | None = None
    disposition: Disposition | None = None
    hangup_cause: int | None = None
    bridged_seconds: int | None = None
    dial_status: str | None = None


@dataclass
class Applied:
    """What :func:`apply_updates` did: per update, whether it changed the record (the
    one-call function's return value); and which of the calls are hotline contacts."""

    changed: list[bool] = field(default_factory=list)
    hotline_calls: set[str] = field(default_factory=set)


def apply_updates(service: MaskingService, updates: Sequence[Update]) -> Applied:
    """Apply ``updates`` in order in one transaction (one commit for a burst of events),
    each with exactly the rules of its one-call function. The records are locked in id
    order (two processes briefly both leading cannot deadlock)."""
    applied = Applied()
    if not updates:
        return applied
    now = service.clock()
    ids = sorted({u.call_id for u in updates})
    with service.db.session() as session:
        rows = session.scalars(
            select(CallRecord)
            .where(CallRecord.id.in_(ids))
            .order_by(CallRecord.id)
            .with_for_update()
        ).all()
        records = {record.id: record for record in rows}
        for update in updates:
            record = records.get(update.call_id)
            applied.changed.append(_apply(session, record, update, now))
        applied.hotline_calls = {
            r.id for r in rows if r.direction == Direction.HOTLINE and r.case_id is not None
        }
    return applied


def _apply(session: Session, record: CallRecord | None, update: Update, now: datetime) -> bool:
    if update.kind is UpdateKind.CHANNEL:
        return _set_channel(record, update.channel_id, update.linked_id)
    if update.kind is UpdateKind.ANSWERED:
        return _answer(record, update.at or now)
    if update.kind is UpdateKind.ENDED:
        return _end(
            session,
            record,
            update.at or now,
            now,
            update.disposition,
            update.hangup_cause,
            update.bridged_seconds,
            update.dial_status,
        )
    return _recording_failed(record)


def reconcile(
    service: MaskingService,
    alive_call_ids: set[str] | frozenset[str],
    now: datetime,
    *,
    alive_channel_ids: set[str] | frozenset[str] = frozenset(),
    grace: timedelta = RECONCILE_GRACE,
    stale_after: timedelta = ABANDONED_AFTER,
    recordings_dir: Path | None = None,
    asterisks: Collection[str | None] | None = None,
) -> list[str]:
    """Close every in-progress record whose call is no longer live in Asterisk.

    ``asterisks``: the records of which Asterisk servers (their names; None: records of
    no Asterisk) the live ids speak for: those of the Asterisk they come from. Another
    Asterisk's live calls are not in its snapshot, so its records are closed only once
    stale. None: every record (the snapshot covers every call).

    A record is live when its id is in ``alive_call_ids`` (MASKING_CALL_ID of a live
    channel) or its calling channel / linked id is in ``alive_channel_ids``. Records
    younger than ``grace`` are left alone; records older than ``stale_after`` are closed
    even when a channel still claims them. A closed record is ``answered`` when an answer
    was seen, else ``failed``; its recording is attached. Returns the closed call ids.
    """
    directory = recordings_dir or service.settings.effective_recordings_dir
    closed: list[str] = []
    scope = []
    if asterisks is not None:
        names = sorted(name for name in asterisks if name is not None)
        scope.append(
            or_(
                CallRecord.asterisk.in_(names),
                CallRecord.asterisk.is_(None) if None in asterisks else false(),
                CallRecord.started_at < now - stale_after,
            )
        )
    with service.db.session() as session:
        rows = session.scalars(
            select(CallRecord)
            .where(
                CallRecord.disposition == Disposition.IN_PROGRESS,
                CallRecord.ended_at.is_(None),
                CallRecord.started_at < now - grace,
                *scope,
            )
            .with_for_update()
        ).all()
        for record in rows:
            stale = now - record.started_at > stale_after
            alive = (
                record.id in alive_call_ids
                or (record.channel_id is not None and record.channel_id in alive_channel_ids)
                or (record.linked_id is not None and record.linked_id in alive_channel_ids)
            )
            if alive and not stale:
                continue
            answered = record.answered_at is not None
            record.disposition = Disposition.ANSWERED if answered else Disposition.FAILED
            record.ended_at = max(now, record.started_at)
            record.status = CallStatus.ENDED
            _attach(record, directory)
            _case_call_ended(session, record, now)
            closed.append(record.id)
            log.warning(
                "call %s: closed by reconciliation as %s (%s)",
                record.id,
                record.disposition,
                "stale" if stale else "no live channel",
            )
    return closed
