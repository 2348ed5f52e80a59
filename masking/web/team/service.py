"""A site's staff, their number visibility and their accounts (switched off or on, a new
password) on behalf of a :class:`Principal`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking import accounts, policy
from masking.policy import Action
from masking.service import MaskingService
from masking.shapes import AdminError
from masking.storage.models import Staff
from masking.web.auth import Principal, need
from masking.web.errors import ApiError, bad_input, forbidden, not_found, other_site
from masking.web.lookups import check_login, site_for


def staff_view(s: Staff, p: Principal | None = None) -> dict[str, Any]:
    view = {
        "login": s.login,
        "name": s.display_name,
        "role": s.role,
        "numbers_visible": bool(s.numbers_visible),
        "sees_numbers": policy.may_see_numbers(s),
        "active": s.active,
        "desk_phone": s.sip_endpoint,
    }
    if p is not None:
        view["manageable"] = s.id != p.id and policy.may_manage_account(p.role, p.site_id, s)
    return view


def list_team(service: MaskingService, p: Principal, site: str | None) -> dict[str, Any]:
    need(p, Action.SEE_TEAM, "only owners see the team")
    with service.db.session() as session:
        target = site_for(session, p, site, required=True)
        assert target is not None
        staff = session.scalars(
            select(Staff).where(Staff.site_id == target.id).order_by(Staff.role, Staff.login)
        )
        return {"site": target.code, "staff": [staff_view(s, p) for s in staff]}


def _member(session: Session, p: Principal, login: str) -> Staff:
    """The staff member ``login``; a site role reaches only its own site's."""
    check_login("login", login)
    staff = session.scalar(select(Staff).where(Staff.login == login))
    if staff is None:
        raise not_found("staff member")
    if p.site_id is not None and staff.site_id != p.site_id:
        raise other_site()
    return staff


def set_visibility(
    service: MaskingService, p: Principal, login: str, visible: bool
) -> dict[str, Any]:
    need(p, Action.SWITCH_VISIBILITY, "only the site owner switches number visibility")
    with service.db.session() as session:
        staff = _member(session, p, login)
        if not policy.visibility_switchable(staff):
            raise ApiError(409, "not_an_employee", "owners and staff managers always see numbers")
        accounts.set_numbers_visible(staff, visible)
        session.flush()
        return staff_view(staff, p)


def _managed(session: Session, p: Principal, login: str) -> Staff:
    need(p, Action.MANAGE_ACCOUNTS, "only admins and site owners manage accounts")
    staff = _member(session, p, login)
    if staff.id == p.id:
        raise ApiError(409, "own_account", "manage your own account through an admin")
    if not policy.may_manage_account(p.role, p.site_id, staff):
        raise forbidden("an owner manages only the employees and staff managers of the site")
    return staff


def set_active(service: MaskingService, p: Principal, login: str, active: bool) -> dict[str, Any]:
    """Switch an account off (its sessions end, its token and desk phone are refused at
    once) or on again."""
    with service.db.session() as session:
        staff = _managed(session, p, login)
        accounts.set_active(session, staff, active, service.clock())
        session.flush()
        return staff_view(staff, p)


def reset_password(
    service: MaskingService, p: Principal, login: str, password: str
) -> dict[str, Any]:
    """A new console password for someone else; their console sessions end."""
    with service.db.session() as session:
        staff = _managed(session, p, login)
        try:
            accounts.set_password(session, staff, password, service.clock())
        except AdminError as exc:
            raise bad_input(str(exc)) from None
        session.flush()
        return staff_view(staff, p)
