"""Sites on behalf of a :class:`Principal`: site staff see their own site, admins and QA
list all, only admins change them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking import shapes, sites
from masking.policy import Action
from masking.service import MaskingService
from masking.sites import schedule_of
from masking.storage.models import Site
from masking.web.auth import Principal, need
from masking.web.errors import bad_input, not_found
from masking.web.lookups import iso, site_by_code, site_for


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
    need(p, Action.LIST_SITES)
    now = service.clock()
    with service.db.session() as session:
        return [site_view(s, now) for s in session.scalars(select(Site).order_by(Site.code))]


def get_site(service: MaskingService, p: Principal, code: str) -> dict[str, Any]:
    with service.db.session() as session:
        site = site_for(session, p, code, required=True)
        assert site is not None
        return site_view(site, service.clock())


def _change_site(
    service: MaskingService, p: Principal, code: str, change: Callable[[Session, Site], object]
) -> dict[str, Any]:
    need(p, Action.CHANGE_SITES, "only a platform admin changes sites")
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
    return _change_site(service, p, code, lambda s, site: sites.set_hours(s, site, hours))


def add_exception(
    service: MaskingService, p: Principal, code: str, day: date, intervals: list[str], note: str
) -> dict[str, Any]:
    if len(note) > 200:
        raise bad_input("note: at most 200 characters")
    return _change_site(
        service, p, code, lambda s, site: sites.add_exception(s, site, day, intervals, note)
    )


def delete_exception(service: MaskingService, p: Principal, code: str, day: date) -> dict[str, Any]:
    def change(session: Session, site: Site) -> None:
        if not sites.delete_exception(session, site, day):
            raise not_found("exception for that day")

    return _change_site(service, p, code, change)


def suspend(service: MaskingService, p: Principal, code: str, reason: str) -> dict[str, Any]:
    if len(reason) > 1000:
        raise bad_input("reason: at most 1000 characters")
    return _change_site(
        service,
        p,
        code,
        lambda s, site: sites.suspend(site, reason=reason, by=p.login, now=service.clock()),
    )


def resume(service: MaskingService, p: Principal, code: str) -> dict[str, Any]:
    return _change_site(service, p, code, lambda s, site: sites.resume(site))
