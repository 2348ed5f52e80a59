"""Administrative operations shared by the CLI and the HTTP API.

Every function validates its input fully before it writes, and raises
:class:`AdminError` with a sentence that names the field, so a bad call changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from masking.hours import DAYS, Schedule, ScheduleError, parse_interval, parse_weekly_text, zone
from masking.models import (
    SITE_ROLES,
    Binding,
    Role,
    Shipment,
    Site,
    SiteException,
    Staff,
    VirtualNumber,
    utcnow,
)
from masking.phones import InvalidPhoneNumber, normalize, region_of

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
ENDPOINT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SHIPMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class AdminError(ValueError):
    pass


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$", 2)
    candidate = hash_password(password, bytes.fromhex(salt_hex))
    return secrets.compare_digest(candidate, stored) and bool(digest_hex)


# ---- sites ----------------------------------------------------------------------------
def get_site(session: Session, code: str) -> Site:
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise AdminError(f"site: no site with code {code!r}")
    return site


def create_site(
    session: Session,
    *,
    code: str,
    name: str,
    timezone: str,
    region: str,
    hours: str | dict[str, Any] | None = None,
    ttl_hours: float | None = None,
    ring_endpoints: Iterable[str] = (),
) -> Site:
    if not CODE_RE.match(code or ""):
        raise AdminError("code: use 1-64 lower-case letters, digits, '-' or '_'")
    if session.scalar(select(Site.id).where(Site.code == code)):
        raise AdminError(f"code: site {code!r} already exists")
    try:
        zone(timezone)
    except ScheduleError as exc:
        raise AdminError(f"timezone: {exc}") from None
    region = _region(region)
    weekly = _weekly(hours) if hours else {d: [["09:00", "21:00"]] for d in DAYS}
    if ttl_hours is not None and not 0 < ttl_hours <= 24 * 90:
        raise AdminError("ttl_hours: must be between 0 and 2160")
    site = Site(
        code=code,
        name=name or code,
        timezone=timezone,
        phone_region=region,
        weekly_hours=weekly,
        binding_ttl_hours=ttl_hours,
        ring_endpoints=[_endpoint(e) for e in ring_endpoints],
    )
    session.add(site)
    session.flush()
    return site


def _region(region: str) -> str:
    import phonenumbers

    region = (region or "").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise AdminError(f"region: unknown phone region {region!r} (use an ISO code like RU)")
    return region


def _weekly(hours: str | dict[str, Any]) -> dict[str, Any]:
    try:
        weekly = parse_weekly_text(hours) if isinstance(hours, str) else hours
        Schedule.from_data("UTC", weekly)
    except ScheduleError as exc:
        raise AdminError(f"hours: {exc}") from None
    return weekly


def _endpoint(name: str) -> str:
    if not ENDPOINT_RE.match(name or ""):
        raise AdminError(f"endpoint: {name!r} is not a valid PJSIP endpoint name")
    return name


def set_hours(session: Session, site: Site, hours: str | dict[str, Any]) -> None:
    site.weekly_hours = _weekly(hours)


def add_exception(
    session: Session, site: Site, day: date, intervals: list[str], note: str = ""
) -> SiteException:
    try:
        parsed = [parse_interval(i).text().split("-") for i in intervals]
    except ScheduleError as exc:
        raise AdminError(f"hours: {exc}") from None
    existing = session.scalar(
        select(SiteException).where(SiteException.site_id == site.id, SiteException.day == day)
    )
    if existing is None:
        existing = SiteException(site_id=site.id, day=day)
        session.add(existing)
    existing.intervals = parsed
    existing.note = note
    session.flush()
    session.refresh(site)
    return existing


def suspend(site: Site, *, reason: str, by: str, now: datetime | None = None) -> None:
    if not reason.strip():
        raise AdminError("reason: say why the site's numbers are hidden")
    site.suspended_at = now or utcnow()
    site.suspended_reason = reason.strip()
    site.suspended_by = by


def resume(site: Site) -> None:
    site.suspended_at = None
    site.suspended_reason = None
    site.suspended_by = None


# ---- staff ----------------------------------------------------------------------------
def get_staff(session: Session, login: str) -> Staff:
    staff = session.scalar(select(Staff).where(Staff.login == login))
    if staff is None:
        raise AdminError(f"login: no staff member {login!r}")
    return staff


def add_staff(
    session: Session,
    *,
    login: str,
    role: str,
    site: Site | None,
    name: str = "",
    endpoint: str | None = None,
    visible: bool = False,
    password: str | None = None,
) -> Staff:
    if not LOGIN_RE.match(login or ""):
        raise AdminError("login: use letters, digits, '.', '_', '-', '@' (1-100)")
    role = _role(role)
    if role in SITE_ROLES and site is None:
        raise AdminError(f"site: role {role} needs a site")
    if role not in SITE_ROLES and site is not None:
        raise AdminError(f"site: role {role} is platform-wide and takes no site")
    if session.scalar(select(Staff.id).where(Staff.login == login)):
        raise AdminError(f"login: {login!r} already exists")
    if endpoint is not None:
        _endpoint(endpoint)
        if session.scalar(select(Staff.id).where(Staff.sip_endpoint == endpoint)):
            raise AdminError(f"endpoint: {endpoint!r} already belongs to someone")
    staff = Staff(
        login=login,
        role=role,
        site_id=site.id if site else None,
        display_name=name or login,
        sip_endpoint=endpoint,
        numbers_visible=visible,
        password_hash=hash_password(password) if password else None,
    )
    session.add(staff)
    session.flush()
    return staff


def _role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise AdminError(f"role: {role!r} is not one of {allowed}") from None


def set_role(staff: Staff, role: str) -> None:
    role = _role(role)
    if (role in SITE_ROLES) != (staff.site_id is not None):
        raise AdminError(
            f"role: {role} does not fit a {'site' if staff.site_id else 'platform'} account"
        )
    staff.role = role


def issue_token(staff: Staff) -> str:
    token = "mk_" + secrets.token_urlsafe(32)
    staff.token_hash = hash_secret(token)
    return token


def staff_by_token(session: Session, token: str) -> Staff | None:
    if not token:
        return None
    return session.scalar(select(Staff).where(Staff.token_hash == hash_secret(token), Staff.active))


# ---- pool -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportReport:
    added: int
    skipped: int


def _virtual(raw: str, region: str | None, field: str) -> tuple[str, str]:
    try:
        number = normalize(raw, region or "ZZ", field=field)
    except InvalidPhoneNumber as exc:
        raise AdminError(str(exc)) from None
    found = region_of(number)
    if found is None:
        raise AdminError(f"{field}: cannot tell the region of the number")
    if region and found != region:
        raise AdminError(f"{field}: number belongs to region {found}, not {region}")
    return number, found


def add_numbers(
    session: Session, raw_numbers: Iterable[str], region: str | None = None, *, line_offset: int = 0
) -> tuple[ImportReport, dict[str, list[str]]]:
    """Validate all numbers first, then add the new ones. Returns new numbers by region."""
    region = _region(region) if region else None
    parsed: list[tuple[str, str]] = []
    for index, raw in enumerate(raw_numbers, start=1):
        parsed.append(_virtual(raw, region, f"line {index + line_offset}"))
    existing = set(
        session.scalars(
            select(VirtualNumber.number).where(VirtualNumber.number.in_([p[0] for p in parsed]))
        )
    )
    added: dict[str, list[str]] = {}
    for number, found in parsed:
        if number in existing:
            continue
        existing.add(number)
        session.add(VirtualNumber(number=number, region=found))
        added.setdefault(found, []).append(number)
    session.flush()
    count = sum(len(v) for v in added.values())
    return ImportReport(added=count, skipped=len(parsed) - count), added


def read_csv_column(text: str, column: str) -> list[tuple[int, dict[str, str]]]:
    """Rows as (line number, row) from CSV text with a header; raises on a missing column."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or column not in reader.fieldnames:
        raise AdminError(f"csv: the header must contain a {column!r} column")
    return [(reader.line_num, row) for row in reader]


