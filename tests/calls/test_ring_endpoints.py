"""A customer's call-back rings only desk phones whose owner may see the temporary
number it displays (issue 9, finding 7)."""

from __future__ import annotations

import logging

import pytest

from masking import accounts, sites
from masking.calls.desk import MaskingCallDesk
from masking.refusals import Refusal
from masking.service import MaskingService
from tests.support.calls import revealed_number
from tests.support.factories import World, customer, seed_site


@pytest.fixture
def world(service: MaskingService) -> World:
    world = seed_site(service, pool=3, shipments=1)
    seed_site(service, "pvz2")
    return world


def ring_list(service: MaskingService, *endpoints: str) -> None:
    with service.db.session() as session:
        sites.get_site(session, "pvz1").ring_endpoints = list(endpoints)


def call_back(service: MaskingService, vn: str) -> tuple[str, ...] | Refusal:
    """The phones the customer's call-back to ``vn`` rings, or why it is refused."""
    decision = MaskingCallDesk(service).inbound_call(caller=customer(0), did=vn, channel_id="i")
    if decision.action != "dial":
        assert decision.deny_reason is not None
        return decision.deny_reason
    assert decision.callerid_num == vn
    return decision.dial_endpoints


def test_an_unowned_shared_phone_is_not_rung(
    service: MaskingService, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    vn = revealed_number(service, world)
    # seed_site configures pvz1-phone, a phone no staff member is signed in on
    with caplog.at_level(logging.WARNING, logger="masking.calls"):
        assert call_back(service, vn) == ("pvz1-desk1", "pvz1-desk2")
    assert "not ringing pvz1-phone" in caplog.text
    assert customer(0)[1:] not in caplog.text


def test_only_configured_phones_of_staff_who_may_see_numbers_ring(
    service: MaskingService, world: World
) -> None:
    vn = revealed_number(service, world)
    # the employee without visibility (desk3), another site's owner, a shared phone
    ring_list(service, "pvz1-desk3", "pvz1-desk2", "pvz2-desk1", "pvz1-phone")
    assert call_back(service, vn) == ("pvz1-desk2",)
    with service.db.session() as session:
        accounts.set_numbers_visible(accounts.get_staff(session, "pvz1-emp"), True)
    assert call_back(service, vn) == ("pvz1-desk3", "pvz1-desk2")


def test_a_disabled_owner_is_not_rung_and_nobody_left_means_deny(
    service: MaskingService, world: World
) -> None:
    vn = revealed_number(service, world)
    ring_list(service, "pvz1-desk1", "pvz1-phone")
    with service.db.session() as session:
        accounts.get_staff(session, "pvz1-owner").active = False
    assert call_back(service, vn) == ("pvz1-desk2",)
    with service.db.session() as session:
        accounts.get_staff(session, "pvz1-manager").active = False
    assert call_back(service, vn) is Refusal.UNAVAILABLE
