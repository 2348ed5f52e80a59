"""Who may do what: plain rules, no storage."""

from __future__ import annotations

from enum import StrEnum

from masking.models import Role, Site, Staff


class Refusal(StrEnum):
    NOT_ALLOWED = "not_allowed"  # role or visibility
    OTHER_SITE = "other_site"  # staff of one site asked for another site's customer
    SUSPENDED = "suspended"
    CLOSED = "closed"
    BAD_REASON = "bad_reason"
    INACTIVE = "inactive"


def may_see_numbers(staff: Staff) -> bool:
    """Owner and staff manager always; an employee when the owner switched it on."""
    if not staff.active:
        return False
    if staff.role in (Role.OWNER, Role.STAFF_MANAGER):
        return True
    return staff.role == Role.EMPLOYEE and bool(staff.numbers_visible)


def may_manage_team(staff: Staff) -> bool:
    return staff.active and staff.role in (Role.OWNER, Role.ADMIN)


def is_admin(staff: Staff) -> bool:
    return staff.active and staff.role == Role.ADMIN


def may_listen_recordings(staff: Staff) -> bool:
    return staff.active and staff.role in (Role.ADMIN, Role.QA)


def belongs_to(staff: Staff, site: Site) -> bool:
    return staff.site_id is not None and staff.site_id == site.id


def reason_allowed(code: str | None, active_codes: set[str]) -> bool:
    return bool(code) and code in active_codes


def reveal_refusal(staff: Staff, site: Site) -> Refusal | None:
    """Why this staff member may not reveal a number for this site (None: allowed).

    Hours and reasons are checked separately: they need a clock and the reason table.
    """
    if not staff.active:
        return Refusal.INACTIVE
    if not belongs_to(staff, site):
        return Refusal.OTHER_SITE
    if not may_see_numbers(staff):
        return Refusal.NOT_ALLOWED
    if site.suspended:
        return Refusal.SUSPENDED
    return None
