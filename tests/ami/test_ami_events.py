"""AMI events keep call records true; reconciliation after (re)connect and FullyBooted.

Events come over TCP from the fake AMI peer in the shape Asterisk 22 sends them; the
records live in real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agi.ami import AmiClient
from agi.ami.connection import AmiConnection
from masking.calls import call_log
from masking.calls.click2call import prepare_click2call
from masking.calls.desk import MaskingCallDesk
from masking.service import MaskingService
from tests.support.ami import eventually
from tests.support.calls import REASON, call_record, operator_call
from tests.support.clock import FakeClock
from tests.support.factories import World, seed_site
from tests.support.fake_ami import FakeAmi


@pytest.fixture
def world(service: MaskingService) -> World:
    return seed_site(service, pool=3, shipments=3)


def make_client(ami: FakeAmi, service: MaskingService, **timing: Any) -> AmiClient:
    """A client of the fake peer with short backoffs and recording delays."""
    return AmiClient(
        host="127.0.0.1",
        port=ami.port,
        username="masking",
        secret="s3cret",
        service=service,
        backoff_initial=0.05,
        recording_delays=(0.05,),
        **timing,
    )


@pytest.fixture
async def client(ami: FakeAmi, service: MaskingService) -> AsyncIterator[AmiClient]:
    client = make_client(ami, service, backoff_max=0.2, boot_wait=0.5)
    yield client
    await client.close()


def leg(prefix: str, uniqueid: str, linkedid: str, channel: str) -> dict[str, str]:
    return {
        f"{prefix}Channel": channel,
        f"{prefix}Uniqueid": uniqueid,
        f"{prefix}Linkedid": linkedid,
    }


async def connected(client: AmiClient) -> None:
    await client.start()
    await client.wait_connected(3)


async def test_answered_operator_call(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World, clock: FakeClock
) -> None:
    caller, callee = "1700000000.1", "1700000000.2"
    call_id = operator_call(service, world, "PVZ1-00000", caller)
    await connected(client)
    staff = leg("", caller, caller, "PJSIP/pvz1-desk1-00000001")
    customer = leg("Dest", callee, caller, "PJSIP/trunk-00000002")
    customer_own = leg("", callee, caller, "PJSIP/trunk-00000002")
    await ami.emit(Event="Newchannel", **staff)
    await ami.emit(Event="DialBegin", **staff, **customer, DialString="trunk/79160000000")
    await ami.emit(Event="DialEnd", **staff, **customer, DialStatus="ANSWER")
    await eventually(lambda: call_record(service, call_id).answered_at is not None)
    assert call_record(service, call_id).status == "connected"
    await ami.emit(Event="BridgeEnter", BridgeUniqueid="b1", BridgeNumChannels="1", **staff)
    await ami.emit(Event="BridgeEnter", BridgeUniqueid="b1", BridgeNumChannels="2", **customer_own)
    clock.advance(seconds=30)
    await ami.emit(Event="BridgeLeave", BridgeUniqueid="b1", BridgeNumChannels="1", **customer_own)
    await ami.emit(Event="Hangup", Cause="16", **customer_own)
    await asyncio.sleep(0.2)
    assert call_record(service, call_id).ended_at is None  # only the customer leg hung up
    await ami.emit(Event="BridgeLeave", BridgeUniqueid="b1", BridgeNumChannels="0", **staff)
    await ami.emit(Event="Hangup", Cause="16", **staff)
    await eventually(lambda: call_record(service, call_id).recording_error is not None)
    rec = call_record(service, call_id)
    assert (rec.disposition, rec.status, rec.hangup_cause) == ("answered", "ended", 16)
    assert rec.ended_at == clock.now
    assert rec.bridged_seconds is not None
    assert rec.recording_error == call_log.RECORDING_MISSING  # answered, no file: visible

    # the same hangup again (a replay after reconnect) changes nothing
    clock.advance(seconds=10)
    await ami.emit(Event="Hangup", Cause="34", **staff)
    await ami.emit(Event="UserEvent", UserEvent="ping")  # processed after the hangup
    await asyncio.sleep(0.2)
    assert call_record(service, call_id).ended_at == rec.ended_at
    assert call_record(service, call_id).hangup_cause == 16


@pytest.mark.parametrize(
    ("status", "cause", "expected"),
    [
        ("BUSY", "17", "busy"),
        ("NOANSWER", "19", "no_answer"),
        ("CHANUNAVAIL", "20", "failed"),
        ("CANCEL", "16", "no_answer"),
    ],
)
async def test_unanswered_operator_call(
    ami: FakeAmi,
    client: AmiClient,
    service: MaskingService,
    world: World,
    status: str,
    cause: str,
    expected: str,
) -> None:
    caller = "1700000000.5"
    call_id = operator_call(service, world, "PVZ1-00001", caller)
    await connected(client)
    staff = leg("", caller, caller, "PJSIP/pvz1-desk1-00000005")
    customer = leg("Dest", "1700000000.6", caller, "PJSIP/trunk-00000006")
    await ami.emit(Event="DialBegin", **staff, **customer)
    await ami.emit(Event="DialEnd", **staff, **customer, DialStatus=status)
    await ami.emit(Event="Hangup", Cause=cause, **leg("", "1700000000.6", caller, "x"))
    await ami.emit(Event="Hangup", Cause=cause, **staff)
    await eventually(lambda: call_record(service, call_id).ended_at is not None)
    rec = call_record(service, call_id)
    assert (rec.disposition, rec.answered_at, rec.recording_error) == (expected, None, None)


async def test_user_event_maps_channels(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World
) -> None:
    call_id = operator_call(service, world, "PVZ1-00002", "1700000000.7")
    await connected(client)
    await ami.emit(
        Event="UserEvent",
        UserEvent="MaskingCall",
        CallId=call_id,
        **leg("", "1700000000.7", "1700000000.3", "PJSIP/pvz1-desk1-7"),
    )
    await eventually(lambda: call_record(service, call_id).linked_id == "1700000000.3")
    assert client.tracker is not None
    assert client.tracker._by_channel["1700000000.3"] == call_id


async def test_click2call_staff_did_not_answer(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World
) -> None:
    call_id, endpoint = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    ami.originate_response = {"Response": "Failure", "Reason": "5"}
    await connected(client)
    await client.originator.originate_click2call(
        call_id=call_id, endpoint=endpoint, label="Order PVZ1-00000"
    )
    await eventually(lambda: call_record(service, call_id).ended_at is not None)
    rec = call_record(service, call_id)
    assert (rec.disposition, rec.status) == ("busy", "ended")
    [(_, action)] = ami.named("Originate")
    assert action["CallerID"] == f'"Order PVZ1-00000" <{rec.virtual_number}>'


async def test_click2call_connected(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World, clock: FakeClock
) -> None:
    call_id, endpoint = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON
    )
    ami.originate_response = {"Response": "Success", "Reason": "4"}
    await connected(client)
    await client.originator.originate_click2call(call_id=call_id, endpoint=endpoint, label="x")
    # the staff leg runs masking-click2call; the AGI route asks and the desk dials
    decision = MaskingCallDesk(service).click2call_leg(call_id=call_id, channel_id=call_id)
    assert decision.action == "dial"
    staff = leg("", call_id, call_id, "PJSIP/pvz1-desk1-00000009")
    customer = leg("Dest", "1700000000.10", call_id, "PJSIP/trunk-0000000a")
    await ami.emit(Event="DialBegin", **staff, **customer)
    assert call_record(service, call_id).status == "ringing_customer"
    await ami.emit(Event="DialEnd", **staff, **customer, DialStatus="ANSWER")
    await eventually(lambda: call_record(service, call_id).status == "connected")
    clock.advance(seconds=20)
    await ami.emit(Event="Hangup", Cause="16", **staff)
    await eventually(lambda: call_record(service, call_id).ended_at is not None)
    rec = call_record(service, call_id)
    assert (rec.disposition, rec.bridged_seconds) == ("answered", 20)


async def test_click2call_outcome_comes_from_originate_response(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World
) -> None:
    """Asterisk reports the staff leg's hangup before OriginateResponse: the latter wins."""
    call_id, endpoint = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00002", reason=REASON
    )
    await connected(client)
    await client.originator.originate_click2call(call_id=call_id, endpoint=endpoint, label="x")
    staff = leg("", call_id, call_id, "PJSIP/pvz1-desk1-0000000b")
    await ami.emit(Event="Newchannel", **staff)
    await ami.emit(Event="Hangup", Cause="0", **staff)
    await asyncio.sleep(0.2)
    assert call_record(service, call_id).ended_at is None
    await ami.emit(
        Event="OriginateResponse",
        ActionID=f"masking-originate-{call_id}",
        Response="Failure",
        Reason="3",
        Uniqueid=call_id,
    )
    await eventually(lambda: call_record(service, call_id).ended_at is not None)
    assert call_record(service, call_id).disposition == "no_answer"


