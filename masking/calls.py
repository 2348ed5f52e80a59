"""The call desk: decides every call Asterisk asks about, and writes its call record.

Fail closed: any error inside a decision becomes a deny with reason ``unavailable``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking import policy
from masking.admin import ENDPOINT_RE
from masking.calls_contract import CallDecision, DenyReason
from masking.config import Settings, get_settings
from masking.models import (
    Binding,
    CallRecord,
    Direction,
    Disposition,
    Shipment,
    Site,
    Staff,
    VirtualNumber,
    new_id,
)
from masking.phones import dial_digits, mask_number, try_normalize
from masking.pool import LiveBinding
from masking.service import Masking, schedule_of

log = logging.getLogger("masking.calls")

_ENDPOINT = ENDPOINT_RE
_CALL_ID = re.compile(r"^[0-9a-f]{32}$")
CLICK2CALL_ANSWER_WINDOW = timedelta(minutes=3)


def recording_path(call_id: str, at: datetime) -> str:
    """Relative path under the monitor directory: date folders and the call id only."""
    return f"{at:%Y/%m/%d}/{call_id}.wav"


class Denied(Exception):
    def __init__(self, reason: DenyReason, detail: str = "") -> None:
        super().__init__(detail or reason.value)
        self.reason = reason
        self.detail = detail


class MaskingCallDesk:
    """Implements :class:`masking.calls_contract.CallDesk` on the database and the pool."""

    def __init__(self, service: Masking) -> None:
        self.service = service
        self.settings: Settings = service.settings

    # ---- the three questions ------------------------------------------------------
    def operator_call(self, *, endpoint: str, dialed: str, channel_id: str) -> CallDecision:
        record = CallRecord(
            id=new_id(),
            direction=Direction.OUTBOUND,
            channel_id=channel_id[:64],
            endpoint=endpoint[:64],
            started_at=self.service.clock(),
        )
        return self._decide(record, lambda s: self._operator(s, record, endpoint, dialed))

    def inbound_call(self, *, caller: str, did: str, channel_id: str) -> CallDecision:
        record = CallRecord(
            id=new_id(),
            direction=Direction.INBOUND,
            channel_id=channel_id[:64],
            started_at=self.service.clock(),
        )
        return self._decide(record, lambda s: self._inbound(s, record, caller, did))

    def click2call_leg(self, *, call_id: str, channel_id: str) -> CallDecision:
        if not _CALL_ID.match(call_id or ""):
            record = CallRecord(
                id=new_id(),
                direction=Direction.CLICK2CALL,
                channel_id=channel_id[:64],
                started_at=self.service.clock(),
            )
            return self._decide(record, lambda s: self._deny(DenyReason.INVALID_INPUT))
        return self._click2call(call_id, channel_id)

    def record_denied(self, *, route: str, channel_id: str, reason: DenyReason) -> CallDecision:
        direction = {
            "inbound-call": Direction.INBOUND,
            "click2call": Direction.CLICK2CALL,
        }.get(route, Direction.OUTBOUND)
        record = CallRecord(
            id=new_id(),
            direction=direction,
            channel_id=channel_id[:64],
            started_at=self.service.clock(),
        )
        return self._decide(record, lambda s: self._deny(reason, f"{route}: malformed request"))

    # ---- shared ----------------------------------------------------------------------
    def _deny(self, reason: DenyReason, detail: str = "") -> CallDecision:
        raise Denied(reason, detail)

    def _decide(
        self, record: CallRecord, decide: Callable[[Session], CallDecision]
    ) -> CallDecision:
        try:
            with self.service.db.session() as session:
                try:
                    decision: CallDecision = decide(session)
                except Denied as denied:
                    decision = self._denial(session, record, denied)
                session.add(record)
            return decision
        except Exception:
            log.exception("call %s (%s): decision failed, denying", record.id, record.channel_id)
            self._record_unavailable(record)
            return CallDecision(
                call_id=record.id, action="deny", deny_reason=DenyReason.UNAVAILABLE
            )

    def _record_unavailable(self, record: CallRecord) -> None:
        """Keep the attempt on record when only Redis failed; give up quietly otherwise."""
        try:
            with self.service.db.session() as session:
                session.add(
                    CallRecord(
                        id=record.id,
                        direction=record.direction,
                        channel_id=record.channel_id,
                        endpoint=record.endpoint,
                        site_id=record.site_id,
                        staff_id=record.staff_id,
                        virtual_number=record.virtual_number,
                        started_at=record.started_at,
                        ended_at=self.service.clock(),
                        disposition=Disposition.DENIED,
                        deny_reason=DenyReason.UNAVAILABLE.value,
                        status="ended",
                    )
                )
        except Exception:
            log.error("call %s: could not store the denied attempt", record.id)

    def _denial(self, session: Session, record: CallRecord, denied: Denied) -> CallDecision:
        now = self.service.clock()
        record.disposition = Disposition.DENIED
        record.deny_reason = denied.reason.value
        record.status = "ended"
        record.ended_at = now
        opens_at = opens_day = None
        if denied.reason is DenyReason.CLOSED and record.site_id is not None:
            site = session.get(Site, record.site_id)
            opening = schedule_of(site).next_opening(now) if site else None
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

    def _dial_customer(self, record: CallRecord, binding: LiveBinding) -> CallDecision:
        now = self.service.clock()
        record.recording_file = recording_path(record.id, now)
        record.status = "ringing_customer"
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

    def _check_site(self, site: Site, staff: Staff | None = None) -> None:
        if site.suspended:
            self._deny(DenyReason.SUSPENDED, f"site {site.code}")
        if staff is not None and not policy.may_see_numbers(staff):
            self._deny(DenyReason.NOT_ALLOWED, f"{staff.login} may not see numbers")
        if not schedule_of(site).is_open(self.service.clock()):
            self._deny(DenyReason.CLOSED, f"site {site.code}")

    def _missing_binding(
        self,
        session: Session,
        number: str,
        *,
        site_id: int | None = None,
        customer: str | None = None,
    ) -> None:
        """No live binding: was it ours and expired, another site's, or never issued?"""
        now = self.service.clock()
        query = select(Binding.id).where(Binding.virtual_number == number)
        if site_id is not None:
            live_elsewhere = session.scalar(
                query.where(
                    Binding.site_id != site_id,
                    Binding.expires_at > now,
                    Binding.revoked_at.is_(None),
                ).limit(1)
            )
            if live_elsewhere:
                self._deny(DenyReason.OTHER_SITE, f"{number} is bound for another site")
            query = query.where(Binding.site_id == site_id)
        if customer is not None:
            query = query.where(Binding.customer_phone == customer)
        if session.scalar(query.limit(1)):
            self._deny(DenyReason.EXPIRED, f"{number}: binding expired")
        self._deny(DenyReason.UNKNOWN, f"{number}: no binding")

    # ---- operator ----------------------------------------------------------------------
    def _operator(
        self, session: Session, record: CallRecord, endpoint: str, dialed: str
    ) -> CallDecision:
        if not _ENDPOINT.match(endpoint or ""):
            self._deny(DenyReason.INVALID_INPUT, "endpoint")
        staff = session.scalar(select(Staff).where(Staff.sip_endpoint == endpoint))
        if staff is None or staff.site_id is None or not staff.active:
            self._deny(DenyReason.NOT_ALLOWED, f"endpoint {endpoint} is not staff of a site")
        assert staff is not None and staff.site_id is not None
        record.staff_id, record.site_id = staff.id, staff.site_id
        site = session.get(Site, staff.site_id)
        assert site is not None
        number = try_normalize(dialed, site.phone_region)
        if number is None:
            self._deny(DenyReason.INVALID_INPUT, "dialed digits are not a number")
        assert number is not None
        record.virtual_number = number
        self._check_site(site, staff)
        binding = self.service.binding_for_site(site.id, number)
        if binding is None:
            self._missing_binding(session, number, site_id=site.id)
        assert binding is not None
        self._attach(record, binding)
        return self._dial_customer(record, binding)

    def _attach(self, record: CallRecord, binding: LiveBinding) -> None:
        record.binding_id = binding.id
        record.shipment_id = binding.shipment_id
        record.reason_code = binding.reason or None
        record.site_id = binding.site_id
        record.virtual_number = binding.number

    # ---- inbound -----------------------------------------------------------------------
    def _inbound(self, session: Session, record: CallRecord, caller: str, did: str) -> CallDecision:
        region = self.settings.default_region
        number = try_normalize(did, region) or try_normalize("+" + did.lstrip("+"), region)
        if number is None:
            self._deny(DenyReason.INVALID_INPUT, "DID is not a number")
        assert number is not None
        vn = session.get(VirtualNumber, number)
        if vn is None:
            self._deny(DenyReason.UNKNOWN, f"{number} is not in the pool")
        assert vn is not None
        record.virtual_number = number
        customer = try_normalize(caller, vn.region) if caller else None
        if customer is None:
            self._deny(DenyReason.UNKNOWN, "caller ID missing or not a number")
        assert customer is not None
        binding = self.service.binding_for_customer(customer, number)
        if binding is None:
            self._missing_binding(session, number, customer=customer)
        assert binding is not None
        self._attach(record, binding)
        site = session.get(Site, binding.site_id)
        assert site is not None
        self._check_site(site)
        endpoints = tuple(e for e in site.ring_endpoints if _ENDPOINT.match(e))
        if not endpoints:
            endpoints = tuple(
                s.sip_endpoint
                for s in session.scalars(
                    select(Staff).where(
                        Staff.site_id == site.id, Staff.active, Staff.sip_endpoint.is_not(None)
                    )
                )
                if s.sip_endpoint and policy.may_see_numbers(s) and _ENDPOINT.match(s.sip_endpoint)
            )
        if not endpoints:
            self._deny(DenyReason.UNAVAILABLE, f"site {site.code} has no phones to ring")
        shipment = session.get(Shipment, binding.shipment_id)
        now = self.service.clock()
        record.recording_file = recording_path(record.id, now)
        record.status = "ringing_staff"
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
                        started_at=self.service.clock(),
                    )
                    decision = self._denial(
                        session, fresh, Denied(DenyReason.UNKNOWN, "no such click-to-call")
                    )
                    session.add(fresh)
                    return decision
                try:
                    decision = self._click2call_checks(session, record, channel_id)
                except Denied as denied:
                    decision = self._denial(session, record, denied)
                return decision
        except Exception:
            log.exception("click-to-call %s: decision failed, denying", call_id)
            return CallDecision(call_id=call_id, action="deny", deny_reason=DenyReason.UNAVAILABLE)

    def _click2call_checks(
        self, session: Session, record: CallRecord, channel_id: str
    ) -> CallDecision:
        now = self.service.clock()
        if record.status != "ringing_staff" or record.ended_at is not None:
            self._deny(DenyReason.UNKNOWN, f"click-to-call {record.id} is {record.status}")
        if now - record.started_at > CLICK2CALL_ANSWER_WINDOW:
            self._deny(DenyReason.EXPIRED, "staff answered too late")
        record.channel_id = record.channel_id or channel_id[:64]
        staff = session.get(Staff, record.staff_id) if record.staff_id else None
        site = session.get(Site, record.site_id) if record.site_id else None
        if staff is None or site is None or staff.site_id != site.id:
            self._deny(DenyReason.NOT_ALLOWED, "click-to-call without site staff")
        assert staff is not None and site is not None
        self._check_site(site, staff)
        binding = None
        if record.binding_id:
            db_binding = session.get(Binding, record.binding_id)
            if db_binding is not None:
                binding = self.service.binding_for_site(site.id, db_binding.virtual_number)
        if binding is None or binding.id != record.binding_id:
            self._deny(DenyReason.EXPIRED, "binding no longer live")
        assert binding is not None
        return self._dial_customer(record, binding)


