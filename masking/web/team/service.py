"""A site's staff and their number visibility on behalf of a :class:`Principal`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from masking import accounts, policy
from masking.policy import Action
from masking.service import MaskingService
from masking.storage.models import Staff
from masking.web.auth import Principal, need
from masking.web.errors import ApiError, not_found, other_site
from masking.web.lookups import check_login, site_for


def staff_view(s: Staff) -> dict[str, Any]:
    return {
        "login": s.login,
        "name": s.display_name,
        "role": s.role,
        "numbers_visible": bool(s.numbers_visible),
        "sees_numbers": policy.may_see_numbers(s),
        "active": s.active,
        "desk_phone": s.sip_endpoint,
    }


def list_team(service: MaskingService, p: Principal, site: str | None) -> dict[str, Any]:
    need(p, Action.SEE_TEAM, "only owners see the team")
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
    need(p, Action.SWITCH_VISIBILITY, "only the site owner switches number visibility")
    check_login("login", login)
    with service.db.session() as session:
        staff = session.scalar(select(Staff).where(Staff.login == login))
        if staff is None:
            raise not_found("staff member")
        if p.site_id is not None and staff.site_id != p.site_id:
            raise other_site()
        if not policy.visibility_switchable(staff):
            raise ApiError(409, "not_an_employee", "owners and staff managers always see numbers")
        accounts.set_numbers_visible(staff, visible)
        session.flush()
        return staff_view(staff)
