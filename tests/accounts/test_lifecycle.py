"""Account lifecycle in the domain: a disabled member's token and desk phone are refused
at once, and a password a person sets has a minimum length."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from masking import accounts
from masking.calls.desk import MaskingCallDesk
from masking.refusals import Refusal
from masking.service import MaskingService
from masking.shapes import AdminError
from masking.storage.models import Staff
from tests.support.calls import revealed_number
from tests.support.factories import seed_site


def test_disabled_member_loses_desk_phone_and_token_at_once(service: MaskingService) -> None:
    world = seed_site(service, pool=2, shipments=1)
    vn = revealed_number(service, world)
    desk = MaskingCallDesk(service)
    with service.db.session() as session:
        token = accounts.issue_token(session.get_one(Staff, world.owner_id))
    assert desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c.1").action == "dial"

    with service.db.session() as session:
        accounts.set_active(session, session.get_one(Staff, world.owner_id), False, service.clock())
    refused = desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c.2")
    assert (refused.action, refused.deny_reason) == ("deny", Refusal.NOT_ALLOWED)
    assert refused.dial_number is None
    with service.db.session() as session:
        assert accounts.staff_by_token(session, token) is None

    with service.db.session() as session:
        accounts.set_active(session, session.get_one(Staff, world.owner_id), True, service.clock())
    assert desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c.3").action == "dial"


def test_a_password_a_person_sets_has_twelve_characters(service: MaskingService) -> None:
    seed_site(service)
    with service.db.session() as session:
        with pytest.raises(AdminError, match="password: use at least 12 characters"):
            accounts.add_staff(session, login="short", role="admin", site=None, password="a" * 11)
        assert session.scalar(select(Staff).where(Staff.login == "short")) is None
        emp = accounts.get_staff(session, "pvz1-emp")
        with pytest.raises(AdminError, match="password"):
            accounts.set_password(session, emp, "eleven-char", service.clock())
        assert emp.password_hash is None
        accounts.set_password(session, emp, "twelve-chars", service.clock())
        assert accounts.check_password("twelve-chars", emp.password_hash)