async def test_originate_when_disconnected_closes_the_record(
    ami: FakeAmi, service: MaskingService, world: World
) -> None:
    client = AmiClient(
        host="127.0.0.1", port=ami.port, username="masking", secret="s3cret", service=service
    )
    call_id, endpoint = prepare_click2call(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00002", reason=REASON
    )
    with pytest.raises(Exception, match="not connected"):
        await client.originator.originate_click2call(call_id=call_id, endpoint=endpoint, label="x")
    rec = call_record(service, call_id)
    assert (rec.disposition, rec.status) == ("failed", "ended")
    assert ami.named("Originate") == []


async def test_reconcile_on_connect_and_on_fully_booted(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World, clock: FakeClock
) -> None:
    by_var = operator_call(service, world, "PVZ1-00000", "1700000000.20")
    by_channel = operator_call(service, world, "PVZ1-00001", "1700000000.21")
    dead = operator_call(service, world, "PVZ1-00002", "1700000000.22")
    call_log.mark_answered(service, dead, clock.now)
    clock.advance(minutes=2)
    ami.channels = [
        {"Channel": "PJSIP/a-1", "Uniqueid": "1700000000.30", "Linkedid": "1700000000.30"},
        {"Channel": "PJSIP/b-1", "Uniqueid": "1700000000.21", "Linkedid": "1700000000.21"},
    ]
    ami.channel_vars = {"PJSIP/a-1": by_var}
    await connected(client)
    await eventually(lambda: call_record(service, dead).ended_at is not None)
    assert call_record(service, dead).disposition == "answered"
    assert call_record(service, dead).recording_error == call_log.RECORDING_MISSING
    assert call_record(service, by_var).ended_at is None
    assert call_record(service, by_channel).ended_at is None
    assert len(ami.named("Getvar")) == 2

    # Asterisk restarted under us: FullyBooted with no channels closes the rest
    ami.channels = []
    await ami.emit(Event="FullyBooted", Status="Fully Booted")
    await eventually(lambda: call_record(service, by_var).ended_at is not None)
    await eventually(lambda: call_record(service, by_channel).ended_at is not None)
    assert call_record(service, by_var).disposition == "failed"

    # a reconnect reconciles again
    reconciles = len(ami.named("CoreShowChannels"))
    ami.drop_all()
    await eventually(lambda: len(ami.named("CoreShowChannels")) > reconciles)


