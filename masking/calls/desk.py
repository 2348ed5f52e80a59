"""The call desk: decides every call Asterisk asks about, and writes its call record.

One method per question of :class:`masking.calls.contract.CallDesk`. Fail closed: any
error inside a decision becomes a deny with reason ``unavailable``.

Speed: the common decision (a desk phone dials a live temporary number, a customer calls
one back) reads its rows from :class:`masking.calls.lookups.CallLookups` and its binding
from Redis, and stores its record through :class:`masking.calls.writer.RecordWriter`
(group commit) before answering. A database session is opened only when a decision
needs one (:class:`_Storage`): a case to claim, an unknown number to explain, a cache miss.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking import policy
from masking.calls.contract import CallDecision
from masking.calls.lookups import CallLookups, SiteView
from masking.calls.writer import RecordWriter
from masking.campaigns import worklist
from masking.cases.lifecycle import attempt_started
from masking.config import Settings, get_settings
from masking.numbers import bindings
from masking.numbers.phones import dial_digits, mask_number, try_normalize
from masking.numbers.pool import LiveBinding
from masking.recordings import recording_path
from masking.refusals import Refusal, Refused
from masking.service import MaskingService
from masking.shapes import asterisk_of_channel, is_call_id, is_endpoint
from masking.states import CallStatus, Direction, Disposition
from masking.storage.db import Database
from masking.storage.models import Binding, CallRecord, Shipment, Site, Staff, new_id

log = logging.getLogger("masking.calls")

CLICK2CALL_ANSWER_WINDOW = timedelta(minutes=3)


class _Storage:
    """A decision's database access: the session is opened on first use only. Called
    (``storage()``) it returns that session; :meth:`finish` stores the record in it, or,
    when the decision needed none, through the group commit."""

    def __init__(self, db: Database, session: Session | None = None) -> None:
        self._db = db
        self._session = session
        self._owned: AbstractContextManager[Session] | None = None

    def __call__(self) -> Session:
        if self._session is None:
            self._owned = self._db.session()
            self._session = self._owned.__enter__()
        return self._session

    def finish(self, record: CallRecord, writer: RecordWriter) -> None:
        """Store ``record`` (new) and commit; raises if that failed."""
        if self._session is None:
            writer.insert(record)
            return
        self._session.add(record)
        self.close(None)

    def close(self, error: BaseException | None) -> None:
        owned, self._owned = self._owned, None
        if owned is not None:
            if error is None:
                owned.__exit__(None, None, None)
            else:
                owned.__exit__(type(error), error, error.__traceback__)


class MaskingCallDesk:
    """Implements :class:`masking.calls.contract.CallDesk` on the database and the pool."""

    def __init__(self, service: MaskingService) -> None:
        self.service = service
        self.settings: Settings = service.settings
        self.lookups = CallLookups(service.config_epoch)
        self.writer = RecordWriter(service.db)

    def decide_together(
        self, decisions: Sequence[Callable[[], CallDecision]]
    ) -> list[CallDecision]:
        """Several decisions, one after the other in this thread, their new call records
        stored in one group commit before any is returned (the FastAGI server hands its
        queued requests over in batches). A decision whose record could not be stored
        becomes a deny ``unavailable``: no customer is dialed without a record."""
        with self.writer.deferred() as batch:
            decided = [decide() for decide in decisions]
        if not batch.failed:
            return decided
        for decision in decided:
            if decision.call_id in batch.failed:
                log.error("call %s: its record could not be stored, denying", decision.call_id)
        return [
            CallDecision(call_id=d.call_id, action="deny", deny_reason=Refusal.UNAVAILABLE)
            if d.call_id in batch.failed
            else d
            for d in decided
        ]

    # ---- the three questions ------------------------------------------------------
    def operator_call(self, *, endpoint: str, dialed: str, channel_id: str) -> CallDecision:
        record = CallRecord(
            id=new_id(),
            direction=Direction.OUTBOUND,
            channel_id=channel_id[:64],
            asterisk=asterisk_of_channel(channel_id),
            endpoint=endpoint[:64],
            started_at=self.service.clock(),
        )
        return self._decide(record, lambda db: self._operator(db, record, endpoint, dialed))

    def inbound_call(self, *, caller: str, did: str, channel_id: str) -> CallDecision:
        record = CallRecord(
            id=new_id(),
            direction=Direction.INBOUND,
            channel_id=channel_id[:64],
            asterisk=asterisk_of_channel(channel_id),
            started_at=self.service.clock(),
        )
        return self._decide(record, lambda db: self._inbound(db, record, caller, did))

    def click2call_leg(self, *, call_id: str, channel_id: str) -> CallDecision:
        if not is_call_id(call_id):
            record = CallRecord(
                id=new_id(),
                direction=Direction.CLICK2CALL,
                channel_id=channel_id[:64],
                asterisk=asterisk_of_channel(channel_id),
                started_at=self.service.clock(),
            )
            return self._decide(record, lambda db: self._deny(Refusal.INVALID_INPUT))
        return self._click2call(call_id, channel_id)

    def record_denied(self, *, route: str, channel_id: str, reason: Refusal) -> CallDecision:
        direction = {
            "inbound-call": Direction.INBOUND,
            "click2call": Direction.CLICK2CALL,
        }.get(route, Direction.OUTBOUND)
        record = CallRecord(
            id=new_id(),
            direction=direction,
            channel_id=channel_id[:64],
            asterisk=asterisk_of_channel(channel_id),
            started_at=self.service.clock(),
        )
        return self._decide(record, lambda db: self._deny(reason, f"{route}: malformed request"))

    # ---- asked again ------------------------------------------------------------------
    def retried(self, *, direction: Direction, channel_id: str) -> CallDecision | None:
        """The dialplan asks the next FastAGI server about a channel after the earlier
        one gave it no answer (refused, or connected and closed with nothing set: that
        server died or the link dropped). That server may have decided all the same: a
        decision's record is stored before it is answered, so it is in the database when
        it counts. A call is decided once: such a decision (never acted upon, the
        dialplan read no answer) is closed as denied ``unavailable`` and that denial is
        the answer. None: nothing decided yet, decide as usual. Fail closed: without a
        usable channel id, or when the database cannot tell, deny."""
        if not channel_id or channel_id == "-":
            log.warning("a %s request asked again without a channel id: denied", direction)
            return CallDecision(call_id=new_id(), action="deny", deny_reason=Refusal.UNAVAILABLE)
        try:
            with self.service.db.session() as session:
                earlier = [
                    record
                    for record in session.scalars(
                        select(CallRecord)
                        .where(
                            CallRecord.channel_id == channel_id[:64],
                            CallRecord.direction == direction,
                        )
                        .order_by(CallRecord.started_at.desc())
                        .with_for_update()
                    )
                    if not _awaits_leg_decision(record)
                ]
                if not earlier:
                    log.info(
                        "call (%s): %s asked again, nothing decided yet", channel_id, direction
                    )
                    return None
                record = earlier[0]
                if record.ended_at is None:
                    self._denial(
                        _Storage(self.service.db, session),
                        record,
                        Refused(Refusal.UNAVAILABLE, detail="its answer was lost; asked again"),
                    )
                log.warning(
                    "call %s (%s): asked again after a decision: denied, never decided twice",
                    record.id,
                    channel_id,
                )
                return CallDecision(
                    call_id=record.id, action="deny", deny_reason=Refusal.UNAVAILABLE
                )
        except Exception:
            log.exception("call (%s): could not look for an earlier decision, denying", channel_id)
            return CallDecision(call_id=new_id(), action="deny", deny_reason=Refusal.UNAVAILABLE)

    # ---- shared ----------------------------------------------------------------------
    def _deny(self, reason: Refusal, detail: str = "") -> NoReturn:
        raise Refused(reason, detail=detail)

    def _decide(
        self, record: CallRecord, decide: Callable[[_Storage], CallDecision]
    ) -> CallDecision:
        storage = _Storage(self.service.db)
        try:
            try:
                self.lookups.refresh()
                decision: CallDecision = decide(storage)
            except Refused as denied:
                decision = self._denial(storage, record, denied)
            storage.finish(record, self.writer)
            return decision
        except Exception as exc:
            storage.close(exc)
            log.exception("call %s (%s): decision failed, denying", record.id, record.channel_id)
            self._record_unavailable(record)
            return CallDecision(call_id=record.id, action="deny", deny_reason=Refusal.UNAVAILABLE)

    def _record_unavailable(self, record: CallRecord) -> None:
        """Keep the attempt on record when only Redis failed; give up quietly otherwise."""
        try:
            with self.service.db.session() as session:
                session.add(
                    CallRecord(
                        id=record.id,
                        direction=record.direction,
                        channel_id=record.channel_id,
                        asterisk=record.asterisk,
                        endpoint=record.endpoint,
                        site_id=record.site_id,
                        staff_id=record.staff_id,
                        virtual_number=record.virtual_number,
                        started_at=record.started_at,
                        ended_at=self.service.clock(),
                        disposition=Disposition.DENIED,
                        deny_reason=Refusal.UNAVAILABLE.value,
                        status=CallStatus.ENDED,
                    )
                )
        except Exception:
            log.error("call %s: could not store the denied attempt", record.id)

    def _denial(self, storage: _Storage, record: CallRecord, denied: Refused) -> CallDecision:
        now = self.service.clock()
        record.disposition = Disposition.DENIED
        record.deny_reason = denied.reason.value
        record.status = CallStatus.ENDED
        record.ended_at = now
        if record.case_id is not None:
            # a click-to-call of an order refused at the customer leg: release its claim
            worklist.attempt_ended(storage(), record, now)
        opens_at = opens_day = None
        if denied.reason is Refusal.CLOSED and record.site_id is not None:
            view = self.lookups.site(record.site_id, storage)
            opening = view.schedule.next_opening(now) if view else None
            if opening is not None:
                opens_at, opens_day = opening.strftime("%H%M"), opening.weekday()
        log.info(
            "call %s (%s) %s denied: %s %s",
            record.id,
            record.channel_id,
            record.direction,
            denied.reason.value,
            denied.detail,
        )
        return CallDecision(
            call_id=record.id,
            action="deny",
            deny_reason=denied.reason,
            opens_at=opens_at,
            opens_day=opens_day,
        )

    def _dial_customer(
        self, storage: _Storage, record: CallRecord, binding: LiveBinding
    ) -> CallDecision:
        now = self.service.clock()
        # a call to a customer with open call-centre work is an attempt of that case; an
        # order to confirm is claimed for this call first (whichever path dials it, an
        # order is never dialed twice at once)
        if record.case_id is not None:
            case_id: str | None = record.case_id
            order_id = worklist.order_to_claim(storage(), record.case_id)
        else:
            open_case = self.lookups.open_case(binding.shipment_id, storage)
            case_id = open_case.case_id if open_case else None
            order_id = open_case.order_id if open_case else None
        if order_id is not None and not worklist.claim(storage(), order_id, record.id, now):
            self._deny(Refusal.ALREADY_DIALING, f"order {order_id} is being dialed")
        record.recording_file = recording_path(record.id, now)
        record.status = CallStatus.RINGING_CUSTOMER
        record.case_id = case_id
        if record.case_id is not None:
            attempt_started(storage(), record.case_id, now)
        log.info(
            "call %s (%s): dialing customer %s as %s",
            record.id,
            record.channel_id,
            mask_number(binding.customer),
            binding.number,
        )
        return CallDecision(
            call_id=record.id,
            action="dial",
            dial_number=dial_digits(binding.customer),
            callerid_num=binding.number,
            callerid_name=self.settings.neutral_callerid_name,
            record_file=record.recording_file,
            announce_recording=self.settings.announce_recording,
        )

    def _check_site(self, view: SiteView, staff: Staff | None = None) -> None:
        site = view.site
        refusal = policy.call_refusal(staff, site)
        if refusal is not None:
            who = f"site {site.code}" + (f", staff {staff.login}" if staff else "")
            self._deny(refusal, who)
        if not view.schedule.is_open(self.service.clock()):
            self._deny(Refusal.CLOSED, f"site {site.code}")

    def _missing_binding(
        self,
        storage: _Storage,
        number: str,
        *,
        site_id: int | None = None,
        customer: str | None = None,
    ) -> NoReturn:
        """No live binding: was it ours and expired, another site's, or never issued?"""
        session = storage()
        now = self.service.clock()
        query = select(Binding.id).where(Binding.virtual_number == number)
        if site_id is not None:
            live_elsewhere = session.scalar(
                query.where(Binding.site_id != site_id, Binding.live_at(now)).limit(1)
            )
            if live_elsewhere:
                self._deny(Refusal.OTHER_SITE, f"{number} is bound for another site")
            query = query.where(Binding.site_id == site_id)
        if customer is not None:
            query = query.where(Binding.customer_phone == customer)
        if session.scalar(query.limit(1)):
            self._deny(Refusal.EXPIRED, f"{number}: binding expired")
        self._deny(Refusal.UNKNOWN, f"{number}: no binding")

    # ---- operator ----------------------------------------------------------------------
    def _operator(
        self, storage: _Storage, record: CallRecord, endpoint: str, dialed: str
    ) -> CallDecision:
        if not is_endpoint(endpoint):
            self._deny(Refusal.INVALID_INPUT, "endpoint")
        staff = self.lookups.staff_at(endpoint, storage)
        if staff is None or staff.site_id is None or not staff.active:
            self._deny(Refusal.NOT_ALLOWED, f"endpoint {endpoint} is not staff of a site")
        record.staff_id, record.site_id = staff.id, staff.site_id
        view = self.lookups.site(staff.site_id, storage)
        if view is None:
            self._deny(Refusal.NOT_ALLOWED, f"endpoint {endpoint}: site is gone")
        site = view.site
        number = try_normalize(dialed, site.phone_region)
        if number is None:
            self._deny(Refusal.INVALID_INPUT, "dialed digits are not a number")
        record.virtual_number = number
        self._check_site(view, staff)
        binding = bindings.for_site(self.service, site.id, number)
        if binding is None:
            self._missing_binding(storage, number, site_id=site.id)
        self._attach(record, binding)
        return self._dial_customer(storage, record, binding)

    def _attach(self, record: CallRecord, binding: LiveBinding) -> None:
        record.binding_id = binding.id
        record.shipment_id = binding.shipment_id
        record.reason_code = binding.reason or None
        record.site_id = binding.site_id
        record.virtual_number = binding.number

    # ---- inbound -----------------------------------------------------------------------
    def _inbound(
        self, storage: _Storage, record: CallRecord, caller: str, did: str
    ) -> CallDecision:
        region = self.settings.default_region
        number = try_normalize(did, region) or try_normalize("+" + did.lstrip("+"), region)
        if number is None:
            self._deny(Refusal.INVALID_INPUT, "DID is not a number")
        number_region = self.lookups.number_region(number, storage)
        if number_region is None:
            self._deny(Refusal.UNKNOWN, f"{number} is not in the pool")
        record.virtual_number = number
        customer = try_normalize(caller, number_region) if caller else None
        if customer is None:
            self._deny(Refusal.UNKNOWN, "caller ID missing or not a number")
        binding = bindings.for_customer(self.service, customer, number)
        if binding is None:
            self._missing_binding(storage, number, customer=customer)
        self._attach(record, binding)
        view = self.lookups.site(binding.site_id, storage)
        if view is None:
            self._deny(Refusal.UNKNOWN, f"{number}: site is gone")
        site = view.site
        self._check_site(view)
        endpoints = self._ring_endpoints(storage(), site)
        if not endpoints:
            self._deny(Refusal.UNAVAILABLE, f"site {site.code} has no phones to ring")
        shipment = storage().get(Shipment, binding.shipment_id)
        now = self.service.clock()
        record.recording_file = recording_path(record.id, now)
        record.status = CallStatus.RINGING_STAFF
        log.info(
            "call %s (%s): customer %s calls back %s, ringing site %s",
            record.id,
            record.channel_id,
            mask_number(customer),
            number,
            site.code,
        )
        label = f"Order {shipment.external_number}" if shipment else "Order"
        return CallDecision(
            call_id=record.id,
            action="dial",
            dial_endpoints=endpoints,
            callerid_num=number,
            callerid_name=label[:40],
            record_file=record.recording_file,
            announce_recording=False,
        )

    def _ring_endpoints(self, session: Session, site: Site) -> tuple[str, ...]:
        """The site's configured ring endpoints that :func:`policy.may_ring` allows, in
        their order; when none is allowed, the desk phones of everyone it allows."""
        allowed = [
            s.sip_endpoint
            for s in session.scalars(
                select(Staff)
                .where(Staff.site_id == site.id, Staff.sip_endpoint.is_not(None))
                .order_by(Staff.id)
            )
            if s.sip_endpoint and is_endpoint(s.sip_endpoint) and policy.may_ring(s, site)
        ]
        configured = [e for e in site.ring_endpoints if e in allowed]
        skipped = [e for e in site.ring_endpoints if e not in allowed]
        if skipped:
            log.warning(
                "site %s: not ringing %s: no staff member who may see numbers owns it",
                site.code,
                ", ".join(e for e in skipped if is_endpoint(e)) or "invalid endpoints",
            )
        return tuple(configured or allowed)

    # ---- click-to-call -------------------------------------------------------------------
    def _click2call(self, call_id: str, channel_id: str) -> CallDecision:
        try:
            with self.service.db.session() as session:
                record = session.get(CallRecord, call_id)
                if record is None or record.direction != Direction.CLICK2CALL:
                    fresh = CallRecord(
                        id=new_id(),
                        direction=Direction.CLICK2CALL,
                        channel_id=channel_id[:64],
                        asterisk=asterisk_of_channel(channel_id),
                        started_at=self.service.clock(),
                    )
                    decision = self._denial(
                        _Storage(self.service.db, session),
                        fresh,
                        Refused(Refusal.UNKNOWN, detail="no such click-to-call"),
                    )
                    session.add(fresh)
                    return decision
                storage = _Storage(self.service.db, session)
                try:
                    self.lookups.refresh()
                    decision = self._click2call_checks(storage, record, channel_id)
                except Refused as denied:
                    decision = self._denial(storage, record, denied)
                return decision
        except Exception:
            log.exception("click-to-call %s: decision failed, denying", call_id)
            return CallDecision(call_id=call_id, action="deny", deny_reason=Refusal.UNAVAILABLE)

    def _click2call_checks(
        self, storage: _Storage, record: CallRecord, channel_id: str
    ) -> CallDecision:
        session = storage()
        now = self.service.clock()
        if record.status != CallStatus.RINGING_STAFF or record.ended_at is not None:
            self._deny(Refusal.UNKNOWN, f"click-to-call {record.id} is {record.status}")
        if now - record.started_at > CLICK2CALL_ANSWER_WINDOW:
            self._deny(Refusal.EXPIRED, "staff answered too late")
        record.channel_id = record.channel_id or channel_id[:64]
        staff = session.get(Staff, record.staff_id) if record.staff_id else None
        view = self.lookups.site(record.site_id, storage) if record.site_id else None
        if staff is None or view is None or staff.site_id != view.site.id:
            self._deny(Refusal.NOT_ALLOWED, "click-to-call without site staff")
        site = view.site
        self._check_site(view, staff)
        binding = None
        if record.binding_id:
            db_binding = session.get(Binding, record.binding_id)
            if db_binding is not None:
                binding = bindings.for_site(self.service, site.id, db_binding.virtual_number)
        if binding is None or binding.id != record.binding_id:
            self._deny(Refusal.EXPIRED, "binding no longer live")
        return self._dial_customer(storage, record, binding)


def _awaits_leg_decision(record: CallRecord) -> bool:
    """A click-to-call record is opened before its staff leg is asked about (and may
    carry that leg's channel already): it is not a decision until the leg's."""
    return (
        record.direction == Direction.CLICK2CALL
        and record.status == CallStatus.RINGING_STAFF
        and record.ended_at is None
    )


def build_call_desk(settings: Settings | None = None) -> MaskingCallDesk:
    """The production desk on the configured database and Redis (classic AGI, benchmarks)."""
    return MaskingCallDesk(MaskingService.from_settings(settings or get_settings()))
