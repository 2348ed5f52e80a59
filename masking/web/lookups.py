"""What the web services share: input checks, the site a request is about, ISO dates."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.shapes import CODE_RE, LOGIN_RE, REASON_RE, SHIPMENT_RE
from masking.storage.models import Site
from masking.web.auth import Principal
from masking.web.errors import bad_input, not_found, other_site


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


def check_login(field: str, login: str) -> str:
    if not LOGIN_RE.match(login or ""):
        raise bad_input(f"{field}: not a login")
    return login


def check_one_of(field: str, value: str, choices: type[StrEnum]) -> str:
    allowed = [choice.value for choice in choices]
    if value not in allowed:
        raise bad_input(f"{field}: one of " + ", ".join(allowed))
    return value


def check_page(limit: int, offset: int, most: int) -> None:
    if not 1 <= limit <= most:
        raise bad_input(f"limit: must be between 1 and {most}")
    if offset < 0:
        raise bad_input("offset: must not be negative")


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
