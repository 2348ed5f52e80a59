"""The FastAGI port is reachable by anything on the network: hostile and broken clients."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import AsyncIterator

import pytest

from agi.server import FastAGIServer
from tests.support.agi import FakeAsterisk, FakeDesk, agi_env, exchange

HEADER_TIMEOUT = 1.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture
async def server(desk: FakeDesk) -> AsyncIterator[FastAGIServer]:
    srv = FastAGIServer(
        desk,
        port=0,
        request_timeout=0.5,
        header_timeout=HEADER_TIMEOUT,
        reply_timeout=0.5,
        max_connections=1000,
    )
    await srv.start()
    yield srv
    await srv.close(grace=1.0)


async def closed_by_server(ast: FakeAsterisk, timeout: float = 5.0) -> bool:
    try:
        data = await asyncio.wait_for(ast.reader.read(100), timeout)
    except ConnectionError:
        return True
    return data == b""


async def wait_idle(server: FastAGIServer, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while server.active_connections and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert server.active_connections == 0


async def assert_still_answers(server: FastAGIServer, within: float = 0.5) -> None:
    started = time.monotonic()
    got = await exchange(server.port, "operator-call", "desk1", "74950000001")
    assert got[-1] == 'SET VARIABLE "MASKING_ACTION" "dial"'
    assert time.monotonic() - started < within


async def test_connect_and_close_does_not_spin(server: FastAGIServer, desk: FakeDesk) -> None:
    for _ in range(50):
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.close()
        await writer.wait_closed()
    await wait_idle(server)
    before = cpu_seconds()
    await asyncio.sleep(1.0)
    assert cpu_seconds() - before < 0.1
    assert desk.calls == []
    await assert_still_answers(server)


async def test_partial_header_then_close(server: FastAGIServer, desk: FakeDesk) -> None:
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(b"agi_network: yes\nagi_network_script: operator-call\nagi_arg_1: des")
    await ast.close()
    await wait_idle(server)
    assert desk.calls == []


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x00\x01\x02\xff\xfe" * 100 + b"\n\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # a TLS hello
        b"\n",
        b"agi_network_script: operator-call\nagi_arg_1: desk1\nSET VARIABLE x y\n\n",
    ],
)
async def test_garbage_is_closed_with_nothing_sent(
    server: FastAGIServer, desk: FakeDesk, garbage: bytes
) -> None:
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(garbage)
    assert await closed_by_server(ast, timeout=HEADER_TIMEOUT + 1)
    await ast.close()
    assert desk.calls == []
    await assert_still_answers(server)


async def test_invalid_utf8_in_a_real_request(server: FastAGIServer, desk: FakeDesk) -> None:
    ast = await FakeAsterisk.connect(server.port)
    env = agi_env("operator-call", "desk1", "74950000001", extra={"agi_calleridname": "X"})
    await ast.send(env.replace(b"agi_calleridname: X", b"agi_calleridname: \xff\xc3("))
    commands = await ast.serve()
    assert commands[-1] == 'SET VARIABLE "MASKING_ACTION" "dial"'
    await ast.close()


async def test_invalid_utf8_argument_is_invalid_input(
    server: FastAGIServer, desk: FakeDesk
) -> None:
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(agi_env("operator-call", "desk1", "749500").replace(b"749500", b"7495\xff00"))
    commands = await ast.serve()
    assert '"MASKING_DENY_REASON" "invalid_input"' in commands[-3]
    assert desk.calls == []
    await ast.close()


async def test_one_megabyte_header_is_refused(server: FastAGIServer, desk: FakeDesk) -> None:
    ast = await FakeAsterisk.connect(server.port)
    payload = b"agi_callerid: " + b"9" * (1024 * 1024) + b"\n\n"
    ast.writer.write(payload)
    # the server gives up after 16 KiB and closes: the write may fail with a reset
    with contextlib.suppress(ConnectionError, OSError):
        await asyncio.wait_for(ast.writer.drain(), 5)
    assert await closed_by_server(ast)
    await ast.close()
    assert desk.calls == []
    await assert_still_answers(server)


async def test_many_lines_header_is_refused(server: FastAGIServer, desk: FakeDesk) -> None:
    ast = await FakeAsterisk.connect(server.port)
    await ast.send(b"".join(b"agi_x%d: 1\n" % i for i in range(1000)) + b"\n")
    assert await closed_by_server(ast)
    await ast.close()
    assert desk.calls == []


async def test_one_byte_at_a_time_is_dropped_at_the_header_deadline(
    server: FastAGIServer, desk: FakeDesk
) -> None:
    ast = await FakeAsterisk.connect(server.port)
    env = agi_env("operator-call", "desk1", "74950000001")
    started = time.monotonic()

    async def trickle() -> None:
        for byte in env:
            await ast.send(bytes([byte]))
            await asyncio.sleep(0.1)

    sender = asyncio.create_task(trickle())
    assert await closed_by_server(ast, timeout=HEADER_TIMEOUT + 2)
    assert HEADER_TIMEOUT - 0.1 <= time.monotonic() - started < HEADER_TIMEOUT + 0.5
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    await ast.close()
    assert desk.calls == []


async def test_hundreds_of_idle_connections(server: FastAGIServer, desk: FakeDesk) -> None:
    idle = [await FakeAsterisk.connect(server.port) for _ in range(300)]
    try:
        await asyncio.sleep(0.1)
        assert server.active_connections == 300
        before = cpu_seconds()
        # a real request is answered promptly while they sit there
        await assert_still_answers(server, within=0.3)
        # and the idle ones cost (almost) nothing until the header deadline drops them
        await asyncio.sleep(HEADER_TIMEOUT + 0.5)
        await wait_idle(server)
        results = await asyncio.gather(*(closed_by_server(ast, 2) for ast in idle))
        assert all(results)
        await asyncio.sleep(1.0)
        assert cpu_seconds() - before < 0.5
    finally:
        for ast in idle:
            await ast.close()


async def test_connection_cap_closes_extras_cleanly(desk: FakeDesk) -> None:
    srv = FastAGIServer(desk, port=0, max_connections=20, header_timeout=2.0)
    await srv.start()
    try:
        idle = [await FakeAsterisk.connect(srv.port) for _ in range(20)]
        await asyncio.sleep(0.1)
        extra = await FakeAsterisk.connect(srv.port)
        await extra.send(agi_env("operator-call", "desk1", "74950000001"))
        assert await closed_by_server(extra, timeout=1)
        assert srv.rejected == 1
        await extra.close()
        for ast in idle[:5]:
            await ast.close()
        await asyncio.sleep(0.1)
        assert srv.active_connections == 15
        got = await exchange(srv.port, "operator-call", "desk1", "74950000001")
        assert got[-1].endswith('"dial"')
        for ast in idle[5:]:
            await ast.close()
    finally:
        await srv.close(grace=0.5)


async def test_client_that_stops_reading_is_bounded(desk: FakeDesk) -> None:
    """Asterisk (or an impostor) that sends a request then never reads or answers."""
    srv = FastAGIServer(desk, port=0, request_timeout=0.3, reply_timeout=0.3)
    await srv.start()
    try:
        ast = await FakeAsterisk.connect(srv.port)
        await ast.send(agi_env("operator-call", "desk1", "74950000001"))
        await asyncio.sleep(0.3 * 2 + 0.5)  # first command + fallback, each one reply deadline
        assert srv.active_connections == 0
        await ast.close()
    finally:
        await srv.close(grace=0.5)
