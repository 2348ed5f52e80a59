"""What the API and the console do, on behalf of a :class:`Principal`.

Every function checks role and site itself and raises :class:`ApiError`; none returns a
customer's real number (only temporary numbers, and those only to people who may see
them).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from masking import recordings as rec
from masking import shapes, sites
from masking.calls import call_log
from masking.calls.click2call import prepare_click2call
from masking.calls.contract import Originator
from masking.numbers import bindings, virtual
from masking.refusals import Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.shapes import CODE_RE, LOGIN_RE, SHIPMENT_RE
from masking.sites import schedule_of
from masking.states import Direction, Disposition, Role
from masking.storage.models import (
    Binding,
    CallRecord,
    Reason,
    RevealAudit,
    Shipment,
    Site,
    SiteException,
    Staff,
    VirtualNumber,
)
from masking.web.auth import Principal
from masking.web.errors import ApiError, bad_input, forbidden, not_found, other_site, refusal

REASON_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
CALL_ID_RE = re.compile(r"^[0-9a-f]{32}$")
REASON_KINDS = ("pickup_point", "call_centre")
SITE_ROLES = (Role.OWNER, Role.STAFF_MANAGER, Role.EMPLOYEE)


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def check_shipment(number: str) -> str:
    number = (number or "").strip()
    if not SHIPMENT_RE.match(number):
        raise bad_input("shipment: use 1-64 letters, digits, '-' or '_'")
    return number


def check_reason_code(code: str) -> str:
    if not REASON_RE.match(code or ""):
        raise bad_input("reason: choose one of the allowed reason codes")
    return code


def site_by_code(session: Session, code: str) -> Site:
    if not CODE_RE.match(code or ""):
        raise bad_input("site: a site code is 1-64 lower-case letters, digits, '-' or '_'")
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise not_found("site")
    return site


def site_for(session: Session, p: Principal, code: str | None, *, required: bool) -> Site | None:
    """The site a request is about: a site role's own site (another one is refused);
    platform roles name it (or get all sites when ``required`` is False)."""
    if p.site_id is not None:
        own = session.get(Site, p.site_id)
        assert own is not None
        if code and code != own.code:
            site_by_code(session, code)  # unknown codes are 404 for everyone
            raise other_site()
        return own
    if code:
        return site_by_code(session, code)
    if required:
        raise bad_input("site: name the site (?site=<code>)")
    return None


def need(p: Principal, *roles: str, message: str | None = None) -> None:
    if p.role not in roles:
        raise forbidden(message or "your role may not do this")


# ---- item search, reveal, click-to-call --------------------------------------------
def reasons_for(session: Session, kind: str | None = None) -> list[dict[str, Any]]:
    query = select(Reason).where(Reason.active).order_by(Reason.kind.desc(), Reason.code)
    if kind:
        query = query.where(Reason.kind == kind)
    return [reason_view(r) for r in session.scalars(query)]


def reason_view(r: Reason) -> dict[str, Any]:
    return {
        "code": r.code,
        "title_ru": r.title_ru,
        "title_en": r.title_en,
        "kind": r.kind,
        "active": r.active,
    }


def search_item(service: MaskingService, p: Principal, shipment_number: str) -> dict[str, Any]:
    number = check_shipment(shipment_number)
    if p.site_id is None:
        raise forbidden("item search is for the staff of a pickup point")
    now = service.clock()
    with service.db.session() as session:
        site = session.get(Site, p.site_id)
        assert site is not None
        shipment = session.scalar(
            select(Shipment).where(Shipment.site_id == site.id, Shipment.external_number == number)
        )
        if shipment is None:
            if session.scalar(select(Shipment.id).where(Shipment.external_number == number)):
                raise refusal("other_site", "this shipment belongs to another site")
            raise refusal("unknown_shipment", "no such shipment at this site")
        live = session.scalar(
            select(Binding)
            .where(
                Binding.shipment_id == shipment.id,
                Binding.site_id == site.id,
                Binding.expires_at > now,
                Binding.revoked_at.is_(None),
            )
            .order_by(Binding.created_at.desc())
            .limit(1)
        )
        return {
            "shipment": shipment.external_number,
            "status": shipment.status,
            "site": site.code,
            "live_number": live is not None,
            "live_until": iso(live.expires_at) if live else None,
            "may_reveal": p.sees_numbers and not site.suspended,
            "site_suspended": site.suspended,
            "site_open": schedule_of(site).is_open(now),
            "reasons": reasons_for(session),
        }


def reveal(
    service: MaskingService, p: Principal, shipment_number: str, reason: str, channel: str = "api"
) -> dict[str, Any]:
    number = check_shipment(shipment_number)
    check_reason_code(reason)
    try:
        result = reveal_number(
            service, staff_id=p.id, shipment_number=number, reason=reason, channel=channel
        )
    except Refused as exc:
        raise refusal(exc.code, str(exc)) from None
    return {
        "shipment": result.shipment_number,
        "temporary_number": result.virtual_number,
        "expires_at": iso(result.expires_at),
        "reason": result.reason,
        "binding_id": result.binding_id,
        "new": result.new,
    }


async def start_call(
    service: MaskingService,
    originator: Originator | None,
    p: Principal,
    shipment_number: str,
    reason: str,
    channel: str = "api",
) -> dict[str, Any]:
    number = check_shipment(shipment_number)
    check_reason_code(reason)
    if p.site_id is None:
        raise refusal("not_allowed", "click-to-call is for the staff of a pickup point")
    if originator is None:
        raise ApiError(503, "click_to_call_unavailable", "the telephone connection is not set up")
    try:
        call_id, endpoint = await run_in_threadpool(
            partial(
                prepare_click2call,
                service,
                staff_id=p.id,
                shipment_number=number,
                reason=reason,
                channel=channel,
            )
        )
    except Refused as exc:
        raise refusal(exc.code, str(exc)) from None
    try:
        await originator.originate_click2call(
            call_id=call_id, endpoint=endpoint, label=f"Order {number}"[:40]
        )
    except Exception as exc:
        await run_in_threadpool(
            call_log.mark_ended, service, call_id, service.clock(), Disposition.FAILED
        )
        raise ApiError(
            502, "call_failed", "your desk phone could not be rung; try again", call_id=call_id
        ) from exc
    return get_call(service, p, call_id)


# ---- calls -----------------------------------------------------------------------------
def _may_see_call(p: Principal, record: CallRecord) -> None:
    if p.listens:
        return
    if p.site_id is None or record.site_id != p.site_id:
        raise other_site()
    if p.role == Role.EMPLOYEE and record.staff_id != p.id:
        raise forbidden("employees see only their own calls")


def call_view(session: Session, p: Principal, record: CallRecord) -> dict[str, Any]:
    shipment = session.get(Shipment, record.shipment_id) if record.shipment_id else None
    staff = session.get(Staff, record.staff_id) if record.staff_id else None
    site = session.get(Site, record.site_id) if record.site_id else None
    show_number = p.sees_numbers or p.platform
    return {
        "id": record.id,
        "direction": record.direction,
        "site": site.code if site else None,
        "staff": staff.login if staff else None,
        "shipment": shipment.external_number if shipment else None,
        "reason": record.reason_code,
        "temporary_number": record.virtual_number if show_number else None,
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


def get_call(service: MaskingService, p: Principal, call_id: str) -> dict[str, Any]:
    if not CALL_ID_RE.match(call_id or ""):
        raise not_found("call")
    with service.db.session() as session:
        record = session.get(CallRecord, call_id)
        if record is None:
            raise not_found("call")
        _may_see_call(p, record)
        return call_view(session, p, record)


def call_state(service: MaskingService, call_id: str) -> tuple[str, str]:
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
    if not 1 <= limit <= 200:
        raise bad_input("limit: must be between 1 and 200")
    if offset < 0:
        raise bad_input("offset: must not be negative")
    if direction and direction not in {d.value for d in Direction}:
        raise bad_input("direction: one of " + ", ".join(d.value for d in Direction))
    if disposition and disposition not in {d.value for d in Disposition}:
        raise bad_input("disposition: one of " + ", ".join(d.value for d in Disposition))
    if not p.listens and p.site_id is None:
        raise forbidden()
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
        tz = target.timezone if target else service.settings.timezone
        query = select(CallRecord)
        if target is not None:
            query = query.where(CallRecord.site_id == target.id)
        if p.role == Role.EMPLOYEE:
            query = query.where(CallRecord.staff_id == p.id)
        if staff:
            if not LOGIN_RE.match(staff):
                raise bad_input("staff: not a login")
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


# ---- team ------------------------------------------------------------------------------
def staff_view(s: Staff) -> dict[str, Any]:
    from masking import policy

    return {
        "login": s.login,
        "name": s.display_name,
        "role": s.role,
        "numbers_visible": bool(s.numbers_visible),
        "sees_numbers": policy.may_see_numbers(s),
        "active": s.active,
        "desk_phone": s.sip_endpoint,
    }


def team(service: MaskingService, p: Principal, site: str | None) -> dict[str, Any]:
    need(p, Role.OWNER, Role.STAFF_MANAGER, Role.ADMIN, message="only owners see the team")
    with service.db.session() as session:
        target = site_for(session, p, site, required=True)
        assert target is not None
        staff = session.scalars(
            select(Staff).where(Staff.site_id == target.id).order_by(Staff.role, Staff.login)
        )
        return {"site": target.code, "staff": [staff_view(s) for s in staff]}


def set_visibility(
    service: MaskingService, p: Principal, login: str, visible: bool
) -> dict[str, Any]:
    need(p, Role.OWNER, Role.ADMIN, message="only the site owner switches number visibility")
    if not LOGIN_RE.match(login or ""):
        raise bad_input("login: not a login")
    with service.db.session() as session:
        staff = session.scalar(select(Staff).where(Staff.login == login))
        if staff is None:
            raise not_found("staff member")
        if p.site_id is not None and staff.site_id != p.site_id:
            raise other_site()
        if staff.role != Role.EMPLOYEE:
            raise ApiError(409, "not_an_employee", "owners and staff managers always see numbers")
        staff.numbers_visible = visible
        session.flush()
        return staff_view(staff)


# ---- sites -----------------------------------------------------------------------------
def site_view(site: Site, now: datetime) -> dict[str, Any]:
    return {
        "code": site.code,
        "name": site.name,
        "timezone": site.timezone,
        "region": site.phone_region,
        "weekly_hours": site.weekly_hours,
        "exceptions": [
            {"day": iso(e.day), "intervals": e.intervals, "note": e.note} for e in site.exceptions
        ],
        "binding_ttl_hours": site.binding_ttl_hours,
        "open_now": schedule_of(site).is_open(now),
        "suspended": site.suspended,
        "suspended_reason": site.suspended_reason,
        "suspended_by": site.suspended_by,
        "suspended_at": iso(site.suspended_at),
    }


def list_sites(service: MaskingService, p: Principal) -> list[dict[str, Any]]:
    need(p, Role.ADMIN, Role.QA)
    now = service.clock()
    with service.db.session() as session:
        return [site_view(s, now) for s in session.scalars(select(Site).order_by(Site.code))]


def get_site(service: MaskingService, p: Principal, code: str) -> dict[str, Any]:
    with service.db.session() as session:
        site = site_for(session, p, code, required=True)
        assert site is not None
        return site_view(site, service.clock())


def _admin_site(service: MaskingService, p: Principal, code: str, change: Any) -> dict[str, Any]:
    need(p, Role.ADMIN, message="only a platform admin changes sites")
    with service.db.session() as session:
        site = site_by_code(session, code)
        try:
            change(session, site)
        except shapes.AdminError as exc:
            session.rollback()
            raise bad_input(str(exc)) from None
        session.flush()
        session.refresh(site)
        return site_view(site, service.clock())


def set_hours(
    service: MaskingService, p: Principal, code: str, hours: str | dict[str, Any]
) -> dict[str, Any]:
    if isinstance(hours, str) and not hours.strip():
        raise bad_input("hours: give the weekly schedule, e.g. 'mon-fri 09:00-21:00'")
    return _admin_site(service, p, code, lambda s, site: sites.set_hours(s, site, hours))


def add_exception(
    service: MaskingService, p: Principal, code: str, day: date, intervals: list[str], note: str
) -> dict[str, Any]:
    if len(note) > 200:
        raise bad_input("note: at most 200 characters")
    return _admin_site(
        service, p, code, lambda s, site: sites.add_exception(s, site, day, intervals, note)
    )


def delete_exception(service: MaskingService, p: Principal, code: str, day: date) -> dict[str, Any]:
    def change(session: Session, site: Site) -> None:
        found = session.scalar(
            select(SiteException).where(SiteException.site_id == site.id, SiteException.day == day)
        )
        if found is None:
            raise not_found("exception for that day")
        session.delete(found)

    return _admin_site(service, p, code, change)


def suspend(service: MaskingService, p: Principal, code: str, reason: str) -> dict[str, Any]:
    if len(reason) > 1000:
        raise bad_input("reason: at most 1000 characters")
    return _admin_site(
        service,
        p,
        code,
        lambda s, site: sites.suspend(site, reason=reason, by=p.login, now=service.clock()),
    )


def resume(service: MaskingService, p: Principal, code: str) -> dict[str, Any]:
    return _admin_site(service, p, code, lambda s, site: sites.resume(site))


# ---- pool ------------------------------------------------------------------------------
LOW_SHARE = 0.2


def pool_view(service: MaskingService, p: Principal) -> dict[str, Any]:
    need(p, Role.ADMIN, message="only a platform admin sees the pool")
    now = service.clock()
    with service.db.session() as session:
        stats = virtual.pool_stats(session, now)
        busiest: dict[str, int] = {}
        rows = session.execute(
            select(VirtualNumber.region, Binding.site_id, func.count(func.distinct(Binding.id)))
            .join(Binding, Binding.virtual_number == VirtualNumber.number)
            .where(Binding.expires_at > now, Binding.revoked_at.is_(None), VirtualNumber.active)
            .group_by(VirtualNumber.region, Binding.site_id)
        ).all()
        for region, _site, count in rows:
            busiest[region] = max(busiest.get(region, 0), int(count))
    regions = []
    warnings = []
    for row in stats:
        numbers = row["numbers"]
        free = numbers - row["bound_somewhere"]
        headroom = numbers - busiest.get(row["region"], 0)
        low = max(2, math.ceil(numbers * LOW_SHARE))
        level = "exhausted" if headroom <= 0 else "low" if headroom < low else "ok"
        regions.append(
            {
                **row,
                "free": free,
                "busiest_site_bindings": busiest.get(row["region"], 0),
                "headroom": headroom,
                "level": level,
            }
        )
        if level != "ok":
            warnings.append(
                {
                    "region": row["region"],
                    "level": level,
                    "message": f"region {row['region']}: "
                    + (
                        "no number is left for the busiest site; add numbers now"
                        if level == "exhausted"
                        else f"only {headroom} numbers left for the busiest site; add numbers"
                    ),
                }
            )
    return {"regions": regions, "warnings": warnings}


MAX_NUMBERS = 5000


def add_numbers(
    service: MaskingService, p: Principal, numbers: list[str], region: str | None
) -> dict[str, Any]:
    need(p, Role.ADMIN, message="only a platform admin adds numbers")
    numbers = [n.strip() for n in numbers if n and n.strip()]
    if not numbers:
        raise bad_input("numbers: give at least one number")
    if len(numbers) > MAX_NUMBERS:
        raise bad_input(f"numbers: at most {MAX_NUMBERS} at once")
    before = _pool_count(service)
    try:
        added = bindings.add_pool_numbers(service, numbers, region or None)
    except shapes.AdminError as exc:
        raise bad_input(str(exc)) from None
    return {"added": added, "skipped": len(numbers) - added, "pool_size": before + added}


def import_numbers(
    service: MaskingService, p: Principal, text: str, region: str | None
) -> dict[str, Any]:
    need(p, Role.ADMIN, message="only a platform admin adds numbers")
    try:
        rows = shapes.read_csv_column(text, "number")
    except shapes.AdminError as exc:
        raise bad_input(str(exc)) from None
    except Exception:
        raise bad_input("csv: the file is not readable CSV") from None
    return add_numbers(service, p, [row.get("number") or "" for _, row in rows], region)


def _pool_count(service: MaskingService) -> int:
    with service.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(VirtualNumber)) or 0)


# ---- reasons ---------------------------------------------------------------------------
def list_reasons(
    service: MaskingService, p: Principal, include_inactive: bool
) -> list[dict[str, Any]]:
    with service.db.session() as session:
        query = select(Reason).order_by(Reason.kind.desc(), Reason.code)
        if not (include_inactive and p.is_admin):
            query = query.where(Reason.active)
        return [reason_view(r) for r in session.scalars(query)]


def _titles(title_ru: str | None, title_en: str | None) -> None:
    for name, value in (("title_ru", title_ru), ("title_en", title_en)):
        if value is not None and not 1 <= len(value.strip()) <= 300:
            raise bad_input(f"{name}: 1-300 characters")


def create_reason(
    service: MaskingService, p: Principal, code: str, title_ru: str, title_en: str, kind: str
) -> dict[str, Any]:
    need(p, Role.ADMIN, message="only a platform admin edits reasons")
    if not REASON_RE.match(code or ""):
        raise bad_input("code: 2-40 lower-case letters, digits or '_', starting with a letter")
    _titles(title_ru, title_en)
    if kind not in REASON_KINDS:
        raise bad_input("kind: one of " + ", ".join(REASON_KINDS))
    with service.db.session() as session:
        if session.get(Reason, code) is not None:
            raise ApiError(409, "exists", f"reason {code!r} already exists")
        reason = Reason(
            code=code, title_ru=title_ru.strip(), title_en=title_en.strip(), kind=kind, active=True
        )
        session.add(reason)
        session.flush()
        return reason_view(reason)


def update_reason(
    service: MaskingService,
    p: Principal,
    code: str,
    *,
    active: bool | None,
    title_ru: str | None,
    title_en: str | None,
) -> dict[str, Any]:
    need(p, Role.ADMIN, message="only a platform admin edits reasons")
    _titles(title_ru, title_en)
    with service.db.session() as session:
        reason = session.get(Reason, code) if REASON_RE.match(code or "") else None
        if reason is None:
            raise not_found("reason")
        if active is not None:
            reason.active = active
        if title_ru is not None:
            reason.title_ru = title_ru.strip()
        if title_en is not None:
            reason.title_en = title_en.strip()
        session.flush()
        return reason_view(reason)


# ---- audit -----------------------------------------------------------------------------
def audit(
    service: MaskingService,
    p: Principal,
    *,
    site: str | None,
    staff: str | None,
    granted: bool | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    need(p, Role.ADMIN, Role.OWNER, message="only admins and owners see the reveal audit")
    if not 1 <= limit <= 500:
        raise bad_input("limit: must be between 1 and 500")
    if offset < 0:
        raise bad_input("offset: must not be negative")
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
        query = (
            select(RevealAudit, Staff.login, Site.code)
            .outerjoin(Staff, Staff.id == RevealAudit.staff_id)
            .outerjoin(Site, Site.id == RevealAudit.site_id)
        )
        if target is not None:
            query = query.where(RevealAudit.site_id == target.id)
        if staff:
            if not LOGIN_RE.match(staff):
                raise bad_input("staff: not a login")
            query = query.where(Staff.login == staff)
        if granted is not None:
            query = query.where(RevealAudit.granted.is_(granted))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(RevealAudit.at.desc(), RevealAudit.id.desc()).limit(limit).offset(offset)
        ).all()
        return {
            "total": total,
            "entries": [
                {
                    "at": iso(a.at),
                    "staff": login,
                    "site": code,
                    "shipment": a.shipment_number,
                    "reason": a.reason_code,
                    "granted": a.granted,
                    "refusal": a.refusal,
                    "temporary_number": a.virtual_number,
                    "channel": a.channel,
                }
                for a, login, code in rows
            ],
        }


# ---- recordings ------------------------------------------------------------------------
def _recording_view(session: Session, p: Principal, record: CallRecord) -> dict[str, Any]:
    view = call_view(session, p, record)
    view["recording_bytes"] = record.recording_bytes
    view["url"] = f"/api/v1/recordings/{record.id}"
    return view


def list_recordings(
    service: MaskingService, p: Principal, site: str | None, limit: int, offset: int
) -> dict[str, Any]:
    need(p, Role.ADMIN, Role.QA, message="only admins and QA reviewers listen to recordings")
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
    try:
        rows = rec.list_recordings(
            service, site_id=target.id if target else None, limit=limit, offset=offset
        )
    except rec.RecordingError as exc:
        raise bad_input(str(exc)) from None
    with service.db.session() as session:
        return {"recordings": [_recording_view(session, p, r) for r in rows]}


def sample_recordings(
    service: MaskingService, p: Principal, site: str, size: int, days: int
) -> dict[str, Any]:
    need(p, Role.ADMIN, Role.QA, message="only admins and QA reviewers sample calls")
    with service.db.session() as session:
        target = site_for(session, p, site, required=True)
        assert target is not None
    try:
        rows = rec.sample(service, site_id=target.id, size=size, days=days)
    except rec.RecordingError as exc:
        raise bad_input(str(exc)) from None
    with service.db.session() as session:
        return {
            "site": target.code,
            "days": days,
            "recordings": [_recording_view(session, p, r) for r in rows],
        }


def recording_file(service: MaskingService, p: Principal, call_id: str) -> Any:
    need(p, Role.ADMIN, Role.QA, message="only admins and QA reviewers listen to recordings")
    if not CALL_ID_RE.match(call_id or ""):
        raise not_found("recording")
    with service.db.session() as session:
        record = session.get(CallRecord, call_id)
        if record is None:
            raise not_found("recording")
        path = rec.file_for(service, record)
        if path is None:
            raise ApiError(
                404, "no_recording", record.recording_error or "this call has no recording"
            )
        return path


def purge_recordings(
    service: MaskingService, p: Principal, days: int, dry_run: bool
) -> dict[str, Any]:
    need(p, Role.ADMIN, message="only a platform admin deletes recordings")
    try:
        report = rec.purge(service, days=days, dry_run=dry_run)
    except rec.RecordingError as exc:
        raise bad_input(str(exc)) from None
    return {
        "days": days,
        "dry_run": dry_run,
        "deleted": report.deleted,
        "missing": report.missing,
        "failed": report.failed,
        "freed_bytes": report.freed_bytes,
    }
