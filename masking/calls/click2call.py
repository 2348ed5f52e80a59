"""Click-to-call from the console or the API: reveal, open the call record, and let the
originator ring the staff member's desk phone first (the customer leg is decided by the
desk when that phone answers, see :meth:`MaskingCallDesk.click2call_leg`)."""

from __future__ import annotations

from sqlalchemy import select

from masking.refusals import Refusal, Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.states import CallStatus, Direction
from masking.storage.models import CallRecord, Shipment, Staff, new_id


def prepare_click2call(
    service: MaskingService,
    *,
    staff_id: int,
    shipment_number: str,
    reason: str,
    channel: str = "api",
    case_id: str | None = None,
) -> tuple[str, str]:
    """Reveal (or reuse) the shipment's binding and open a click-to-call record.

    Returns ``(call id, staff endpoint)``; the originator then rings the endpoint.
    ``case_id``: the call-centre case this call is an attempt of (else the desk links the
    open case of the order, if any).
    Raises :class:`Refused` (``no_phone`` or any reveal refusal).
    """
    with service.db.session() as session:
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.sip_endpoint:
            raise Refused(Refusal.NO_PHONE)
        endpoint = staff.sip_endpoint
    revealed = reveal_number(
        service, staff_id=staff_id, shipment_number=shipment_number, reason=reason, channel=channel
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
            status=CallStatus.RINGING_STAFF,
            case_id=case_id,
            # the staff leg is originated on this instance's own Asterisk
            asterisk=service.settings.asterisk_name or None,
        )
        session.add(record)
    return record.id, endpoint


def staff_callerid_number(service: MaskingService, call_id: str) -> str | None:
    """The number a click-to-call's staff phone shows: the call's temporary number (never
    the customer's). None when the call or its number is unknown."""
    with service.db.session() as session:
        record = session.get(CallRecord, call_id)
        return record.virtual_number if record else None
