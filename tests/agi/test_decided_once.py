"""The AGI side of "a call is decided once": the dialplan numbers its requests to its
list of FastAGI servers (``?attempt=N``); a repeated one is checked by the desk before
any route decides it, and the real desk refuses to decide a channel twice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agi import variables as v
from agi.protocol import attempt_of
from agi.server import FastAGIServer
from masking.calls.contract import CallDecision
from masking.calls.desk import MaskingCallDesk
from masking.refusals import Refusal
from masking.service import MaskingService
from masking.states import Direction
from tests.support.agi import CALL_ID, FakeDesk, exchange, set_vars
from tests.support.calls import call_records, revealed_number
from tests.support.factories import seed_site

SECRET_QUERY = "secret=s3cret-s3cret-s3cret"


@pytest.mark.parametrize(
    ("script", "attempt"),
    [
        ("operator-call", 1),
        (f"operator-call?{SECRET_QUERY}", 1),
        (f"operator-call?{SECRET_QUERY}&attempt=1", 1),
        (f"operator-call?{SECRET_QUERY}&attempt=3", 3),
        # not a small number: treated as repeated (checked), never as a first request
        ("operator-call?attempt=0", 2),
        ("operator-call?attempt=x", 2),
        ("operator-call?attempt=123", 2),
        ("operator-call?attempt=", 2),
        ("operator-call?attempt=1&attempt=²", 2),
    ],
)
def test_the_attempt_comes_from_the_url(script: str, attempt: int) -> None:
    assert attempt_of({"agi_network_script": script}) == attempt


@pytest.fixture
async def server(desk: FakeDesk) -> AsyncIterator[FastAGIServer]:
    srv = FastAGIServer(desk, port=0, request_timeout=1.0)
    await srv.start()
    yield srv
    await srv.close()


async def test_a_first_request_is_not_checked(server: FastAGIServer, desk: FakeDesk) -> None:
    got = set_vars(await exchange(server.port, "operator-call?attempt=1", "desk1", "74951"))
    assert got[-1] == (v.ACTION, "dial")
    assert desk.retries == []


@pytest.mark.parametrize(
    ("route", "args", "direction"),
    [
        ("operator-call", ("desk1", "74951110001"), Direction.OUTBOUND),
        ("inbound-call", ("74951110001",), Direction.INBOUND),
        ("click2call", (CALL_ID,), Direction.CLICK2CALL),
        ("hotline-call", ("77272000100", "1700000000.42"), Direction.HOTLINE),
    ],
)
async def test_a_repeated_request_of_a_decided_call_gets_the_desk_s_denial(
    server: FastAGIServer,
    desk: FakeDesk,
    route: str,
    args: tuple[str, ...],
    direction: Direction,
) -> None:
    desk.earlier = CallDecision(call_id=CALL_ID, action="deny", deny_reason=Refusal.UNAVAILABLE)
    got = dict(set_vars(await exchange(server.port, f"{route}?attempt=2", *args)))
    assert got[v.ACTION] == "deny" and got[v.DENY_REASON] == "unavailable"
    assert got[v.CALL_ID] == CALL_ID
    assert desk.retries == [(direction, "1700000000.42")]
    assert desk.calls == []  # no route decided it


async def test_a_repeated_request_nobody_decided_is_decided(
    server: FastAGIServer, desk: FakeDesk
) -> None:
    got = set_vars(await exchange(server.port, "operator-call?attempt=2", "desk1", "74951"))
    assert got[-1] == (v.ACTION, "dial")
    assert len(desk.retries) == 1 and len(desk.calls) == 1


async def test_the_real_desk_decides_a_channel_once(service: MaskingService) -> None:
    """Two servers on one database (the second playing "the next instance"): the first
    decided dial but Asterisk never read it; the repeat is denied, one record, closed."""
    world = seed_site(service, pool=1, shipments=1)
    vn = revealed_number(service, world).lstrip("+")
    first = FastAGIServer(MaskingCallDesk(service), port=0, request_timeout=5.0)
    second = FastAGIServer(MaskingCallDesk(service), port=0, request_timeout=5.0)
    async with first, second:
        dial = dict(set_vars(await exchange(first.port, "operator-call", "pvz1-desk1", vn)))
        again = dict(
            set_vars(await exchange(second.port, "operator-call?attempt=2", "pvz1-desk1", vn))
        )
    assert dial[v.ACTION] == "dial"
    assert (again[v.ACTION], again[v.DENY_REASON]) == ("deny", "unavailable")
    assert v.DIAL_NUMBER not in again
    assert again[v.CALL_ID] == dial[v.CALL_ID]
    [record] = call_records(service)
    assert (record.id, record.disposition) == (dial[v.CALL_ID], "denied")
