"""A call is decided once (issue 14, several instances): when the dialplan asks its next
FastAGI server about a channel because the earlier one gave it no answer, the desk
(``retried``) answers a deny ``unavailable`` if that earlier server decided after all,
and closes the decision nobody acted upon; otherwise the request is decided as usual."""

from __future__ import annotations

import pytest

from masking.calls import call_log
from masking.calls.click2call import prepare_click2call
from masking.calls.desk import MaskingCallDesk
from masking.campaigns import worklist
from masking.refusals import Refusal
from masking.service import MaskingService
from masking.states import CallStatus, Direction, Disposition
from tests.support.calls import REASON, call_record, call_records, revealed_number
from tests.support.clock import FakeClock
from tests.support.factories import World, seed_site
from tests.support.orders import order_row, place, seed_campaign

CHANNEL = "1700000000.7"


@pytest.fixture
def desk(service: MaskingService) -> MaskingCallDesk:
    return MaskingCallDesk(service)


@pytest.fixture
def world(service: MaskingService) -> World:
    return seed_site(service, pool=3, shipments=1)


def test_nothing_decided_yet_is_decided_as_usual(
    service: MaskingService, desk: MaskingCallDesk, world: World
) -> None:
    """The first server died before storing anything: the second one decides."""
    vn = revealed_number(service, world)
    assert desk.retried(direction=Direction.OUTBOUND, channel_id=CHANNEL) is None
    decision = desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id=CHANNEL)
    assert decision.action == "dial"
    [record] = call_records(service)
    assert record.disposition == Disposition.IN_PROGRESS


def test_a_lost_dial_decision_is_closed_and_never_decided_again(
    service: MaskingService, desk: MaskingCallDesk, world: World
) -> None:
    vn = revealed_number(service, world)
    first = desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id=CHANNEL)
    assert first.action == "dial"
    # that answer never reached Asterisk; it asks the next server (another instance)
    other_instance = MaskingCallDesk(service)
    again = other_instance.retried(direction=Direction.OUTBOUND, channel_id=CHANNEL)
    assert again is not None
    assert (again.action, again.deny_reason, again.call_id) == (
        "deny",
        Refusal.UNAVAILABLE,
        first.call_id,
    )
    [record] = call_records(service)  # no second record, no second decision
    assert (record.disposition, record.deny_reason, record.status) == (
        Disposition.DENIED,
        Refusal.UNAVAILABLE.value,
        CallStatus.ENDED,
    )
    assert record.ended_at is not None
    # asked a third time: still no decision
    third = desk.retried(direction=Direction.OUTBOUND, channel_id=CHANNEL)
    assert third is not None and third.action == "deny"


def test_a_lost_denial_stays_as_it_was(
    service: MaskingService, desk: MaskingCallDesk, world: World
) -> None:
    first = desk.operator_call(endpoint="nobody", dialed="74950000009", channel_id=CHANNEL)
    assert first.deny_reason is Refusal.NOT_ALLOWED
    again = desk.retried(direction=Direction.OUTBOUND, channel_id=CHANNEL)
    assert again is not None and again.deny_reason is Refusal.UNAVAILABLE
    [record] = call_records(service)
    assert record.deny_reason == Refusal.NOT_ALLOWED.value


def test_only_the_same_path_counts(
    service: MaskingService, desk: MaskingCallDesk, world: World
) -> None:
    """An inbound call denied and sent on to the hotline asks again on the same channel:
    a different question, decided as usual; a request without a channel id is denied."""
    desk.inbound_call(caller="79160000000", did="74959999999", channel_id=CHANNEL)
    assert desk.retried(direction=Direction.HOTLINE, channel_id=CHANNEL) is None
    assert desk.retried(direction=Direction.INBOUND, channel_id=CHANNEL) is not None
    no_channel = desk.retried(direction=Direction.OUTBOUND, channel_id="-")
    assert no_channel is not None and no_channel.deny_reason is Refusal.UNAVAILABLE


def test_click_to_call_leg_counts_once_decided_and_releases_its_order(
    service: MaskingService, clock: FakeClock
) -> None:
    """A click-to-call record exists (and may know its staff leg's channel, from the AMI
    tracker) before the leg is decided: that is no decision. Once the leg was decided
    "dial" and the answer lost, the order's claim is released with the denial."""
    campaign = seed_campaign(service)
    order_id = place(service, "5001")
    call_id = worklist.dial_order(service, order_id, campaign.employee_id)
    assert order_row(service, order_id).dialing_call_id == call_id
    call_log.set_channel(service, call_id, channel_id=CHANNEL)
    desk = MaskingCallDesk(service)
    assert desk.retried(direction=Direction.CLICK2CALL, channel_id=CHANNEL) is None

    leg = desk.click2call_leg(call_id=call_id, channel_id=CHANNEL)
    assert leg.action == "dial"
    again = desk.retried(direction=Direction.CLICK2CALL, channel_id=CHANNEL)
    assert again is not None and (again.call_id, again.action) == (call_id, "deny")
    record = call_record(service, call_id)
    assert (record.disposition, record.deny_reason) == (Disposition.DENIED, "unavailable")
    assert order_row(service, order_id).dialing_call_id is None


def test_a_click_to_call_without_its_channel_yet(
    service: MaskingService, desk: MaskingCallDesk, world: World
) -> None:
    """The tracker had not reported the staff leg's channel: the leg's decision sets it."""
    revealed_number(service, world)
    call_id, _ = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    assert desk.retried(direction=Direction.CLICK2CALL, channel_id=CHANNEL) is None
    assert desk.click2call_leg(call_id=call_id, channel_id=CHANNEL).action == "dial"
    again = desk.retried(direction=Direction.CLICK2CALL, channel_id=CHANNEL)
    assert again is not None and again.call_id == call_id
