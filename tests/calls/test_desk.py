"""The call desk's decisions (the domain side of every call path)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from masking import sites
from masking.calls.click2call import prepare_click2call
from masking.calls.desk import MaskingCallDesk
from masking.numbers.pool import LivePool
from masking.refusals import Refusal
from masking.service import MaskingService
from tests.support.calls import REASON, call_records, revealed_number
from tests.support.clock import FakeClock
from tests.support.factories import World, customer, seed_site


@pytest.fixture
def desk(service: MaskingService) -> MaskingCallDesk:
    return MaskingCallDesk(service)


@pytest.fixture
def world(service: MaskingService) -> Iterator[World]:
    yield seed_site(service, pool=3, shipments=2)


def test_operator_call_dials_customer_masked(
    service: MaskingService, desk: MaskingCallDesk, world: World
) -> None:
    vn = revealed_number(service, world)
    decision = desk.operator_call(endpoint="pvz1-desk2", dialed=vn.lstrip("+"), channel_id="c.1")
    assert decision.action == "dial"
    assert decision.dial_number == customer(0).lstrip("+")
    assert decision.callerid_num == vn
    assert decision.callerid_name == service.settings.neutral_callerid_name
    assert decision.record_file and decision.call_id in decision.record_file
    assert "7916" not in decision.record_file
    [rec] = call_records(service)
    assert (rec.direction, rec.disposition, rec.reason_code) == ("outbound", "in_progress", REASON)
    assert rec.binding_id and rec.staff_id == world.manager_id


@pytest.mark.parametrize("dialed_form", ["+{}", "{}", "8{}"])
def test_operator_dialed_forms(
    service: MaskingService, desk: MaskingCallDesk, world: World, dialed_form: str
) -> None:
    vn = revealed_number(service, world)
    dialed = dialed_form.format(vn[2:] if dialed_form == "8{}" else vn.lstrip("+"))
    assert desk.operator_call(endpoint="pvz1-desk1", dialed=dialed, channel_id="c").action == "dial"


def test_operator_denials(
    service: MaskingService, desk: MaskingCallDesk, world: World, clock: FakeClock
) -> None:
    vn = revealed_number(service, world)
    other = seed_site(service, "pvz2", pool=0, shipments=1)
    cases = [
        ("pvz1-desk3", vn, Refusal.NOT_ALLOWED),  # employee without visibility
        ("pvz2-desk1", vn, Refusal.OTHER_SITE),  # owner of another site
        ("nobody", vn, Refusal.NOT_ALLOWED),  # unknown endpoint
        ("pvz1-desk1", "123&PJSIP/x@carrier", Refusal.INVALID_INPUT),
        ("pvz1-desk1", "+74950009999", Refusal.UNKNOWN),  # never issued
        ("bad endpoint\n", vn, Refusal.INVALID_INPUT),
    ]
    for endpoint, dialed, reason in cases:
        decision = desk.operator_call(endpoint=endpoint, dialed=dialed, channel_id="c")
        assert (decision.action, decision.deny_reason) == ("deny", reason), endpoint
        assert decision.dial_number is None
    assert other.site_id
    clock.advance(hours=11)  # 23:00 Moscow
    closed = desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c")
    assert closed.deny_reason is Refusal.CLOSED
    assert (closed.opens_at, closed.opens_day) == ("0900", 3)
    clock.advance(hours=14)  # next day 13:00, binding expired (24 h from 12:00)
    expired = desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c")
    assert expired.deny_reason is Refusal.EXPIRED
    with service.db.session() as session:
        sites.suspend(sites.get_site(session, "pvz1"), reason="complaints", by="admin")
    assert (
        desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c").deny_reason
        is Refusal.SUSPENDED
    )
    denied = [r for r in call_records(service) if r.disposition == "denied"]
    assert len(denied) == len(cases) + 3
    assert all(r.ended_at is not None and r.deny_reason for r in denied)


def test_inbound_rings_site_phones(
    service: MaskingService, desk: MaskingCallDesk, world: World, clock: FakeClock
) -> None:
    vn = revealed_number(service, world)
    decision = desk.inbound_call(caller="8" + customer(0)[2:], did=vn.lstrip("+"), channel_id="i")
    assert decision.action == "dial"
    # pvz1-phone, the configured shared phone, has no owner: the owner's and the staff
    # manager's desks ring instead (tests/calls/test_ring_endpoints.py)
    assert decision.dial_endpoints == ("pvz1-desk1", "pvz1-desk2")
    assert decision.callerid_num == vn
    assert decision.callerid_name == "Order PVZ1-00000"
    assert "7916" not in (decision.callerid_name or "")
    stranger = desk.inbound_call(caller="+79169999999", did=vn, channel_id="i")
    assert stranger.deny_reason is Refusal.UNKNOWN
    anonymous = desk.inbound_call(caller="", did=vn, channel_id="i")
    assert anonymous.deny_reason is Refusal.UNKNOWN
    clock.advance(hours=11)
    assert (
        desk.inbound_call(caller=customer(0), did=vn, channel_id="i").deny_reason is Refusal.CLOSED
    )
    clock.advance(hours=14)
    assert (
        desk.inbound_call(caller=customer(0), did=vn, channel_id="i").deny_reason is Refusal.EXPIRED
    )


def test_click2call(
    service: MaskingService, desk: MaskingCallDesk, world: World, clock: FakeClock
) -> None:
    call_id, endpoint = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON
    )
    assert endpoint == "pvz1-desk1"
    decision = desk.click2call_leg(call_id=call_id, channel_id="k")
    assert decision.action == "dial" and decision.call_id == call_id
    assert decision.dial_number == customer(1).lstrip("+")
    again = desk.click2call_leg(call_id=call_id, channel_id="k")  # replay is refused
    assert again.action == "deny"
    assert desk.click2call_leg(call_id="0" * 32, channel_id="k").deny_reason is Refusal.UNKNOWN
    assert desk.click2call_leg(call_id="x;y", channel_id="k").deny_reason is Refusal.INVALID_INPUT
    late, _ = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    clock.advance(minutes=5)
    assert desk.click2call_leg(call_id=late, channel_id="k").deny_reason is Refusal.EXPIRED


def test_redis_down_fails_closed(
    settings, clock: FakeClock, world: World, service: MaskingService
) -> None:
    vn = revealed_number(service, world)
    # no retries: redis-py's default (10, with backoff) only delays the same refusal by ~4 s
    nothing_listens = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    dead = LivePool(nothing_listens, settings.redis_prefix)
    desk = MaskingCallDesk(MaskingService(settings, service.db, dead, clock))
    decision = desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c")
    assert (decision.action, decision.deny_reason) == ("deny", Refusal.UNAVAILABLE)
    last = call_records(service)[-1]
    assert (last.disposition, last.deny_reason, last.staff_id) == (
        "denied",
        "unavailable",
        world.owner_id,
    )


def test_no_log_line_has_a_full_customer_number(
    service: MaskingService, desk: MaskingCallDesk, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    vn = revealed_number(service, world)
    desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c")
    desk.inbound_call(caller=customer(0), did=vn, channel_id="i")
    desk.inbound_call(caller="+79169999999", did=vn, channel_id="i")
    call_id, _ = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON
    )
    desk.click2call_leg(call_id=call_id, channel_id="k")
    text = caplog.text
    assert "customer" in text  # the calls were logged ...
    for number in (customer(0), customer(1), "+79169999999"):
        assert number[2:] not in text  # ... with masked numbers only


def test_malformed_requests_refused_by_the_adapter_are_on_record(
    service: MaskingService, desk: MaskingCallDesk
) -> None:
    for route, direction in (
        ("operator-call", "outbound"),
        ("inbound-call", "inbound"),
        ("click2call", "click2call"),
    ):
        decision = desk.record_denied(
            route=route, channel_id="chan-9", reason=Refusal.INVALID_INPUT
        )
        assert (decision.action, decision.deny_reason) == ("deny", Refusal.INVALID_INPUT)
        record = next(r for r in call_records(service) if r.id == decision.call_id)
        assert (record.direction, record.disposition, record.deny_reason) == (
            direction,
            "denied",
            "invalid_input",
        )
