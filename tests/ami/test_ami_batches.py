"""The tracker applies AMI events in batches (issue 13, "AMI keeps up"): one look-up of the
unseen channels and one transaction per batch, with the rules of the one-call functions
(idempotent, never backwards, in order per call); events of calls that are not ours are
dropped before they are parsed, after one look-up. Real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from agi.ami import AmiClient, CallTracker
from agi.ami.tracker import WANTED_EVENTS
from masking.calls import call_log
from masking.calls.call_log import Update, UpdateKind
from masking.service import MaskingService
from masking.states import Disposition
from tests.support.ami import eventually
from tests.support.calls import call_record, operator_call
from tests.support.clock import FakeClock
from tests.support.factories import World, seed_site
from tests.support.fake_ami import FakeAmi, encode


@pytest.fixture
def world(service: MaskingService) -> World:
    return seed_site(service, pool=3, shipments=3)


@pytest.fixture
def tracker(service: MaskingService) -> CallTracker:
    return CallTracker(service, recording_delays=())


def leg(uniqueid: str, linkedid: str, channel: str, prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}Channel": channel,
        f"{prefix}Uniqueid": uniqueid,
        f"{prefix}Linkedid": linkedid,
    }


def call_events(caller: str, callee: str, *, answer: bool = True) -> list[dict[str, str]]:
    """One operator call as Asterisk reports it: dial, answer, bridge, both hang up."""
    staff = leg(caller, caller, f"PJSIP/pvz1-desk1-{caller[-8:]}")
    customer_dest = leg(callee, caller, f"PJSIP/trunk-{callee[-8:]}", prefix="Dest")
    customer = leg(callee, caller, f"PJSIP/trunk-{callee[-8:]}")
    events = [
        {"Event": "DialBegin", **staff, **customer_dest},
        {
            "Event": "DialEnd",
            **staff,
            **customer_dest,
            "DialStatus": "ANSWER" if answer else "BUSY",
        },
    ]
    if answer:
        events += [
            {"Event": "BridgeEnter", "BridgeNumChannels": "1", **staff},
            {"Event": "BridgeEnter", "BridgeNumChannels": "2", **customer},
            {"Event": "BridgeLeave", "BridgeNumChannels": "1", **customer},
        ]
    events += [
        {"Event": "Hangup", "Cause": "16" if answer else "17", **customer},
        {"Event": "Hangup", "Cause": "16" if answer else "17", **staff},
    ]
    return events


def interleave(*calls: list[dict[str, str]]) -> list[dict[str, str]]:
    merged: list[dict[str, str]] = []
    for i in range(max(len(c) for c in calls)):
        merged += [c[i] for c in calls if i < len(c)]
    return merged


async def test_a_burst_of_calls_costs_one_look_up_and_one_transaction(
    tracker: CallTracker, service: MaskingService, world: World
) -> None:
    answered = operator_call(service, world, "PVZ1-00000", "1700000100.1")
    busy = operator_call(service, world, "PVZ1-00001", "1700000100.3")
    burst = interleave(
        call_events("1700000100.1", "1700000100.2"),
        call_events("1700000100.3", "1700000100.4", answer=False),
    )
    await tracker.handle_batch(burst)
    assert (tracker.lookups, tracker.writes) == (1, 1)
    first, second = call_record(service, answered), call_record(service, busy)
    assert (first.disposition, first.status, first.hangup_cause) == ("answered", "ended", 16)
    assert first.answered_at is not None
    assert (second.disposition, second.answered_at, second.hangup_cause) == ("busy", None, 17)

    # the same events again (a replay after a reconnect): nothing changes, nothing is read
    await tracker.handle_batch(burst)
    assert (tracker.lookups, tracker.writes) == (1, 1)
    assert call_record(service, answered).ended_at == first.ended_at


async def test_order_per_call_is_kept_inside_a_batch(
    tracker: CallTracker, service: MaskingService, world: World, clock: FakeClock
) -> None:
    """An answer then a hangup in one batch: answered; a late answer after the hangup
    (in the same batch or the next) never reopens the record."""
    call_id = operator_call(service, world, "PVZ1-00000", "1700000200.1")
    events = call_events("1700000200.1", "1700000200.2")
    late = events[1]  # DialEnd ANSWER again
    await tracker.handle_batch([*events, late])
    record = call_record(service, call_id)
    assert (record.disposition, record.status) == ("answered", "ended")
    clock.advance(seconds=30)
    await tracker.handle_batch([late])
    assert call_record(service, call_id).ended_at == record.ended_at


def test_apply_updates_has_the_one_call_rules(
    service: MaskingService, world: World, clock: FakeClock
) -> None:
    ended = operator_call(service, world, "PVZ1-00000", "1700000300.1")
    live = operator_call(service, world, "PVZ1-00001", "1700000300.2")
    end = Update(UpdateKind.ENDED, ended, at=clock.now, hangup_cause=19)
    applied = call_log.apply_updates(
        service,
        [
            end,
            Update(UpdateKind.ANSWERED, ended, at=clock.now),  # too late: stays unanswered
            Update(UpdateKind.ENDED, ended, at=clock.now + timedelta(seconds=9)),  # repeated
            Update(UpdateKind.ANSWERED, live, at=clock.now),
            Update(UpdateKind.ANSWERED, live, at=clock.now + timedelta(seconds=5)),  # first wins
            Update(UpdateKind.CHANNEL, live, channel_id="x", linked_id="1700000300.9"),
            Update(UpdateKind.ANSWERED, "0" * 32, at=clock.now),  # no such call
        ],
    )
    assert applied.changed == [True, False, False, True, False, True, False]
    first, second = call_record(service, ended), call_record(service, live)
    assert (first.disposition, first.answered_at, first.ended_at) == (
        "no_answer",
        None,
        clock.now,
    )
    assert (second.status, second.answered_at, second.ended_at) == ("connected", clock.now, None)
    # the calling channel was known already; only the missing linked id is filled in
    assert (second.channel_id, second.linked_id) == ("1700000300.2", "1700000300.9")


def test_a_denied_record_stays_denied(service: MaskingService, world: World) -> None:
    denied = operator_call(service, world, "PVZ1-00000", "1700000400.1")
    call_log.apply_updates(
        service, [Update(UpdateKind.ENDED, denied, disposition=Disposition.DENIED)]
    )
    applied = call_log.apply_updates(
        service,
        [
            Update(UpdateKind.ENDED, denied, disposition=Disposition.ANSWERED, hangup_cause=16),
            Update(UpdateKind.ANSWERED, denied),
        ],
    )
    assert applied.changed == [False, False]
    record = call_record(service, denied)
    assert (record.disposition, record.hangup_cause, record.answered_at) == ("denied", 16, None)


async def test_events_of_calls_that_are_not_ours_are_dropped_before_parsing(
    tracker: CallTracker, service: MaskingService, world: World
) -> None:
    ours = operator_call(service, world, "PVZ1-00000", "1700000500.1")
    foreign = call_events("1700000599.1", "1700000599.2")
    await tracker.handle_batch([*foreign[:2], *call_events("1700000500.1", "1700000500.2")])
    assert tracker.lookups == 1  # ours and the foreign call, in one query
    assert call_record(service, ours).disposition == "answered"
    # the rest of the foreign call never reaches the parser, nor the database
    raw = [encode(event).decode().strip() for event in foreign[2:]]
    assert all(tracker.ignores(block) for block in raw)
    # names the tracker has no use for, and other applications' user events, neither
    assert tracker.ignores("Event: Newchannel\r\nUniqueid: 1.2\r\nLinkedid: 1.2")
    assert tracker.ignores("Event: UserEvent\r\nUserEvent: SomethingElse")
    assert not tracker.ignores("Event: UserEvent\r\nUserEvent: MaskingCall\r\nCallId: x")
    assert not tracker.ignores("Event: Hangup\r\nUniqueid: 1700000600.1\r\nLinkedid: 1700000600.1")
    assert {"Hangup", "DialEnd", "OriginateResponse", "FullyBooted"} <= WANTED_EVENTS


async def test_a_hotline_pop_is_asked_only_for_hotline_calls(
    tracker: CallTracker, service: MaskingService, world: World
) -> None:
    """An answered DialEnd to a desk phone used to cost a hotline query for every call;
    now only a call whose record is a hotline contact asks for its pop."""
    operator_call(service, world, "PVZ1-00000", "1700000700.1")
    events = call_events("1700000700.1", "1700000700.2")
    events[1]["DestChannel"] = "PJSIP/pvz1-desk2-0000abcd"  # a desk phone answered
    asked: list[str] = []

    async def agent_answered(update: Update, linked_id: str, endpoint: str) -> None:
        asked.append(update.call_id)

    tracker._agent_answered = agent_answered  # type: ignore[method-assign]
    await tracker.handle_batch(events)
    assert asked == []


@pytest.fixture
async def quiet_client(ami: FakeAmi, service: MaskingService) -> AsyncIterator[AmiClient]:
    client = AmiClient(
        host="127.0.0.1",
        port=ami.port,
        username="masking",
        secret="s3cret",
        service=service,
        track_events=False,
        backoff_initial=0.05,
        backoff_max=0.2,
        recording_delays=(),
        boot_wait=0.2,
    )
    yield client
    await client.close()


async def test_tracking_is_switched_on_by_the_leader(
    ami: FakeAmi, quiet_client: AmiClient, service: MaskingService, world: World
) -> None:
    """A worker that does not lead logs in without events (Originate still works); when
    it is elected it subscribes (here the fake refuses the Events action: it logs in
    again with the event mask), asks Asterisk to filter, reconciles and tracks."""
    call_id = operator_call(service, world, "PVZ1-00000", "1700000800.1")
    await quiet_client.start()
    await quiet_client.wait_connected(3)
    [(_, login)] = ami.named("Login")
    assert login["Events"] == "off"
    assert not quiet_client.tracking
    for event in call_events("1700000800.1", "1700000800.2"):
        await ami.emit(**event)
    await quiet_client.ping()
    assert call_record(service, call_id).ended_at is None  # not tracked: not applied

    await quiet_client.set_tracking(True)
    await eventually(lambda: len(ami.named("CoreShowChannels")) >= 1)
    logins = ami.named("Login")
    assert [a["Events"] for _, a in logins] == ["off", "system,call,user"]
    [(_, filter_action)] = ami.named("Filter")
    assert filter_action["Operation"] == "Add"
    assert filter_action["Filter"].startswith("^Event: (")
    assert quiet_client.filters_accepted is False  # refused: manager.conf filters instead
    for event in call_events("1700000800.1", "1700000800.2"):
        await ami.emit(**event)
    await eventually(lambda: call_record(service, call_id).ended_at is not None)
    assert call_record(service, call_id).disposition == "answered"

    await quiet_client.set_tracking(False)
    await eventually(lambda: len(ami.named("Login")) == 3)
    assert ami.named("Login")[-1][1]["Events"] == "off"


async def test_a_burst_through_the_connection_is_applied_in_few_batches(
    ami: FakeAmi, service: MaskingService, world: World
) -> None:
    client = AmiClient(
        host="127.0.0.1",
        port=ami.port,
        username="masking",
        secret="s3cret",
        service=service,
        recording_delays=(),
        boot_wait=0.1,
        batch_window=0.05,
    )
    calls = [operator_call(service, world, f"PVZ1-0000{i}", f"1700000900.{i}1") for i in range(3)]
    try:
        await client.start()
        await client.wait_connected(3)
        events = interleave(
            *(call_events(f"1700000900.{i}1", f"1700000900.{i}2") for i in range(3)),
            *(call_events(f"1700000999.{i}1", f"1700000999.{i}2") for i in range(20)),
        )
        for event in events:
            await ami.emit(**event)
        await eventually(lambda: all(call_record(service, c).ended_at for c in calls))
        assert client.tracker is not None
        assert client.batches < len(events)
        assert client.tracker.writes <= client.batches
        assert [call_record(service, c).disposition for c in calls] == ["answered"] * 3
    finally:
        await client.close()
