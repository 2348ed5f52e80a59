"""Who may do what: every role rule of the product, plain rules, no storage.

The web layer, the CLI and the call desk ask these; none keeps a role list of its own.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from masking.refusals import Refusal
from masking.states import Role

if TYPE_CHECKING:
    from masking.storage.models import Site, Staff

# Roles that belong to one site; the others (admin, QA) are platform-wide and have none.
SITE_ROLES: frozenset[str] = frozenset({Role.OWNER, Role.STAFF_MANAGER, Role.EMPLOYEE})
# Roles that see numbers without anyone switching it on.
ALWAYS_SEE_NUMBERS: frozenset[str] = frozenset({Role.OWNER, Role.STAFF_MANAGER})


class Action(StrEnum):
    SEE_TEAM = "see_team"
    SWITCH_VISIBILITY = "switch_visibility"  # the owner's switch for an employee
    LIST_SITES = "list_sites"
    CHANGE_SITES = "change_sites"  # hours, exceptions, suspension
    MANAGE_POOL = "manage_pool"
    EDIT_REASONS = "edit_reasons"
    SEE_AUDIT = "see_audit"
    LISTEN_RECORDINGS = "listen_recordings"
    PURGE_RECORDINGS = "purge_recordings"
    SEE_ALL_CALLS = "see_all_calls"  # call log of every site
    SEE_COLLEAGUES_CALLS = "see_colleagues_calls"  # not only one's own calls
    MANAGE_ACCOUNTS = "manage_accounts"  # switch an account off/on, reset its password
    RECEIVE_APPEALS = "receive_appeals"  # an upstream system hands an appeal to a site
    WORK_APPEALS = "work_appeals"  # the site's queue: list, take, note, status, call
    SEE_ALL_APPEALS = "see_all_appeals"  # read every site's appeals
    APPEALS_REPORT = "appeals_report"
    RECEIVE_ORDERS = "receive_orders"  # the shop's system sends orders to confirm
    MANAGE_CAMPAIGNS = "manage_campaigns"  # save a campaign's rule and policy, assign it
    SEE_CAMPAIGNS = "see_campaigns"  # any campaign of the site, read-only
    WORK_CAMPAIGNS = "work_campaigns"  # dial and confirm: only a campaign assigned to you
    CAMPAIGNS_REPORT = "campaigns_report"
    WORK_HOTLINE = "work_hotline"  # answer the site's hotline: the pop, verify, the actions
    SEE_HOTLINE = "see_hotline"  # the hotline's recent contacts and their audit, read-only


ALLOWED: dict[Action, frozenset[str]] = {
    Action.SEE_TEAM: frozenset({Role.OWNER, Role.STAFF_MANAGER, Role.ADMIN}),
    Action.SWITCH_VISIBILITY: frozenset({Role.OWNER, Role.ADMIN}),
    Action.LIST_SITES: frozenset({Role.ADMIN, Role.QA}),
    Action.CHANGE_SITES: frozenset({Role.ADMIN}),
    Action.MANAGE_POOL: frozenset({Role.ADMIN}),
    Action.EDIT_REASONS: frozenset({Role.ADMIN}),
    Action.SEE_AUDIT: frozenset({Role.ADMIN, Role.OWNER}),
    Action.LISTEN_RECORDINGS: frozenset({Role.ADMIN, Role.QA}),
    Action.PURGE_RECORDINGS: frozenset({Role.ADMIN}),
    Action.SEE_ALL_CALLS: frozenset({Role.ADMIN, Role.QA}),
    Action.SEE_COLLEAGUES_CALLS: frozenset({Role.OWNER, Role.STAFF_MANAGER, Role.ADMIN, Role.QA}),
    Action.MANAGE_ACCOUNTS: frozenset({Role.OWNER, Role.ADMIN}),
    Action.RECEIVE_APPEALS: frozenset({Role.ADMIN, Role.OWNER, Role.STAFF_MANAGER}),
    Action.WORK_APPEALS: frozenset({Role.OWNER, Role.STAFF_MANAGER, Role.EMPLOYEE}),
    Action.SEE_ALL_APPEALS: frozenset({Role.ADMIN}),
    Action.APPEALS_REPORT: frozenset({Role.ADMIN, Role.OWNER, Role.STAFF_MANAGER}),
    Action.RECEIVE_ORDERS: frozenset({Role.ADMIN, Role.OWNER, Role.STAFF_MANAGER}),
    Action.MANAGE_CAMPAIGNS: frozenset({Role.ADMIN, Role.OWNER, Role.STAFF_MANAGER}),
    Action.SEE_CAMPAIGNS: frozenset({Role.ADMIN, Role.OWNER, Role.STAFF_MANAGER, Role.QA}),
    Action.WORK_CAMPAIGNS: frozenset({Role.OWNER, Role.STAFF_MANAGER, Role.EMPLOYEE}),
    Action.CAMPAIGNS_REPORT: frozenset({Role.ADMIN, Role.OWNER, Role.STAFF_MANAGER, Role.QA}),
    Action.WORK_HOTLINE: frozenset({Role.OWNER, Role.STAFF_MANAGER, Role.EMPLOYEE}),
    Action.SEE_HOTLINE: frozenset({Role.ADMIN, Role.OWNER, Role.STAFF_MANAGER, Role.QA}),
}


def may(role: str, action: Action) -> bool:
    """Whether a role may take an action (the caller checks the account is active)."""
    return role in ALLOWED[action]


def is_site_role(role: str) -> bool:
    return role in SITE_ROLES


def may_see_numbers(staff: Staff) -> bool:
    """Owner and staff manager always; an employee when the owner switched it on."""
    if not staff.active:
        return False
    if staff.role in ALWAYS_SEE_NUMBERS:
        return True
    return staff.role == Role.EMPLOYEE and bool(staff.numbers_visible)


def may_see_temporary_numbers(
    role: str, sees_numbers: bool, own_site_id: int | None, site: Site | None
) -> bool:
    """The one rule for showing a temporary (virtual) number, on every surface: reveal,
    call list and detail, recordings, audit, and the desk phone a call-back rings.

    ``sees_numbers`` is :func:`may_see_numbers` of the viewer, ``site`` the site the
    number belongs to. The platform admin always sees it (they run the pool and answer
    complaints); QA reviewers never (they listen to calls, they do not dial customers);
    site staff only for their own site, when they may see numbers and the site is not
    suspended (an admin who hides a site's numbers hides them everywhere).
    """
    if role == Role.ADMIN:
        return True
    if role not in SITE_ROLES or site is None or own_site_id != site.id:
        return False
    return sees_numbers and not site.suspended


def staff_sees_temporary_numbers(staff: Staff, site: Site | None) -> bool:
    return staff.active and may_see_temporary_numbers(
        staff.role, may_see_numbers(staff), staff.site_id, site
    )


def may_ring(owner: Staff | None, site: Site) -> bool:
    """Whether a call-back to ``site`` may ring the desk phone ``owner`` is signed in on.

    A ringing phone displays the temporary number, so it rings only where the one
    visibility rule allows the number: an active staff member of the site who may see
    numbers. A phone nobody owns (``owner`` None: a shared counter phone, a hunt group)
    is never rung, whatever the site's ring list says: whoever stands by it would see
    the number and nothing records who that is. A serious product would let an admin
    opt one site in to shared phones, attesting that they sit where only staff who may
    see numbers are; the schema has no such per-site setting yet, so the answer is no.
    """
    return owner is not None and staff_sees_temporary_numbers(owner, site)


def visibility_switchable(staff: Staff) -> bool:
    """Only an employee's visibility is switched; owners and staff managers always see."""
    return staff.role == Role.EMPLOYEE


def may_manage_team(staff: Staff) -> bool:
    return staff.active and may(staff.role, Action.SWITCH_VISIBILITY)


def is_admin(staff: Staff) -> bool:
    return staff.active and staff.role == Role.ADMIN


def may_listen_recordings(staff: Staff) -> bool:
    return staff.active and may(staff.role, Action.LISTEN_RECORDINGS)


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
    if not staff_sees_temporary_numbers(staff, site):  # the reveal hands one out
        return Refusal.NOT_ALLOWED
    return None


def call_refusal(staff: Staff | None, site: Site) -> Refusal | None:
    """Why a call for this site may not go through now, hours aside (None: allowed).
    ``staff`` is the caller on operator and click-to-call legs, None for a call-back."""
    if site.suspended:
        return Refusal.SUSPENDED
    if staff is not None and not may_see_numbers(staff):
        return Refusal.NOT_ALLOWED
    return None


def may_manage_account(role: str, own_site_id: int | None, target: Staff) -> bool:
    """Who switches ``target`` off or on and resets its password: an admin any account;
    an owner the employees and staff managers of their own site."""
    if not may(role, Action.MANAGE_ACCOUNTS):
        return False
    if role == Role.ADMIN:
        return True
    return (
        target.site_id is not None
        and target.site_id == own_site_id
        and target.role in (Role.EMPLOYEE, Role.STAFF_MANAGER)
    )
