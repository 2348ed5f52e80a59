"""The FastAGI wire protocol, asyncio side: read the request, send commands, read replies.

Written for a hostile peer: anyone who can reach the FastAGI port can send anything, so
every read is bounded in size and time, bytes that are not UTF-8 are replaced rather than
trusted, and every command argument is quoted so a value can never become a second
command.

What Asterisk sends on connect is a block of ``agi_key: value`` lines ended by an empty
line. Then the service sends one command per line and reads one reply per command:

- ``200 result=N [(data)] [key=value ...]``: done;
- ``510 Invalid or unknown command`` / ``511 Command Not Permitted on a dead channel``;
- ``520-Invalid command syntax.  Proper usage follows:`` ... ``520 End of proper usage.``
  (several lines: read to the ``520 `` line, unlike panoramisk 1.4);
- ``HANGUP``: sent unprompted when the channel hangs up (AGISIGHUP): stop sending.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_LINES = 200
MAX_ARGS = 32
MAX_REPLY_LINE = 8 * 1024
MAX_REPLY_LINES = 200
# Asterisk reads a command into a 2048-byte buffer (AGI_BUF_LEN): stay below it.
MAX_COMMAND_BYTES = 2000

_ENV_KEY = re.compile(r"^agi_[a-z0-9_]{1,64}$")
_COMMAND = re.compile(r"^[A-Z]+(?: [A-Z]+)*$")
_STATUS = re.compile(r"^(\d{3})(?:[ -](.*))?$")
_RESULT = re.compile(r"^result=(\S*)\s*(?:\((.*)\))?\s*(.*)$")
_UNIQUEID_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_ATTEMPT = re.compile(r"^[1-9][0-9]?$")


class AGIError(Exception):
    """Base of everything this module raises."""


class ProtocolError(AGIError):
    """The peer broke the protocol: garbage, oversized or unparsable data."""


class ChannelGone(AGIError):
    """The channel hung up (``HANGUP``, ``511``) or the connection closed: stop sending."""


class CommandFailed(AGIError):
    """Asterisk refused a command (``510``, ``520`` or a negative result)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"AGI command failed: {reply.code} {reply.text[:200]!r}")
        self.reply = reply


@dataclass(frozen=True)
class Reply:
    code: int
    result: str = ""
    data: str | None = None
    text: str = ""
    # every line of a multi-line (520) reply, first to last
    lines: tuple[str, ...] = field(default_factory=tuple)


# ---- pure helpers -------------------------------------------------------------------------


def quote(value: str | int) -> str:
    """One AGI argument in double quotes, ``\\`` and ``"`` escaped.

    Asterisk's argument parser (res_agi ``parse_args``) treats ``\\`` as "next character is
    literal" and ``"`` as a quote toggle, so this is exact. A line break or NUL cannot be
    escaped (it ends the command line), so they are refused, never silently dropped.
    """
    text = str(value)
    if any(c in text for c in "\r\n\0"):
        raise ValueError("AGI argument contains a line break or NUL")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(command: str, *args: str | int) -> bytes:
    """``SET VARIABLE "NAME" "value"\\n`` as bytes; the command word(s) must be a keyword."""
    if not _COMMAND.match(command):
        raise ValueError(f"not an AGI command keyword: {command!r}")
    line = " ".join([command, *(quote(a) for a in args)]) + "\n"
    data = line.encode("utf-8")
    if len(data) > MAX_COMMAND_BYTES:
        raise ValueError("AGI command too long")
    return data


def decode_line(raw: bytes) -> str:
    """A received line without its line ending; invalid UTF-8 becomes U+FFFD."""
    return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def parse_env_line(line: str) -> tuple[str, str]:
    """``agi_key: value`` -> ``("agi_key", "value")``; anything else is a ProtocolError."""
    key, sep, value = line.partition(":")
    if not sep or not _ENV_KEY.match(key):
        raise ProtocolError("not an AGI environment line")
    if value.startswith(" "):
        value = value[1:]
    return key, value


