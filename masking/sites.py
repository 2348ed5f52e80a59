"""Sites and their hours: create, weekly schedule, date exceptions, suspension.

Every function validates its input fully before it writes and raises
:class:`masking.shapes.AdminError` with a sentence that names the field, so a bad call
changes nothing. Functions taking a ``Session`` compose inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.hours import DAYS, Schedule, ScheduleError, parse_interval, parse_weekly_text, zone
from masking.shapes import CODE_RE, AdminError, check_endpoint, check_region
from masking.storage.models import Site, SiteException, utcnow


def schedule_of(site: Site) -> Schedule:
    return Schedule.from_data(
        site.timezone, site.weekly_hours, {e.day: e.intervals for e in site.exceptions}
    )


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
    region = check_region(region)
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
        ring_endpoints=[check_endpoint(e) for e in ring_endpoints],
    )
    session.add(site)
    session.flush()
    return site


def _weekly(hours: str | dict[str, Any]) -> dict[str, Any]:
    try:
        weekly = parse_weekly_text(hours) if isinstance(hours, str) else hours
        Schedule.from_data("UTC", weekly)
    except ScheduleError as exc:
        raise AdminError(f"hours: {exc}") from None
    return weekly


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


def delete_exception(session: Session, site: Site, day: date) -> bool:
    """Drop the date's exception (the weekly schedule applies again); False if none."""
    found = session.scalar(
        select(SiteException).where(SiteException.site_id == site.id, SiteException.day == day)
    )
    if found is None:
        return False
    session.delete(found)
    return True


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