async def test_a_named_tracker_reconciles_its_own_asterisk_only(
    ami: FakeAmi, service: MaskingService, world: World, clock: FakeClock
) -> None:
    """Several Asterisk servers at once: the tracker of ast-a closes ast-a's finished
    calls, never ast-b's (not in its snapshot), and closes nothing while the Asterisk it
    reaches does not say it is ast-a (a wrong MASKING_AMI_HOST)."""
    on_a = operator_call(service, world, "PVZ1-00000", "ast-a-1700000000.1")
    on_b = operator_call(service, world, "PVZ1-00001", "ast-b-1700000000.1")
    clock.advance(minutes=2)
    ami.systemname = "ast-b"
    client = make_client(ami, service, asterisk="ast-a")
    try:
        await connected(client)  # reconciles after the login
        await eventually(lambda: len(ami.named("CoreSettings")) >= 1)
        await client.reconcile()
        assert ami.named("CoreShowChannels") == []
        assert call_record(service, on_a).ended_at is None
        ami.systemname = "ast-a"
        await client.reconcile()
    finally:
        await client.close()
    assert call_record(service, on_a).disposition == "failed"
    assert call_record(service, on_b).ended_at is None


async def test_an_unnamed_tracker_spares_other_asterisks_calls(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World, clock: FakeClock
) -> None:
    """No MASKING_ASTERISK_NAME (one Asterisk per deployment): the records of no Asterisk
    and of the systemname the Asterisk reports are its own; a call of another Asterisk
    (a second one left unnamed by mistake) is not closed while it may be live."""
    legacy = operator_call(service, world, "PVZ1-00000", "1700000000.1")
    on_a = operator_call(service, world, "PVZ1-00001", "ast-a-1700000000.1")
    on_b = operator_call(service, world, "PVZ1-00002", "ast-b-1700000000.1")
    clock.advance(minutes=2)
    ami.systemname = "ast-a"
    await connected(client)  # reconciles after the login
    await eventually(lambda: call_record(service, on_a).ended_at is not None)
    await client.reconcile()
    assert call_record(service, legacy).disposition == "failed"
    assert call_record(service, on_b).ended_at is None