def parse_status_line(line: str) -> Reply:
    """One single-line reply (``200``, ``510``, ``511``...). ``HANGUP`` is not a reply."""
    match = _STATUS.match(line)
    if not match:
        raise ProtocolError("unparsable AGI reply")
    code, rest = int(match.group(1)), match.group(2) or ""
    if code == 200:
        result = _RESULT.match(rest)
        if not result:
            raise ProtocolError("200 reply without result=")
        return Reply(code, result.group(1), result.group(2), rest, (line,))
    return Reply(code, "", None, rest, (line,))


def route_of(env: Mapping[str, str]) -> str:
    """The route name: ``agi_network_script`` (or the path of ``agi_request``) without any
    ``?query`` or slashes. ``operator-call?x=1`` -> ``operator-call``."""
    script = env.get("agi_network_script")
    if script is None:
        script = urlsplit(env.get("agi_request", "")).path
    return script.split("?", 1)[0].split("#", 1)[0].strip("/")


def attempt_of(env: Mapping[str, str]) -> int:
    """Which server of the dialplan's list was asked: ``?attempt=N`` in the AGI URL
    (masking-sub-agi counts 1, 2, ...); 1 when absent (a dialplan asking one server).
    Anything but a small number counts as a repeated request: a repeat is checked, so
    that is the safe side."""
    url = env.get("agi_network_script") or env.get("agi_request", "")
    given = parse_qs(urlsplit(url).query, keep_blank_values=True).get("attempt")
    if not given:
        return 1
    return int(given[-1]) if _ATTEMPT.match(given[-1]) else 2


def safe_uniqueid(raw: str | None) -> str:
    """agi_uniqueid made safe for logs and the database (it is peer-supplied)."""
    cleaned = _UNIQUEID_CHARS.sub("", raw or "")[:64]
    return cleaned or "-"


@dataclass(frozen=True)
class AGIRequest:
    """What a route sees: its name, its arguments, and the channel's unique id."""

    route: str
    args: tuple[str, ...]
    channel_id: str
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    # 1: the dialplan's first server; more: it asks again after no answer (agi.routes)
    attempt: int = 1

    def arg(self, n: int) -> str:
        """1-based argument, "" when absent."""
        return self.args[n - 1] if 0 < n <= len(self.args) else ""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, route: str | None = None, skip: int = 0
    ) -> AGIRequest:
        """From an AGI environment. ``skip`` drops leading arguments (classic AGI passes
        the route as ``agi_arg_1``)."""
        args: list[str] = []
        for n in range(1, MAX_ARGS + 1):
            value = env.get(f"agi_arg_{n}")
            if value is None:
                break
            args.append(value)
        return cls(
            route=route if route is not None else route_of(env),
            args=tuple(args[skip:]),
            channel_id=safe_uniqueid(env.get("agi_uniqueid")),
            env=dict(env),
            attempt=attempt_of(env),
        )


# ---- the connection --------------------------------------------------------------------


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...

    def is_closing(self) -> bool: ...


# what Asterisk answers to every SET VARIABLE that worked: no parsing needed
_SUCCESS_LINE = b"200 result=1\n"
_SUCCESS = Reply(200, "1", None, "result=1", ("200 result=1",))


