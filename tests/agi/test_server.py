"""The FastAGI server over real TCP sockets, this test playing Asterisk's side."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import pytest

from agi import variables as v
from agi.server import FastAGIServer, load_factory
from masking.calls.contract import CallDecision
from masking.refusals import Refusal
from tests.support.agi import (
    CALL_ID,
    CLOSED,
    DIAL,
    INBOUND_DIAL,
    FakeAsterisk,
    FakeDesk,
    agi_env,
    exchange,
    set_vars,
)

REQUEST_TIMEOUT = 0.5


@pytest.fixture
async def server(desk: FakeDesk) -> AsyncIterator[FastAGIServer]:
    srv = FastAGIServer(
        desk,
        port=0,
        request_timeout=REQUEST_TIMEOUT,
        header_timeout=1.0,
        reply_timeout=0.5,
        shutdown_grace=2.0,
    )
    await srv.start()
    yield srv
    await srv.close()


async def test_operator_call_dial_exact_commands(server: FastAGIServer, desk: FakeDesk) -> None:
    commands = await exchange(
        server.port, "operator-call", "desk1", "74950000001", uniqueid="1700000000.42"
    )
    assert commands == [
        f'SET VARIABLE "MASKING_CALL_ID" "{CALL_ID}"',
        'SET VARIABLE "MASKING_DIAL_NUMBER" "79001234567"',
        'SET VARIABLE "MASKING_DIAL_TIMEOUT" "45"',
        'SET VARIABLE "MASKING_CALLERID_NUM" "+74950000001"',
        'SET VARIABLE "MASKING_CALLERID_NAME" "Masked call"',
        f'SET VARIABLE "MASKING_RECORD_FILE" "2026/11/22/{CALL_ID}.wav"',
        'SET VARIABLE "MASKING_ANNOUNCE_RECORDING" "yes"',
        'SET VARIABLE "MASKING_ACTION" "dial"',
    ]
    assert desk.calls == [
        (
            "operator_call",
            {"endpoint": "desk1", "dialed": "74950000001", "channel_id": "1700000000.42"},
        )
    ]


async def test_operator_call_deny_closed(server: FastAGIServer, desk: FakeDesk) -> None:
    desk.decision = CLOSED
    commands = await exchange(server.port, "operator-call", "desk1", "+74950000001")
    assert set_vars(commands) == [
        (v.CALL_ID, CALL_ID),
        (v.DENY_REASON, "closed"),
        (v.PROMPT, "masking/closed"),
        (v.OPENS_AT, "0900"),
        (v.OPENS_DAY, "3"),
        (v.ACTION, "deny"),
    ]


@pytest.mark.parametrize("reason", list(Refusal))
async def test_every_deny_reason_sets_reason_and_prompt(
    server: FastAGIServer, desk: FakeDesk, reason: Refusal
) -> None:
    desk.decision = CallDecision(call_id=CALL_ID, action="deny", deny_reason=reason)
    got = dict(set_vars(await exchange(server.port, "operator-call", "desk1", "74950000001")))
    assert got[v.DENY_REASON] == reason.value
    assert got[v.PROMPT] == desk.decision.prompt
    assert got[v.ACTION] == "deny"
    assert v.OPENS_AT not in got


@pytest.mark.parametrize(
    ("endpoint", "dialed"),
    [
        ("desk1", "500&SIP/evil"),  # CVE-2010-0685 style
        ("desk1&PJSIP/other", "74950000001"),
        ("", "74950000001"),
        ("desk1", ""),
        ("desk1", "12"),
        ("desk1", "1" * 21),
        ("x" * 65, "74950000001"),
        ("desk 1", "74950000001"),
        ("desk1", "7495,0000001"),
    ],
)
async def test_operator_call_invalid_input_never_reaches_desk(
    server: FastAGIServer, desk: FakeDesk, endpoint: str, dialed: str
) -> None:
    commands = await exchange(server.port, "operator-call", endpoint, dialed)
    got = set_vars(commands)
    assert got[-1] == (v.ACTION, "deny")
    assert dict(got)[v.DENY_REASON] == "invalid_input"
    assert desk.calls == []


async def test_operator_call_missing_arguments(server: FastAGIServer, desk: FakeDesk) -> None:
    got = dict(set_vars(await exchange(server.port, "operator-call")))
    assert got[v.DENY_REASON] == "invalid_input" and got[v.ACTION] == "deny"
    assert desk.calls == []


async def test_inbound_call_ring_all(server: FastAGIServer, desk: FakeDesk) -> None:
    desk.decision = INBOUND_DIAL
    commands = await exchange(
        server.port, "inbound-call", "74950000001", extra={"agi_callerid": "+79001234567"}
    )
    assert set_vars(commands) == [
        (v.CALL_ID, CALL_ID),
        (v.DIAL_ENDPOINTS, "PJSIP/desk1&PJSIP/desk-2"),
        (v.DIAL_TIMEOUT, "30"),
        (v.CALLERID_NUM, "+74950000001"),
        (v.CALLERID_NAME, "Order 123"),
        (v.RECORD_FILE, f"2026/11/22/{CALL_ID}.wav"),
        (v.ANNOUNCE_RECORDING, "no"),
        (v.ACTION, "dial"),
    ]
    assert desk.calls[0] == (
        "inbound_call",
        {"caller": "+79001234567", "did": "74950000001", "channel_id": "1700000000.42"},
    )


@pytest.mark.parametrize("caller", ["", "anonymous", "Anonymous", "+7 900", "1&2"])
async def test_inbound_untrusted_caller_is_passed_as_unknown(
    server: FastAGIServer, desk: FakeDesk, caller: str
) -> None:
    desk.decision = CallDecision(call_id=CALL_ID, action="deny", deny_reason=Refusal.UNKNOWN)
    got = dict(
        set_vars(
            await exchange(
                server.port, "inbound-call", "74950000001", extra={"agi_callerid": caller}
            )
        )
    )
    assert got[v.DENY_REASON] == "unknown"
    assert desk.calls[0][1]["caller"] == ""


async def test_inbound_invalid_did(server: FastAGIServer, desk: FakeDesk) -> None:
    got = dict(
        set_vars(
            await exchange(server.port, "inbound-call", "s", extra={"agi_callerid": "79001234567"})
        )
    )
    assert got[v.DENY_REASON] == "invalid_input"
    assert desk.calls == []


async def test_inbound_unsafe_endpoint_from_desk_is_refused(
    server: FastAGIServer, desk: FakeDesk
) -> None:
    desk.decision = CallDecision(
        call_id=CALL_ID, action="dial", dial_endpoints=("desk1", "x&SIP/evil")
    )
    got = set_vars(
        await exchange(
            server.port, "inbound-call", "74950000001", extra={"agi_callerid": "79001234567"}
        )
    )
    assert dict(got)[v.DENY_REASON] == "unavailable"
    assert got[-1] == (v.ACTION, "deny")
    assert v.DIAL_ENDPOINTS not in dict(got)


async def test_click2call(server: FastAGIServer, desk: FakeDesk) -> None:
    got = set_vars(await exchange(server.port, "click2call", CALL_ID.upper()))
    assert got[-1] == (v.ACTION, "dial")
    assert desk.calls[0] == ("click2call_leg", {"call_id": CALL_ID, "channel_id": "1700000000.42"})


@pytest.mark.parametrize("call_id", ["", "xyz", CALL_ID + "0", CALL_ID[:-1] + "g"])
async def test_click2call_invalid_call_id(
    server: FastAGIServer, desk: FakeDesk, call_id: str
) -> None:
    got = dict(set_vars(await exchange(server.port, "click2call", call_id)))
    assert got[v.DENY_REASON] == "invalid_input"
    assert desk.calls == []


async def test_query_string_is_not_part_of_the_route(server: FastAGIServer, desk: FakeDesk) -> None:
    got = set_vars(await exchange(server.port, "operator-call?trace=1&x=y", "desk1", "74950000001"))
    assert got[-1] == (v.ACTION, "dial")
    assert desk.calls[0][1]["endpoint"] == "desk1"


async def test_unknown_route_closes_with_nothing_set(
    server: FastAGIServer, desk: FakeDesk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "agi")
    commands = await exchange(server.port, "no-such-route", "desk1", uniqueid="1700000000.99")
    assert commands == []
    assert desk.calls == []
    assert any(
        "1700000000.99" in r.getMessage() and "unknown route" in r.getMessage()
        for r in caplog.records
    )


async def test_desk_raising_is_denied_unavailable(server: FastAGIServer, desk: FakeDesk) -> None:
    def boom(what: str, kwargs: dict[str, str]) -> CallDecision:
        raise RuntimeError("database is on fire")

    desk.behaviour = boom
    got = set_vars(await exchange(server.port, "operator-call", "desk1", "74950000001"))
    assert dict(got)[v.DENY_REASON] == "unavailable"
    assert dict(got)[v.PROMPT] == "masking/unavailable"
    assert got[-1] == (v.ACTION, "deny")


async def test_slow_desk_is_denied_unavailable_within_deadline(
    server: FastAGIServer, desk: FakeDesk
) -> None:
    desk.delay = 3.0
    started = time.monotonic()
    got = set_vars(await exchange(server.port, "operator-call", "desk1", "74950000001"))
    elapsed = time.monotonic() - started
    assert dict(got)[v.DENY_REASON] == "unavailable"
    assert got[-1] == (v.ACTION, "deny")
    assert REQUEST_TIMEOUT <= elapsed < REQUEST_TIMEOUT + 0.5


async def test_invalid_dial_decision_is_refused(server: FastAGIServer, desk: FakeDesk) -> None:
    desk.decision = CallDecision(call_id=CALL_ID, action="dial", dial_number="500&SIP/evil")
    got = set_vars(await exchange(server.port, "operator-call", "desk1", "74950000001"))
    assert got[-1] == (v.ACTION, "deny")
    assert v.DIAL_NUMBER not in dict(got)
    assert dict(got)[v.CALL_ID] == CALL_ID


async def test_callerid_name_is_sanitised(server: FastAGIServer, desk: FakeDesk) -> None:
    desk.decision = CallDecision(
        call_id=CALL_ID,
        action="dial",
        dial_number="79001234567",
        callerid_name='Order "5",${EVIL}\n(x)&y',
    )
    got = dict(set_vars(await exchange(server.port, "operator-call", "desk1", "74950000001")))
    assert got[v.CALLERID_NAME] == "Order 5EVILxy"


async def test_action_is_always_last_and_set_once(server: FastAGIServer, desk: FakeDesk) -> None:
    for decision in (DIAL, CLOSED, INBOUND_DIAL):
        desk.decision = decision
        got = set_vars(await exchange(server.port, "operator-call", "desk1", "74950000001"))
        names = [name for name, _ in got]
        assert names[-1] == v.ACTION and names.count(v.ACTION) == 1
        assert set(names) <= set(v.ALL)


async def test_hangup_during_answer_stops_sending(server: FastAGIServer, desk: FakeDesk) -> None:
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(agi_env("operator-call", "desk1", "74950000001"))
    first = await ast.next_command()
    assert first is not None and first.startswith('SET VARIABLE "MASKING_CALL_ID"')
    await ast.send(b"HANGUP\n")
    assert await ast.next_command() is None  # closed, nothing more sent
    await ast.close()


async def test_511_during_answer_stops_sending(server: FastAGIServer, desk: FakeDesk) -> None:
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(agi_env("operator-call", "desk1", "74950000001"))
    commands = await ast.serve(lambda c: b"511 Command Not Permitted on a dead channel\n")
    assert len(commands) == 1
    await ast.close()


async def test_silent_asterisk_gets_fallback_deny(server: FastAGIServer, desk: FakeDesk) -> None:
    """A reply that never comes: after the reply deadline the service writes a deny (the
    commands already sent are processed in order, so the channel ends with ACTION=deny)."""
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(agi_env("operator-call", "desk1", "74950000001"))
    first = await ast.next_command()
    assert first is not None
    # never answer the first command; read whatever else the service writes
    rest = []
    while (cmd := await ast.next_command(timeout=5)) is not None:
        rest.append(cmd)
        await ast.send(b"200 result=1\n")
    assert rest[-1] == 'SET VARIABLE "MASKING_ACTION" "deny"'
    assert not any('"MASKING_ACTION" "dial"' in c for c in [first, *rest])
    await ast.close()


async def test_510_reply_gets_fallback_deny(server: FastAGIServer, desk: FakeDesk) -> None:
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(agi_env("operator-call", "desk1", "74950000001"))
    answers = iter([b"200 result=1\n", b"510 Invalid or unknown command\n"])
    commands = await ast.serve(lambda c: next(answers, b"200 result=1\n"))
    assert commands[-1] == 'SET VARIABLE "MASKING_ACTION" "deny"'
    assert not any('"MASKING_ACTION" "dial"' in c for c in commands)
    await ast.close()


async def test_logs_name_the_call_and_hide_numbers(
    server: FastAGIServer, desk: FakeDesk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "agi")
    await exchange(server.port, "operator-call", "desk1", "74951234567", uniqueid="1700000000.5")
    await exchange(
        server.port,
        "inbound-call",
        "74951234567",
        uniqueid="17.6",
        extra={"agi_callerid": "+79001234567"},
    )
    await exchange(server.port, "operator-call", "desk1", "7900123456x", uniqueid="17.7")
    text = "\n".join(r.getMessage() for r in caplog.records)
    for number in ("74951234567", "79001234567", "7900123456"):
        assert number not in text
    call_lines = [r.getMessage() for r in caplog.records if r.name.startswith("agi.")]
    assert call_lines and all(line.startswith("call ") for line in call_lines)
    assert "1700000000.5" in text and "17.6" in text and "17.7" in text


async def test_concurrent_requests(server: FastAGIServer, desk: FakeDesk) -> None:
    desk.delay = 0.05
    started = time.monotonic()
    results = await asyncio.gather(
        *(
            exchange(server.port, "operator-call", "desk1", "74950000001", uniqueid=f"1.{i}")
            for i in range(40)
        )
    )
    assert all(r[-1] == 'SET VARIABLE "MASKING_ACTION" "dial"' for r in results)
    # 8 decision threads: 40 requests of 50 ms in well under 40 * 50 ms
    assert time.monotonic() - started < 1.5
    assert sorted(c[1]["channel_id"] for c in desk.calls) == sorted(f"1.{i}" for i in range(40))


async def test_graceful_shutdown_finishes_in_flight_request(desk: FakeDesk) -> None:
    desk.delay = 0.4
    srv = FastAGIServer(desk, port=0, request_timeout=2.0, header_timeout=1.0)
    await srv.start()
    request = asyncio.create_task(exchange(srv.port, "operator-call", "desk1", "74950000001"))
    while not desk.calls:
        await asyncio.sleep(0.01)
    idle = await FakeAsterisk.connect(srv.port)  # connected, never sends anything
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await srv.close(grace=3.0)
    assert time.monotonic() - started < 1.0
    commands = await request
    assert commands[-1] == 'SET VARIABLE "MASKING_ACTION" "dial"'
    assert await idle.next_command() is None  # the idle one was just closed
    await idle.close()
    with pytest.raises(OSError):
        await FakeAsterisk.connect(srv.port)


async def test_shutdown_grace_is_bounded(desk: FakeDesk) -> None:
    desk.delay = 2.0
    srv = FastAGIServer(desk, port=0, request_timeout=5.0)
    await srv.start()
    request = asyncio.create_task(exchange(srv.port, "operator-call", "desk1", "74950000001"))
    while not desk.calls:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await srv.close(grace=0.3)
    assert time.monotonic() - started < 1.5
    assert await request == []  # closed with nothing set: the dialplan denies


async def test_serve_forever_returns_after_close(desk: FakeDesk) -> None:
    srv = FastAGIServer(desk, port=0)
    task = asyncio.create_task(srv.serve_forever())
    while srv.port == 0:
        await asyncio.sleep(0.01)
    got = await exchange(srv.port, "operator-call", "desk1", "74950000001")
    assert got[-1].endswith('"dial"')
    await srv.close()
    await asyncio.wait_for(task, 2)


def test_load_factory() -> None:
    factory = load_factory("tests.support.agi:FakeDesk")
    assert isinstance(factory(), FakeDesk)
    with pytest.raises(ValueError):
        load_factory("no-colon")


async def test_slow_asterisk_replies_are_bounded(server: FastAGIServer, desk: FakeDesk) -> None:
    """Each reply 0.3 s late: the answer phase is bounded as a whole, never a dial."""
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(agi_env("operator-call", "desk1", "74950000001"))
    started = time.monotonic()

    async def server_done() -> float:
        while server.active_connections:
            await asyncio.sleep(0.01)
        return time.monotonic()

    await asyncio.sleep(0.05)
    done = asyncio.create_task(server_done())
    while await ast.next_command(timeout=5) is not None:
        await asyncio.sleep(0.3)
        with contextlib.suppress(ConnectionError):
            await ast.send(b"200 result=1\n")
    # reply_timeout 0.5 for the decision's variables, 0.5 for the fallback
    assert await done - started < 0.5 * 2 + 0.3
    assert not any('"MASKING_ACTION" "dial"' in c for c in ast.commands)
    await ast.close()
