"""Who may do what: visibility of numbers, reveal refusals, reasons, platform roles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from masking import accounts, policy
from masking.shapes import AdminError
from masking.states import Role
from masking.storage.models import Site, Staff

MSK = "Europe/Moscow"


def staff(role: Role, visible: bool = False, site_id: int | None = 1, active: bool = True) -> Staff:
    return Staff(login="x", role=role, numbers_visible=visible, site_id=site_id, active=active)


class TestRoles:
    def test_visibility(self) -> None:
        assert policy.may_see_numbers(staff(Role.OWNER))
        assert policy.may_see_numbers(staff(Role.STAFF_MANAGER))
        assert not policy.may_see_numbers(staff(Role.EMPLOYEE))
        assert policy.may_see_numbers(staff(Role.EMPLOYEE, visible=True))
        assert not policy.may_see_numbers(staff(Role.OWNER, active=False))
        assert not policy.may_see_numbers(staff(Role.ADMIN, site_id=None))

    def test_reveal_refusal(self) -> None:
        site = Site(id=1, code="a", name="a", timezone=MSK, phone_region="RU")
        other = Site(id=2, code="b", name="b", timezone=MSK, phone_region="RU")
        assert policy.reveal_refusal(staff(Role.OWNER), site) is None
        assert policy.reveal_refusal(staff(Role.OWNER), other) == policy.Refusal.OTHER_SITE
        assert policy.reveal_refusal(staff(Role.EMPLOYEE), site) == policy.Refusal.NOT_ALLOWED
        site.suspended_at = datetime(2026, 1, 1, tzinfo=UTC)
        assert policy.reveal_refusal(staff(Role.OWNER), site) == policy.Refusal.SUSPENDED

    def test_reasons(self) -> None:
        assert policy.reason_allowed("a", {"a"})
        assert not policy.reason_allowed("", {"a"})
        assert not policy.reason_allowed(None, {"a"})
        assert not policy.reason_allowed("b", {"a"})

    def test_admin_and_qa(self) -> None:
        assert policy.may_listen_recordings(staff(Role.QA, site_id=None))
        assert not policy.may_listen_recordings(staff(Role.OWNER))
        assert policy.may_manage_team(staff(Role.OWNER))
        assert not policy.may_manage_team(staff(Role.STAFF_MANAGER))


class TestVisibilitySwitch:
    def test_only_an_employee_is_switched(self) -> None:
        employee = staff(Role.EMPLOYEE)
        accounts.set_numbers_visible(employee, True)
        assert employee.numbers_visible and policy.may_see_numbers(employee)
        accounts.set_numbers_visible(employee, False)
        assert not employee.numbers_visible and not policy.may_see_numbers(employee)

    @pytest.mark.parametrize("role", [Role.OWNER, Role.STAFF_MANAGER])
    def test_owners_and_staff_managers_always_see(self, role: Role) -> None:
        member = staff(role)
        for visible in (True, False):
            with pytest.raises(AdminError, match="always see numbers"):
                accounts.set_numbers_visible(member, visible)
        assert policy.may_see_numbers(member)
