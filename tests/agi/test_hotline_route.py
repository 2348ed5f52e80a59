"""``hotline-call`` over FastAGI with the real call desk and storage (this test playing
Asterisk's side): the caller identified, the queue and a code for the agents' phones,
never the caller's digits; refusals and failures as the dialplan's hotline context reads
them; the AMI tracker popping the contact on the agent who answered (the queue's
``DialEnd``); the shipped dialplan's hotline context."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from agi import variables as v
from agi.ami.tracker import CallTracker
from agi.dialplan import DIALPLAN_DIR, check
from agi.protocol import AGIRequest
from agi.routes import ROUTES, hotline_call
from agi.routes.base import InvalidDecision, decision_variables, safe_variables
from agi.server import FastAGIServer
from masking.calls.contract import CallDecision
from masking.calls.desk import MaskingCallDesk
from masking.hotline import contacts
from masking.service import MaskingService
from masking.storage.models import CallRecord, HotlineContact
from tests.support import hotline as support
from tests.support.agi import CALL_ID, FakeDesk, agi_env, exchange, set_vars
from tests.support.hotline import SeededHotline


@pytest.fixture
def hl(service: MaskingService) -> SeededHotline:
    return support.seed_hotline(service)


@pytest.fixture
async def server(service: MaskingService) -> AsyncIterator[FastAGIServer]:
    srv = FastAGIServer(MaskingCallDesk(service), port=0, request_timeout=5.0)
    await srv.start()
    yield srv
    await srv.close()


def caller_env(caller: str) -> dict[str, str]:
    return {"agi_callerid": caller, "agi_channel": "PJSIP/carrier-00000007"}


def test_the_route_is_registered() -> None:
    assert getattr(ROUTES["hotline-call"], "__wrapped__", None) is hotline_call.handle


async def test_a_typo_caller_is_queued_under_a_code(
    server: FastAGIServer,
    service: MaskingService,
    hl: SeededHotline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    commands = await exchange(
        server.port,
        "hotline-call",
        support.DID,
        "1764500000.12",
        uniqueid="1764500000.12",
        extra=caller_env(support.CALLER_TYPO_1.lstrip("+")),
    )
    got = set_vars(commands)
    names = [name for name, _ in got]
    assert names == [
        v.CALL_ID,
        v.QUEUE,
        v.CALLERID_NUM,
        v.CALLERID_NAME,
        v.RECORD_FILE,
        v.ANNOUNCE_RECORDING,
        v.ACTION,
    ]
    values = dict(got)
    assert values[v.ACTION] == "queue" and values[v.QUEUE] == "hotline-pvz1"
    code = values[v.CALLERID_NUM]
    assert re.fullmatch(r"[0-9]{4}", code) and values[v.CALLERID_NAME] == f"Haier {code}"
    assert values[v.RECORD_FILE].endswith(f"/{values[v.CALL_ID]}.wav")
    assert not support.secrets_in("\n".join(commands) + caplog.text)
    with service.db.session() as session:
        contact = session.scalar(select(HotlineContact))
        assert contact is not None and contact.code == code and contact.match_type == "typo_1"
        record = session.get(CallRecord, values[v.CALL_ID])
        assert record is not None
        assert (record.channel_id, record.linked_id) == ("1764500000.12", "1764500000.12")


@pytest.mark.parametrize(
    ("did", "reason"),
    [("77270000000", "unknown"), ("7727-2000100", "invalid_input"), ("", "invalid_input")],
)
async def test_refusals_are_denials_with_a_prompt(
    server: FastAGIServer, hl: SeededHotline, did: str, reason: str
) -> None:
    commands = await exchange(server.port, "hotline-call", did, "", extra=caller_env(support.PHONE))
    values = dict(set_vars(commands))
    assert values[v.ACTION] == "deny" and values[v.DENY_REASON] == reason
    assert v.QUEUE not in values


async def test_a_hostile_linked_id_is_dropped(
    server: FastAGIServer, service: MaskingService, hl: SeededHotline
) -> None:
    commands = await exchange(
        server.port,
        "hotline-call",
        support.DID,
        "1.2;DROP",
        extra=caller_env(support.PHONE),
    )
    values = dict(set_vars(commands))
    assert values[v.ACTION] == "queue"
    with service.db.session() as session:
        record = session.get(CallRecord, values[v.CALL_ID])
        assert record is not None and record.linked_id is None


async def test_a_desk_without_the_service_is_unavailable() -> None:
    request = AGIRequest.from_env(
        {"agi_network_script": "hotline-call", "agi_arg_1": "77272000100", "agi_uniqueid": "1.1"}
    )
    decision = hotline_call.handle(FakeDesk(), request)
    assert decision.action == "deny" and decision.deny_reason == "unavailable"


def test_queue_variables_are_checked() -> None:
    good = CallDecision(
        call_id=CALL_ID,
        action="queue",
        queue="hotline-pvz1",
        callerid_num="4821",
        callerid_name='Haier 4821"',
        record_file=f"2026/11/30/{CALL_ID}.wav",
    )
    pairs = decision_variables(good)
    assert pairs[-1] == (v.ACTION, "queue")
    assert dict(pairs)[v.CALLERID_NAME] == "Haier 4821"
    for bad in (
        {"queue": "q,options"},
        {"queue": None},
        {"queue": "_pattern"},
        {"callerid_num": "+7 701"},
        {"callerid_num": None},
        {"record_file": None},
        {"record_file": "../etc/passwd.wav"},
    ):
        broken = CallDecision(**{**good.__dict__, **bad})  # type: ignore[arg-type]
        with pytest.raises(InvalidDecision):
            decision_variables(broken)
        fallback, fallback_pairs = safe_variables(broken)
        # the dialplan's hotline failure path: the fallback queue, unidentified
        assert fallback.action == "deny" and dict(fallback_pairs)[v.DENY_REASON] == "unavailable"


# ---- the AMI tracker: the queue member that answered ---------------------------------------
def queue_answer(caller: str, agent_channel: str, agent_uniqueid: str) -> dict[str, str]:
    """app_queue's DialEnd for the member that answered (caller side + Dest* side)."""
    return {
        "Event": "DialEnd",
        "Channel": "PJSIP/carrier-00000007",
        "Uniqueid": caller,
        "Linkedid": caller,
        "CallerIDNum": "4821",
        "DestChannel": agent_channel,
        "DestUniqueid": agent_uniqueid,
        "DestLinkedid": caller,
        "DialStatus": "ANSWER",
    }


