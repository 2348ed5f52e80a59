"""Test doubles: a scripted CallDesk, and Asterisk's side of a FastAGI connection."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agi.protocol import AGIConnection, AGIRequest
from agi.server import FastAGIServer
from masking.calls.contract import CallDecision
from masking.refusals import Refusal
from masking.states import Direction

CALL_ID = "0123456789abcdef0123456789abcdef"

DIAL = CallDecision(
    call_id=CALL_ID,
    action="dial",
    dial_number="79001234567",
    dial_timeout_s=45,
    callerid_num="+74950000001",
    callerid_name="Masked call",
    record_file="2026/11/22/0123456789abcdef0123456789abcdef.wav",
    announce_recording=True,
)
INBOUND_DIAL = CallDecision(
    call_id=CALL_ID,
    action="dial",
    dial_endpoints=("desk1", "desk-2"),
    dial_timeout_s=30,
    callerid_num="+74950000001",
    callerid_name="Order 123",
    record_file="2026/11/22/0123456789abcdef0123456789abcdef.wav",
)
CLOSED = CallDecision(
    call_id=CALL_ID,
    action="deny",
    deny_reason=Refusal.CLOSED,
    opens_at="0900",
    opens_day=3,
)


@dataclass
class FakeDesk:
    """Answers every question with ``decision`` (or calls ``behaviour``), records calls."""

    decision: CallDecision = DIAL
    behaviour: Callable[[str, dict[str, str]], CallDecision] | None = None
    delay: float = 0.0
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    denied: list[tuple[str, Refusal]] = field(default_factory=list)
    # what a repeated request (attempt > 1) gets: None lets it be decided as usual
    earlier: CallDecision | None = None
    retries: list[tuple[Direction, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _answer(self, what: str, **kwargs: str) -> CallDecision:
        with self.lock:
            self.calls.append((what, kwargs))
        if self.delay:
            time.sleep(self.delay)
        if self.behaviour is not None:
            return self.behaviour(what, kwargs)
        return self.decision

    def operator_call(self, *, endpoint: str, dialed: str, channel_id: str) -> CallDecision:
        return self._answer(
            "operator_call", endpoint=endpoint, dialed=dialed, channel_id=channel_id
        )

    def inbound_call(self, *, caller: str, did: str, channel_id: str) -> CallDecision:
        return self._answer("inbound_call", caller=caller, did=did, channel_id=channel_id)

    def click2call_leg(self, *, call_id: str, channel_id: str) -> CallDecision:
        return self._answer("click2call_leg", call_id=call_id, channel_id=channel_id)

    def record_denied(self, *, route: str, channel_id: str, reason: Refusal) -> CallDecision:
        with self.lock:
            self.denied.append((route, reason))
        return CallDecision(call_id="f" * 32, action="deny", deny_reason=reason)

    def retried(self, *, direction: Direction, channel_id: str) -> CallDecision | None:
        with self.lock:
            self.retries.append((direction, channel_id))
        return self.earlier


def agi_env(
    script: str, *args: str, uniqueid: str = "1700000000.42", extra: dict[str, str] | None = None
) -> bytes:
    """The environment block Asterisk 22 sends on a FastAGI connect."""
    env = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1/{script}",
        "agi_channel": "PJSIP/desk1-00000001",
        "agi_language": "en",
        "agi_type": "PJSIP",
        "agi_uniqueid": uniqueid,
        "agi_version": "22.10.1",
        "agi_callerid": "desk1",
        "agi_calleridname": "Desk 1",
        "agi_callingpres": "0",
        "agi_callingani2": "0",
        "agi_callington": "0",
        "agi_callingtns": "0",
        "agi_dnid": "74950000001",
        "agi_rdnis": "unknown",
        "agi_context": "masking-staff",
        "agi_extension": "74950000001",
        "agi_priority": "2",
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": "140000000000000",
    }
    env.update(extra or {})
    lines = [f"{k}: {v}" for k, v in env.items()]
    lines += [f"agi_arg_{n}: {a}" for n, a in enumerate(args, 1)]
    return ("\n".join(lines) + "\n\n").encode()


class FakeAsterisk:
    """Asterisk's side of one FastAGI connection: send the env, answer every command."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.commands: list[str] = []

    @classmethod
    async def connect(cls, port: int) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def next_command(self, timeout: float = 5.0) -> str | None:
        """The next command line, or None when the service closed the connection."""
        try:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
        except ConnectionError:  # reset by the service, or a write after its close
            return None
        if not line:
            return None
        text = line.decode().rstrip("\n")
        self.commands.append(text)
        return text

    async def serve(
        self,
        reply: Callable[[str], bytes] | None = None,
        timeout: float = 5.0,
    ) -> list[str]:
        """Answer commands until the service closes; return them all."""
        while (command := await self.next_command(timeout)) is not None:
            await self.send(reply(command) if reply else b"200 result=1\n")
        return self.commands

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


async def exchange(port: int, script: str, *args: str, **kwargs: Any) -> list[str]:
    """One whole request: env in, every command answered with 200, until closed."""
    ast = await FakeAsterisk.connect(port)
    try:
        await ast.send(agi_env(script, *args, **kwargs))
        return await ast.serve()
    finally:
        await ast.close()


def set_vars(commands: list[str]) -> list[tuple[str, str]]:
    """``SET VARIABLE "A" "b"`` lines -> [("A", "b")] (test values hold no quotes)."""
    out = []
    for command in commands:
        assert command.startswith('SET VARIABLE "'), command
        name, value = command[len("SET VARIABLE ") :].split(" ", 1)
        out.append((name.strip('"'), value[1:-1]))
    return out


class DroppingAGIServer:
    """A FastAGI server failing the way a dying instance does: it takes the connection,
    reads the request, sets ``partial`` (the start of an answer, Asterisk's replies read)
    and closes. ``requests``: the environment of every request it got."""

    def __init__(self, partial: tuple[tuple[str, str], ...] = ()) -> None:
        self.partial = partial
        self.requests: list[dict[str, str]] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as stream:
                env: dict[str, str] = {}
                while (line := stream.readline().decode().rstrip("\n")) != "":
                    key, _, value = line.partition(": ")
                    env[key] = value
                self.requests.append(env)
                for name, value in self.partial:
                    stream.write(f'SET VARIABLE "{name}" "{value}"\n'.encode())
                    stream.flush()
                    stream.readline()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        self._sock.close()
        self._thread.join(5)


class AnswerLostServer(FastAGIServer):
    """The real FastAGI server and desk, but every answer is lost: the request is decided
    (its record stored) and the connection closes with nothing set, as when an instance
    dies between deciding and answering."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost: list[CallDecision] = []

    async def _answer(
        self,
        conn: AGIConnection,
        request: AGIRequest,
        decision: CallDecision,
        pairs: list[tuple[str, str]],
    ) -> None:
        self.lost.append(decision)