class AGIConnection:
    """One FastAGI connection. Not safe for concurrent use (AGI is strictly sequential)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: Writer,
        *,
        reply_timeout: float = 2.0,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._buf = bytearray()
        self._eof = False
        self.reply_timeout = reply_timeout
        self.gone = False
        self.received = 0

    async def _readline(self, max_len: int) -> bytes:
        """One line including ``\\n``; ProtocolError past ``max_len``, EOFError at EOF."""
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                if end + 1 > max_len:
                    raise ProtocolError("line too long")
                line = bytes(self._buf[: end + 1])
                del self._buf[: end + 1]
                return line
            if len(self._buf) > max_len:
                raise ProtocolError("line too long")
            if self._eof:
                raise EOFError("connection closed")
            start = len(self._buf)
            chunk = await self._reader.read(64 * 1024)
            if not chunk:
                self._eof = True
                continue
            self.received += len(chunk)
            self._buf += chunk

    async def read_env(
        self,
        *,
        timeout: float = 5.0,
        max_bytes: int = MAX_HEADER_BYTES,
        max_lines: int = MAX_HEADER_LINES,
    ) -> dict[str, str]:
        """The request's environment, all of it within ``timeout`` seconds.

        Raises EOFError (peer closed), TimeoutError, ProtocolError (garbage, too big).
        """
        env: dict[str, str] = {}
        used = 0
        async with asyncio.timeout(timeout):
            for _ in range(max_lines + 1):
                raw = await self._readline(max_bytes - used)
                used += len(raw)
                line = decode_line(raw)
                if line == "":
                    if not env:
                        raise ProtocolError("empty AGI environment")
                    return env
                key, value = parse_env_line(line)
                env[key] = value
        raise ProtocolError("too many AGI environment lines")

    async def read_reply(self) -> Reply:
        """The reply to the last command. ChannelGone on ``HANGUP``/EOF."""
        usage: list[str] = []
        for _ in range(MAX_REPLY_LINES):
            try:
                raw = await self._readline(MAX_REPLY_LINE)
            except EOFError:
                self.gone = True
                raise ChannelGone("connection closed") from None
            if raw == _SUCCESS_LINE and not usage:
                return _SUCCESS
            line = decode_line(raw)
            if usage:
                usage.append(line)
                if line.startswith("520 "):
                    return Reply(520, "", None, "\n".join(usage), tuple(usage))
                continue
            if line.strip() == "HANGUP":
                self.gone = True
                raise ChannelGone("HANGUP")
            if line == "":
                continue
            if line.startswith("520-"):
                usage.append(line)
                continue
            reply = parse_status_line(line)
            if reply.code == 100:  # "100 result=0 Trying...": the real reply follows
                continue
            return reply
        raise ProtocolError("AGI reply too long")

    async def command(self, command: str, *args: str | int) -> Reply:
        """Send one command and return its ``200`` reply, within ``reply_timeout``.

        Raises ChannelGone (hangup, 511, closed), CommandFailed (510, 520, other codes),
        ProtocolError, TimeoutError, ValueError (an argument that cannot be quoted).
        """
        if self.gone:
            raise ChannelGone("channel already gone")
        data = format_command(command, *args)
        async with asyncio.timeout(self.reply_timeout):
            return await self._exchange(data)

    async def _exchange(self, data: bytes) -> Reply:
        """Send one formatted command, return its ``200`` reply (no deadline of its own)."""
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError):
            self.gone = True
            raise ChannelGone("connection lost") from None
        reply = await self.read_reply()
        if reply.code == 511:
            self.gone = True
            raise ChannelGone("dead channel (511)")
        if reply.code != 200:
            raise CommandFailed(reply)
        return reply

    async def set_variable(self, name: str, value: str | int) -> None:
        reply = await self.command("SET VARIABLE", name, value)
        if reply.result.startswith("-"):
            raise CommandFailed(reply)

    async def set_variables(self, pairs: Sequence[tuple[str, str | int]]) -> None:
        """``SET VARIABLE`` for every pair, in order, all within one ``reply_timeout``.
        Every command is formatted (and its value checked) before the first is sent, so
        a value that cannot be quoted sends nothing. Raises as :meth:`command` does."""
        if self.gone:
            raise ChannelGone("channel already gone")
        commands = [format_command("SET VARIABLE", name, value) for name, value in pairs]
        async with asyncio.timeout(self.reply_timeout):
            for data in commands:
                reply = await self._exchange(data)
                if reply.result.startswith("-"):
                    raise CommandFailed(reply)

    async def close(self, timeout: float = 1.0) -> None:
        """Close the socket; never waits more than ``timeout`` for the peer."""
        try:
            if not self._writer.is_closing():
                self._writer.close()
            async with asyncio.timeout(timeout):
                await self._writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError):
            transport = getattr(self._writer, "transport", None)
            if transport is not None:
                transport.abort()