async def test_the_tracker_pops_the_contact_on_the_agent_who_answered(
    service: MaskingService, hl: SeededHotline
) -> None:
    caller = "1764500000.20"
    decision = contacts.incoming(
        service,
        did=support.DID,
        caller_id=support.CALLER_TYPO_1,
        channel_id=caller,
        linked_id=caller,
    )
    endpoint = support.agent_endpoint(service, hl.agent_id)
    other = support.agent_endpoint(service, hl.other_agent_id)
    tracker = CallTracker(service, recording_delays=())
    try:
        # ringall: both rang; the other member's leg was cancelled
        cancelled = {
            **queue_answer(caller, f"PJSIP/{other}-0000000a", "1764500000.21"),
            "DialStatus": "CANCEL",
        }
        await tracker.handle(queue_answer(caller, f"PJSIP/{endpoint}-0000000b", "1764500000.22"))
        await tracker.handle(cancelled)
        pop = contacts.current_pop(service, hl.agent_id)
        assert pop is not None and pop.contact_id == decision.contact_id and pop.live
        assert contacts.current_pop(service, hl.other_agent_id) is None
        await tracker.handle(
            {"Event": "Hangup", "Uniqueid": caller, "Linkedid": caller, "Cause": "16"}
        )
    finally:
        await tracker.close()
    with service.db.session() as session:
        record = session.get(CallRecord, decision.call_id)
        assert record is not None
        assert (record.disposition, record.staff_id, record.status) == (
            "answered",
            hl.agent_id,
            "ended",
        )
    pop = contacts.current_pop(service, hl.agent_id)
    assert pop is not None and not pop.live


