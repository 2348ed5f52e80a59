"""A call to a hotline, from the DID to the agent's screen (seed 004).

:func:`incoming` (the AGI route ``hotline-call``): which hotline, who the caller may be
(:func:`masking.hotline.identify.identify`), and the decision for the dialplan: the
team's queue, showing agents a short case code and the brand, never the caller's number.
It opens the contact's identification case, the :class:`HotlineContact` and the call
record (direction ``hotline``, recorded like every call).

:func:`agent_answered` (the AMI tracker, when a queue member answered): the contact pops
to the staff member whose desk phone (``Staff.sip_endpoint``) answered, and its case is
assigned to them. :func:`current_pop` is what that agent's console shows: the match
type, the candidates' orders (number, status, model, store) and the caller's number
masked, never a name, an address or a number.

Fail closed, the hotline way: the caller is the customer, so when the service cannot
identify (storage error, identification error) the caller still reaches the queue
unidentified, or hears a prompt, per the hotline's ``on_failure``; when the service is
down altogether the dialplan does the same on its own (``MASKING_HOTLINE_ON_FAILURE``).
Logs carry the match type and counts, never the caller's digits.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.cases import lifecycle
from masking.cases.rules import OPEN, RuleBroken
from masking.hotline.hotlines import did_digits, get_by_did, is_queue_name
from masking.hotline.identify import Identification, identify
from masking.policy import Action, may
from masking.recordings import recording_path
from masking.refusals import Refusal
from masking.service import MaskingService
from masking.shapes import asterisk_of_channel, is_call_id, is_endpoint
from masking.states import (
    AutoDetail,
    CallStatus,
    CaseKind,
    CaseStatus,
    Direction,
    Disposition,
)
from masking.storage.models import (
    CallRecord,
    Case,
    Hotline,
    HotlineContact,
    Order,
    Shipment,
    Staff,
    new_id,
)

log = logging.getLogger("masking.hotline")

SOURCE = "hotline"  # Case.source of an identification; Case.external_ref = the contact id
REASON = "hotline_identification"
CODE_DIGITS = 4
CODE_TRIES = 30
CODE_UNIQUE_FOR = timedelta(days=1)
# the agent's console keeps the pop after the call ended, for the wrap-up
POP_KEEP = timedelta(minutes=10)
# how far back an agent's last answered hotline call is looked for
POP_LOOKBACK = timedelta(hours=12)


@dataclass(frozen=True)
class HotlineDecision:
    """What the dialplan does with a hotline call. ``queue``: into ``queue`` showing
    ``callerid_num`` / ``callerid_name`` (the case code and "<brand> <code>"; unidentified:
    the DID and the brand), recorded into ``record_file``; ``prompt``: a refusal
    (``refusal``) played to the caller (unknown or switched-off hotline, or the service
    cannot identify and the hotline says ``prompt``)."""

    action: Literal["queue", "prompt"]
    queue: str = ""
    callerid_name: str = ""
    callerid_num: str = ""
    contact_id: str | None = None
    call_id: str | None = None
    record_file: str | None = None
    announce_recording: bool = False
    refusal: Refusal | None = None


@dataclass(frozen=True)
class PopView:
    """An agent's screen pop: never the customer's name, address or number.

    ``candidates``: ``[{"shipment_id", "distance", "orders": [{"ref", "status", "model",
    "store"}]}]``, closest first (an order is its shipment's number with the shop's status,
    model and store when the shop sent the order, else the shipment's status)."""

    contact_id: str
    case_id: str
    call_id: str | None
    code: str
    brand: str
    match_type: str  # MatchType
    ambiguous: bool  # more than one customer (distinct numbers) at the best distance
    caller_masked: str | None  # "+7 7** *** **45"; None: no caller number
    candidates: tuple[dict[str, Any], ...]
    answered_at: datetime | None
    live: bool  # the call is still up
    identified: bool
    voice_mismatch: bool
    support_email: str


# ---- the caller's number, masked ---------------------------------------------------------
def mask_caller(e164: str | None) -> str | None:
    """``+77012345645`` -> ``+7 7** *** **45``: the country, the first and the last two
    digits of the national number (enough to tell two callers apart, never to call one)."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164 if e164.startswith("+") else "+" + e164, None)
    except phonenumbers.NumberParseException:
        return None
    nsn = phonenumbers.national_significant_number(number)
    if len(nsn) < 5:
        return f"+{number.country_code} " + "*" * len(nsn)
    hidden = nsn[0] + "*" * (len(nsn) - 3) + nsn[-2:]
    groups = [hidden[i : i + 3] for i in range(0, len(hidden) - 4, 3)]
    rest = hidden[len("".join(groups)) :]
    return f"+{number.country_code} " + " ".join([*groups, rest])


# ---- the call comes in -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Line:
    """What a decision needs of the hotline, read before identification."""

    id: int
    site_id: int
    did: str
    brand: str
    queue: str
    region: str
    on_failure: str


def _line(hotline: Hotline) -> _Line:
    return _Line(
        hotline.id,
        hotline.site_id,
        hotline.did,
        hotline.brand,
        hotline.queue,
        hotline.region,
        hotline.on_failure,
    )


def incoming(
    service: MaskingService,
    *,
    did: str,
    caller_id: str,
    channel_id: str | None,
    linked_id: str | None,
) -> HotlineDecision:
    """A customer called hotline ``did`` from ``caller_id`` (untrusted: anything at all).
    Never raises; never puts the caller's digits in the decision or a log line."""
    now = service.clock()
    call_id = new_id()
    try:
        with service.db.session() as session:
            hotline = get_by_did(session, did)
            if hotline is None:
                _record_refused(session, call_id, did, channel_id, linked_id, now)
                line = None
            else:
                line = _line(hotline)
    except Exception as exc:
        log.error("hotline call %s: storage failed (%s): unidentified", call_id, _kind(exc))
        return HotlineDecision(action="prompt", call_id=call_id, refusal=Refusal.UNAVAILABLE)
    if line is None:
        log.info("hotline call %s: no active hotline on this DID: refused", call_id)
        return HotlineDecision(action="prompt", call_id=call_id, refusal=Refusal.UNKNOWN)
    if not is_queue_name(line.queue):
        log.error("hotline %s: its queue name is not usable: unidentified", line.did)
        return HotlineDecision(action="prompt", call_id=call_id, refusal=Refusal.UNAVAILABLE)
    try:
        with service.db.session() as session:
            found = identify(session, site_id=line.site_id, caller_id=caller_id, region=line.region)
        with service.db.session() as session:
            return _open(service, session, line, found, call_id, channel_id, linked_id, now)
    except Exception as exc:
        log.error("hotline call %s: identification failed (%s)", call_id, _kind(exc))
    return _unidentified(service, line, call_id, channel_id, linked_id, now)


def _kind(exc: BaseException) -> str:
    """An exception for a log line: its type only (a driver's message may quote values)."""
    return type(exc).__name__


def _record_refused(
    session: Session,
    call_id: str,
    did: str,
    channel_id: str | None,
    linked_id: str | None,
    now: datetime,
) -> None:
    session.add(
        CallRecord(
            id=call_id,
            direction=Direction.HOTLINE,
            channel_id=_cut(channel_id),
            asterisk=asterisk_of_channel(channel_id),
            linked_id=_cut(linked_id),
            virtual_number=_did_number(did),
            started_at=now,
            ended_at=now,
            disposition=Disposition.DENIED,
            deny_reason=Refusal.UNKNOWN.value,
            status=CallStatus.ENDED,
        )
    )


def _cut(value: str | None) -> str | None:
    return value[:64] if value else None


def _did_number(did: str) -> str | None:
    digits = did_digits(did)
    return f"+{digits}" if digits else None


def _record(
    line: _Line,
    call_id: str,
    channel_id: str | None,
    linked_id: str | None,
    now: datetime,
    case_id: str | None,
) -> CallRecord:
    return CallRecord(
        id=call_id,
        direction=Direction.HOTLINE,
        site_id=line.site_id,
        reason_code=REASON,
        channel_id=_cut(channel_id),
        asterisk=asterisk_of_channel(channel_id),
        linked_id=_cut(linked_id),
        virtual_number=_did_number(line.did),
        started_at=now,
        status=CallStatus.RINGING_STAFF,
        recording_file=recording_path(call_id, now),
        case_id=case_id,
    )


def _new_code(session: Session, hotline_id: int, now: datetime) -> str:
    """A short code, unique among the hotline's contacts of the last day."""
    since = now - CODE_UNIQUE_FOR
    digits = CODE_DIGITS
    for attempt in range(CODE_TRIES):
        if attempt == CODE_TRIES // 2:
            digits += 1  # a very busy day: a longer code
        low = 10 ** (digits - 1)
        code = str(low + secrets.randbelow(9 * low))
        taken = session.scalar(
            select(HotlineContact.id)
            .where(
                HotlineContact.code == code,
                HotlineContact.hotline_id == hotline_id,
                HotlineContact.created_at >= since,
            )
            .limit(1)
        )
        if taken is None:
            return code
    return str(10**7 + secrets.randbelow(9 * 10**7))


def _open(
    service: MaskingService,
    session: Session,
    line: _Line,
    found: Identification,
    call_id: str,
    channel_id: str | None,
    linked_id: str | None,
    now: datetime,
) -> HotlineDecision:
    contact_id = new_id()
    code = _new_code(session, line.id, now)
    # the case has no order until the caller proved one (verification): an open case on a
    # candidate's shipment would make the desk count calls to that customer as its attempts
    case = Case(
        kind=CaseKind.IDENTIFICATION,
        site_id=line.site_id,
        source=SOURCE,
        external_ref=contact_id,
        shipment_id=None,
        topic=SOURCE,
        text=f"{line.brand} {code}: {found.match_type.value}",
        status=CaseStatus.NEW,
        received_at=now,
        created_at=now,
    )
    session.add(case)
    session.flush()
    lifecycle.audit(session, case, "created", now, detail=f"hotline call {call_id}")
    record = _record(line, call_id, channel_id, linked_id, now, case.id)
    session.add(record)
    session.flush()
    session.add(
        HotlineContact(
            id=contact_id,
            hotline_id=line.id,
            case_id=case.id,
            call_id=call_id,
            code=code,
            caller_number=(found.caller or "").lstrip("+")[:20],
            match_type=found.match_type.value,
            candidates=[
                {"shipment_id": c.shipment_id, "distance": c.distance} for c in found.candidates
            ],
            created_at=now,
        )
    )
    log.info(
        "hotline call %s (%s): %s, %d candidate(s)%s, contact %s code %s -> queue %s",
        call_id,
        channel_id,
        found.match_type.value,
        len(found.candidates),
        ", ambiguous" if found.ambiguous else "",
        contact_id,
        code,
        line.queue,
    )
    return HotlineDecision(
        action="queue",
        queue=line.queue,
        callerid_name=f"{line.brand} {code}"[:40],
        callerid_num=code,
        contact_id=contact_id,
        call_id=call_id,
        record_file=record.recording_file,
        announce_recording=service.settings.announce_recording,
    )


def _unidentified(
    service: MaskingService,
    line: _Line,
    call_id: str,
    channel_id: str | None,
    linked_id: str | None,
    now: datetime,
) -> HotlineDecision:
    """Identification failed: the queue with the DID and the brand (no contact, no pop),
    or a prompt, per the hotline's ``on_failure``."""
    if line.on_failure != "queue":
        return HotlineDecision(action="prompt", call_id=call_id, refusal=Refusal.UNAVAILABLE)
    record = _record(line, call_id, channel_id, linked_id, now, None)
    try:
        with service.db.session() as session:
            session.add(record)
    except Exception as exc:
        # no record, no file name the service would know: the dialplan's own failure path
        log.error("hotline call %s: could not store the call (%s)", call_id, _kind(exc))
        return HotlineDecision(action="prompt", call_id=call_id, refusal=Refusal.UNAVAILABLE)
    log.warning("hotline call %s: unidentified -> queue %s", call_id, line.queue)
    return HotlineDecision(
        action="queue",
        queue=line.queue,
        callerid_name=line.brand[:40],
        callerid_num=line.did,
        call_id=call_id,
        record_file=record.recording_file,
        announce_recording=service.settings.announce_recording,
    )


# ---- an agent answered -------------------------------------------------------------------------
def agent_answered(
    service: MaskingService,
    *,
    call_id: str | None,
    linked_id: str | None,
    agent_endpoint: str,
    at: datetime,
) -> str | None:
    """A queue member answered hotline call ``call_id`` (or the call of ``linked_id``) on
    desk phone ``agent_endpoint``: the contact pops to that staff member and its case is
    theirs. Returns the contact id; None when the call is no hotline contact (any other
    answered call: the tracker asks for every one) or the phone is nobody of the team.
    Idempotent: the same answer again changes nothing."""
    if not is_endpoint(agent_endpoint):
        return None
    with service.db.session() as session:
        record = _hotline_record(session, call_id, linked_id)
        if record is None or record.case_id is None:
            return None
        contact = session.scalar(
            select(HotlineContact).where(HotlineContact.case_id == record.case_id).with_for_update()
        )
        if contact is None:
            return None
        hotline = session.get(Hotline, contact.hotline_id)
        staff = session.scalar(select(Staff).where(Staff.sip_endpoint == agent_endpoint))
        if (
            hotline is None
            or staff is None
            or not staff.active
            or staff.site_id != hotline.site_id
            or not may(staff.role, Action.WORK_HOTLINE)
        ):
            log.warning(
                "hotline call %s: answered on %s, which is no agent of the hotline's team",
                record.id,
                agent_endpoint,
            )
            return None
        if contact.agent_id == staff.id:
            return contact.id
        contact.agent_id = staff.id
        contact.answered_at = at
        record.staff_id = staff.id
        record.endpoint = agent_endpoint
        contact_id, case_id, staff_id = contact.id, contact.case_id, staff.id
    log.info("hotline call %s: contact %s popped to staff %s", record.id, contact_id, staff_id)
    try:
        lifecycle.take(service, case_id, staff_id)
    except RuleBroken:
        log.info("hotline contact %s: its case is closed; not assigned", contact_id)
    return contact_id


def call_ended(session: Session, record: CallRecord, now: datetime) -> None:
    """A hotline call ended (``call_log``, in its transaction): its case closes by itself,
    resolved when an agent answered it, not resolved when the caller gave up in the queue.
    Any other call: nothing."""
    if record.direction != Direction.HOTLINE or record.case_id is None:
        return
    case = session.get(Case, record.case_id, with_for_update=True)
    if case is None or case.status not in OPEN:
        return
    contact = session.scalar(select(HotlineContact).where(HotlineContact.case_id == case.id))
    answered = contact is not None and contact.agent_id is not None
    lifecycle.close_automatically(
        session,
        case,
        now,
        AutoDetail.CALL_HANDLED if answered else AutoDetail.CALL_ABANDONED,
        CaseStatus.RESOLVED if answered else CaseStatus.NOT_RESOLVED,
    )


def _hotline_record(
    session: Session, call_id: str | None, linked_id: str | None
) -> CallRecord | None:
    record = session.get(CallRecord, call_id, with_for_update=True) if is_call_id(call_id) else None
    if record is None and linked_id:
        record = session.scalar(
            select(CallRecord)
            .where(CallRecord.linked_id == linked_id[:64])
            .order_by(CallRecord.started_at.desc())
            .limit(1)
            .with_for_update()
        )
    if record is None or record.direction != Direction.HOTLINE:
        return None
    return record


# ---- the agent's screen --------------------------------------------------------------------------
def current_pop(service: MaskingService, staff_id: int) -> PopView | None:
    """The contact the agent answered last, while its call is up and for
    :data:`POP_KEEP` after (the wrap-up); None when there is none."""
    now = service.clock()
    with service.db.session() as session:
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active or not may(staff.role, Action.WORK_HOTLINE):
            return None
        record = session.scalar(
            select(CallRecord)
            .where(
                CallRecord.started_at >= now - POP_LOOKBACK,
                CallRecord.staff_id == staff_id,
                CallRecord.direction == Direction.HOTLINE,
                CallRecord.case_id.is_not(None),
            )
            .order_by(CallRecord.started_at.desc())
            .limit(1)
        )
        if record is None:
            return None
        live = record.ended_at is None
        if not live and record.ended_at is not None and now - record.ended_at > POP_KEEP:
            return None
        contact = session.scalar(
            select(HotlineContact).where(HotlineContact.case_id == record.case_id)
        )
        if contact is None or contact.agent_id != staff_id:
            return None
        hotline = session.get(Hotline, contact.hotline_id)
        if hotline is None or hotline.site_id != staff.site_id:
            return None
        candidates, ambiguous = _candidates(session, hotline.site_id, contact.candidates)
        return PopView(
            contact_id=contact.id,
            case_id=contact.case_id,
            call_id=contact.call_id,
            code=contact.code,
            brand=hotline.brand,
            match_type=contact.match_type,
            ambiguous=ambiguous,
            caller_masked=mask_caller(contact.caller_number),
            candidates=candidates,
            answered_at=contact.answered_at,
            live=live,
            identified=contact.identified_at is not None,
            voice_mismatch=contact.voice_mismatch,
            support_email=hotline.support_email,
        )


def _candidates(
    session: Session, site_id: int, stored: list[dict[str, Any]] | None
) -> tuple[tuple[dict[str, Any], ...], bool]:
    """The candidates as the agent sees them, and whether more than one customer is at
    the best distance (their numbers compared here, never shown)."""
    wanted: list[tuple[int, int]] = []
    for item in stored or []:
        if not isinstance(item, Mapping):
            continue
        shipment_id, distance = item.get("shipment_id"), item.get("distance")
        if isinstance(shipment_id, int) and isinstance(distance, int):
            wanted.append((shipment_id, distance))
    ids = [shipment_id for shipment_id, _ in wanted]
    shipments = {
        s.id: s
        for s in session.scalars(
            select(Shipment).where(Shipment.id.in_(ids), Shipment.site_id == site_id)
        )
    }
    orders = {
        o.shipment_id: o for o in session.scalars(select(Order).where(Order.shipment_id.in_(ids)))
    }
    shown: list[dict[str, Any]] = []
    best: int | None = None
    numbers: set[str] = set()
    for shipment_id, distance in wanted:
        shipment = shipments.get(shipment_id)
        if shipment is None:
            continue
        if best is None:
            best = distance
        if distance == best:
            numbers.add(shipment.customer_phone)
        order = orders.get(shipment_id)
        shown.append(
            {
                "shipment_id": shipment_id,
                "distance": distance,
                "orders": [
                    {
                        "ref": shipment.external_number,
                        "status": order.status if order is not None else shipment.status,
                        "model": order.model if order is not None else "",
                        "store": order.store if order is not None else "",
                    }
                ],
            }
        )
    return tuple(shown), len(numbers) > 1