async def test_a_call_bridged_before_the_login_is_answered(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World, clock: FakeClock
) -> None:
    """A leader that took over mid-call missed the answer: Asterisk shows the call's
    channels bridged, so it was answered; its hangup then closes it as answered."""
    caller, callee = "1700000000.40", "1700000000.41"
    call_id = operator_call(service, world, "PVZ1-00000", caller)
    ami.channels = [
        {"Channel": "PJSIP/pvz1-desk1-1", "Uniqueid": caller, "Linkedid": caller, "BridgeId": "b"},
        {"Channel": "PJSIP/trunk-2", "Uniqueid": callee, "Linkedid": caller, "BridgeId": "b"},
    ]
    ami.channel_vars = {"PJSIP/pvz1-desk1-1": call_id, "PJSIP/trunk-2": call_id}
    await connected(client)
    await eventually(lambda: call_record(service, call_id).answered_at is not None)
    assert call_record(service, call_id).status == "connected"
    clock.advance(seconds=20)
    await ami.emit(Event="Hangup", Cause="16", **leg("", caller, caller, "PJSIP/pvz1-desk1-1"))
    await eventually(lambda: call_record(service, call_id).ended_at is not None)
    assert call_record(service, call_id).disposition == "answered"


async def test_recording_failure_from_the_dialplan_is_visible(
    ami: FakeAmi, client: AmiClient, service: MaskingService, world: World, clock: FakeClock
) -> None:
    caller = "1700000000.40"
    call_id = operator_call(service, world, "PVZ1-00000", caller)
    await connected(client)
    staff = leg("", caller, caller, "PJSIP/pvz1-desk1-00000040")
    await ami.emit(
        Event="UserEvent",
        UserEvent="MaskingRecordingFailed",
        CallID=call_id,
        File="2026/11/18/x.wav",
        **staff,
    )
    await eventually(
        lambda: call_record(service, call_id).recording_error == call_log.RECORDING_FAILED
    )
    customer = leg("Dest", "1700000000.41", caller, "PJSIP/trunk-00000041")
    await ami.emit(Event="DialEnd", **staff, **customer, DialStatus="ANSWER")
    await ami.emit(Event="Hangup", Cause="16", **staff)
    await eventually(lambda: call_record(service, call_id).ended_at is not None)
    await asyncio.sleep(0.2)  # the recording check ran: the specific error stays
    rec = call_record(service, call_id)
    assert (rec.disposition, rec.recording_error) == ("answered", call_log.RECORDING_FAILED)


def _client(ami: FakeAmi, service: MaskingService) -> AmiClient:
    """A client whose follow-up reconcile comes after 1 s (60 s between periodic ones)."""
    return make_client(ami, service, boot_wait=0.1, reconcile_followup=1.0)


async def test_a_record_too_young_at_login_is_reconciled_by_the_follow_up(
    ami: FakeAmi, service: MaskingService, world: World, clock: FakeClock
) -> None:
    # its call ended while nobody listened (the Hangup event is lost); at the login the
    # record is too young for reconciliation, so only a later reconcile can close it
    call_id = operator_call(service, world, "PVZ1-00000", "1700000000.50")
    client = _client(ami, service)
    assert client.tracker is not None
    reconcile = client.tracker.reconcile
    open_after_first: list[bool] = []

    async def first_then_a_minute_later(connection: AmiConnection) -> list[str]:
        closed = await reconcile(connection)
        if not open_after_first:
            open_after_first.append(call_record(service, call_id).ended_at is None)
            clock.advance(minutes=1)
        return closed

    client.tracker.reconcile = first_then_a_minute_later  # type: ignore[method-assign]
    try:
        await connected(client)
        await eventually(lambda: call_record(service, call_id).ended_at is not None, 10)
        assert open_after_first == [True]
        assert call_record(service, call_id).disposition == "failed"
    finally:
        await client.close()


async def test_events_not_applied_ask_for_a_follow_up_reconcile(
    ami: FakeAmi,
    service: MaskingService,
    world: World,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caller = "1700000000.60"
    call_id = operator_call(service, world, "PVZ1-00000", caller)
    client = _client(ami, service)
    try:
        await connected(client)
        await eventually(lambda: client.reconciles >= 2)  # the login's and its follow-up
        reconciles = client.reconciles

        refused: list[object] = []

        def database_down(*args: object, **_kwargs: object) -> None:
            refused.append(args)
            raise OSError("database down")

        with monkeypatch.context() as patched:
            patched.setattr(call_log, "apply_updates", database_down)
            await ami.emit(Event="Hangup", Cause="16", **leg("", caller, caller, "PJSIP/d-1"))
            await eventually(lambda: len(refused) >= 2, 10)  # together, then alone
        assert call_record(service, call_id).ended_at is None  # the Hangup was lost
        clock.advance(minutes=1)
        await eventually(lambda: call_record(service, call_id).ended_at is not None, 10)
        # counted once the reconcile returns, a moment after its commit
        await eventually(lambda: client.reconciles > reconciles)
    finally:
        await client.close()