async def test_the_tracker_ignores_answers_of_other_calls(
    service: MaskingService, hl: SeededHotline
) -> None:
    caller = "1764500000.30"
    decision = MaskingCallDesk(service).inbound_call(
        caller=support.PHONE, did="74950000001", channel_id=caller
    )
    tracker = CallTracker(service, recording_delays=())
    try:
        endpoint = support.agent_endpoint(service, hl.agent_id)
        await tracker.handle(queue_answer(caller, f"PJSIP/{endpoint}-0000000c", "1764500000.31"))
        await tracker.handle(queue_answer(caller, "Local/x@ctx-0000;1", "1764500000.32"))
    finally:
        await tracker.close()
    assert decision.action == "deny"  # a number not in the pool
    assert contacts.current_pop(service, hl.agent_id) is None


# ---- the shipped dialplan ----------------------------------------------------------------
def test_the_shipped_dialplan_has_the_hotline_context() -> None:
    report = check(DIALPLAN_DIR)
    assert report.ok, report.errors
    assert "masking-hotline" in report.contexts
    text = (DIALPLAN_DIR / "masking.conf").read_text()
    context = text.split("\n[masking-hotline]\n", 1)[1].split("\n[", 1)[0]
    assert "Gosub(masking-sub-agi,s,1(hotline-call,${MASKING_DID}," in context
    # the agents' phones get the service's code or the DID, never the raw caller ID
    assert "Gosub(masking-sub-callerid,s,1)" in context
    assert context.count("Queue(${MASKING_Q},Iir,") == 1
    assert "Queue(${CALLERID" not in context and "Queue(${EXTEN" not in context
    assert "Set(MASKING_CALLERID_NUM=${MASKING_DID})" in context
    globals_text = (DIALPLAN_DIR / "masking-globals.conf").read_text()
    assert "MASKING_HOTLINE_ON_FAILURE = queue" in globals_text


def test_the_lab_renders_a_queue_per_team_and_routes_the_did(tmp_path: object) -> None:
    from pathlib import Path

    from lab.asterisk import LocalAsterisk, Phone, Ports, Queue

    state = Path(str(tmp_path))
    asterisk = LocalAsterisk(
        state,
        Ports(),
        phones=[Phone("agent1", "pw", contact="127.0.0.1:5999"), Phone("agent2", "pw")],
        queues=[Queue("team1", ("agent1", "agent2"), ("77272000100",))],
    )
    asterisk.render()
    queues = (state / "etc" / "queues.conf").read_text()
    assert "[team1]" in queues and "strategy = ringall" in queues
    assert "member => PJSIP/agent1" in queues and "member => PJSIP/agent2" in queues
    extensions = (state / "etc" / "extensions.conf").read_text()
    assert "exten => 77272000100,1,Set(MASKING_HOTLINE_QUEUE=team1)" in extensions
    assert "include => masking-inbound" in extensions
    assert "context = lab-carrier" in (state / "etc" / "pjsip.conf").read_text()
    assert "load = app_queue.so" in (state / "etc" / "modules.conf").read_text()
    plain = LocalAsterisk(state / "plain", Ports())
    plain.render()
    assert "context = masking-inbound" in (state / "plain" / "etc" / "pjsip.conf").read_text()
    assert "lab-carrier" not in (state / "plain" / "etc" / "extensions.conf").read_text()


def test_env_helper_is_the_asterisk_shape() -> None:
    env = agi_env("hotline-call", "77272000100", "1.2").decode()
    assert "agi_arg_2: 1.2" in env