def pool_stats(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Per region: numbers in the pool and numbers in live use by at least one site."""
    totals = dict(
        session.execute(
            select(VirtualNumber.region, func.count())
            .where(VirtualNumber.active)
            .group_by(VirtualNumber.region)
        ).all()
    )
    in_use = dict(
        session.execute(
            select(VirtualNumber.region, func.count(func.distinct(Binding.virtual_number)))
            .join(Binding, Binding.virtual_number == VirtualNumber.number)
            .where(Binding.expires_at > now, Binding.revoked_at.is_(None))
            .group_by(VirtualNumber.region)
        ).all()
    )
    return [
        {"region": r, "numbers": int(n), "bound_somewhere": int(in_use.get(r, 0))}
        for r, n in sorted(totals.items())
    ]


# ---- shipments ------------------------------------------------------------------------
def import_shipments(
    session: Session, site: Site, text: str, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """CSV with columns ``shipment,phone[,status]``. All rows are validated before any is
    written; the first bad row aborts the import with its line number."""
    rows = read_csv_column(text, "shipment")
    if rows and "phone" not in rows[0][1]:
        raise AdminError("csv: the header must contain a 'phone' column")
    seen: dict[str, tuple[str, str]] = {}
    for line, row in rows:
        number = (row.get("shipment") or "").strip()
        if not SHIPMENT_RE.match(number):
            raise AdminError(f"line {line}: shipment must be 1-64 letters, digits, '-' or '_'")
        try:
            phone = normalize(row.get("phone") or "", site.phone_region, field=f"line {line}")
        except InvalidPhoneNumber as exc:
            raise AdminError(str(exc)) from None
        if number in seen:
            raise AdminError(f"line {line}: shipment {number} appears twice in the file")
        seen[number] = (phone, (row.get("status") or "at_pickup_point").strip()[:40])
        if progress and line % 500 == 0:
            progress(500)
    existing = {
        s.external_number: s
        for s in session.scalars(
            select(Shipment).where(
                Shipment.site_id == site.id, Shipment.external_number.in_(list(seen))
            )
        )
    }
    added = 0
    for number, (phone, status) in seen.items():
        if number in existing:
            existing[number].customer_phone = phone
            existing[number].status = status
        else:
            session.add(
                Shipment(
                    site_id=site.id, external_number=number, customer_phone=phone, status=status
                )
            )
            added += 1
    session.flush()
    return ImportReport(added=added, skipped=len(seen) - added)


def add_shipment(
    session: Session, site: Site, number: str, phone: str, status: str = "at_pickup_point"
) -> Shipment:
    text = f"shipment,phone,status\n{number},{phone},{status}\n"
    import_shipments(session, site, text)
    shipment = session.scalar(
        select(Shipment).where(Shipment.site_id == site.id, Shipment.external_number == number)
    )
    assert shipment is not None
    return shipment
