"""The call log on behalf of a :class:`Principal`: admins and QA see every site, site
staff their site, employees only their own calls."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from masking.policy import Action, may, may_see_temporary_numbers
from masking.service import MaskingService
from masking.shapes import is_call_id
from masking.states import Direction, Disposition
from masking.storage.models import Binding, CallRecord, Shipment, Site, Staff
from masking.web.auth import Principal
from masking.web.errors import forbidden, not_found, other_site
from masking.web.lookups import (
    check_login,
    check_one_of,
    check_page,
    check_shipment,
    iso,
    site_for,
)


def _may_see_call(p: Principal, record: CallRecord) -> None:
    if may(p.role, Action.SEE_ALL_CALLS):
        return
    if p.site_id is None or record.site_id != p.site_id:
        raise other_site()
    if not may(p.role, Action.SEE_COLLEAGUES_CALLS) and record.staff_id != p.id:
        raise forbidden("employees see only their own calls")


def shown_number(p: Principal, site: Site | None, number: str | None) -> str | None:
    """``number`` (a temporary number of ``site``) if ``p`` may see it, else None."""
    seen = may_see_temporary_numbers(p.role, p.sees_numbers, p.site_id, site)
    return number if seen else None


def call_view(session: Session, p: Principal, record: CallRecord) -> dict[str, Any]:
    shipment_id = record.shipment_id
    if shipment_id is None and record.binding_id:
        # a call refused after its number was recognised still names the shipment
        binding = session.get(Binding, record.binding_id)
        shipment_id = binding.shipment_id if binding else None
    shipment = session.get(Shipment, shipment_id) if shipment_id else None
    staff = session.get(Staff, record.staff_id) if record.staff_id else None
    site = session.get(Site, record.site_id) if record.site_id else None
    return {
        "id": record.id,
        "direction": record.direction,
        "site": site.code if site else None,
        "staff": staff.login if staff else None,
        "shipment": shipment.external_number if shipment else None,
        "reason": record.reason_code,
        "temporary_number": shown_number(p, site, record.virtual_number),
        "status": record.status,
        "disposition": record.disposition,
        "deny_reason": record.deny_reason,
        "started_at": iso(record.started_at),
        "answered_at": iso(record.answered_at),
        "ended_at": iso(record.ended_at),
        "bridged_seconds": record.bridged_seconds,
        "recording": bool(record.recording_file and record.recording_bytes),
        "recording_error": record.recording_error,
    }


def find_call(session: Session, call_id: str, what: str) -> CallRecord:
    """The call record, or a 404 naming ``what`` (for a malformed id too)."""
    record = session.get(CallRecord, call_id) if is_call_id(call_id) else None
    if record is None:
        raise not_found(what)
    return record


def get_call(service: MaskingService, p: Principal, call_id: str) -> dict[str, Any]:
    with service.db.session() as session:
        record = find_call(session, call_id, "call")
        _may_see_call(p, record)
        return call_view(session, p, record)


def call_state(service: MaskingService, call_id: str) -> tuple[str, str]:
    """The call's (status, disposition); the caller checked the call may be seen."""
    with service.db.session() as session:
        row = session.execute(
            select(CallRecord.status, CallRecord.disposition).where(CallRecord.id == call_id)
        ).one()
        return str(row[0]), str(row[1])


def _day_start(day: date | None, tz: str) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def list_calls(
    service: MaskingService,
    p: Principal,
    *,
    site: str | None = None,
    staff: str | None = None,
    direction: str | None = None,
    disposition: str | None = None,
    shipment: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    check_page(limit, offset, 200)
    if direction:
        check_one_of("direction", direction, Direction)
    if disposition:
        check_one_of("disposition", disposition, Disposition)
    if not may(p.role, Action.SEE_ALL_CALLS) and p.site_id is None:
        raise forbidden()
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
        tz = target.timezone if target else service.settings.timezone
        query = select(CallRecord)
        if target is not None:
            query = query.where(CallRecord.site_id == target.id)
        if not may(p.role, Action.SEE_COLLEAGUES_CALLS):
            query = query.where(CallRecord.staff_id == p.id)
        if staff:
            check_login("staff", staff)
            query = query.where(
                CallRecord.staff_id
                == select(Staff.id).where(Staff.login == staff).scalar_subquery()
            )
        if direction:
            query = query.where(CallRecord.direction == direction)
        if disposition:
            query = query.where(CallRecord.disposition == disposition)
        if shipment:
            check_shipment(shipment)
            query = query.where(
                CallRecord.shipment_id.in_(
                    select(Shipment.id).where(Shipment.external_number == shipment)
                )
            )
        start = _day_start(since, tz)
        end = _day_start(until + timedelta(days=1), tz) if until else None
        if start:
            query = query.where(CallRecord.started_at >= start)
        if end:
            query = query.where(CallRecord.started_at < end)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.order_by(CallRecord.started_at.desc(), CallRecord.id).limit(limit).offset(offset)
        )
        return {"total": total, "calls": [call_view(session, p, r) for r in rows]}