def build_call_desk(settings: Settings | None = None) -> MaskingCallDesk:
    """The production desk on the configured database and Redis."""
    service = Masking.from_settings(settings or get_settings())
    return MaskingCallDesk(service)


class ClickToCallRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def prepare_click2call(
    service: Masking, *, staff_id: int, shipment_number: str, reason: str, channel: str = "api"
) -> tuple[str, str]:
    """Reveal (or reuse) the shipment's binding and open a click-to-call record.

    Returns ``(call id, staff endpoint)``; the AMI client then rings the endpoint.
    """
    with service.db.session() as session:
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.sip_endpoint:
            raise ClickToCallRefused("no_phone", "no desk phone is set for this staff member")
        endpoint = staff.sip_endpoint
    revealed = service.reveal(
        staff_id=staff_id, shipment_number=shipment_number, reason=reason, channel=channel
    )
    with service.db.session() as session:
        shipment = session.scalar(
            select(Shipment).where(
                Shipment.external_number == revealed.shipment_number,
                Shipment.site_id
                == select(Staff.site_id).where(Staff.id == staff_id).scalar_subquery(),
            )
        )
        record = CallRecord(
            id=new_id(),
            direction=Direction.CLICK2CALL,
            staff_id=staff_id,
            site_id=shipment.site_id if shipment else None,
            binding_id=revealed.binding_id,
            shipment_id=shipment.id if shipment else None,
            reason_code=reason,
            endpoint=endpoint,
            virtual_number=revealed.virtual_number,
            started_at=service.clock(),
            status="ringing_staff",
        )
        session.add(record)
    return record.id, endpoint
