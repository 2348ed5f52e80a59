"""The FastAGI wire protocol: quoting, the environment, replies."""

from __future__ import annotations

import asyncio

import pytest

from agi.protocol import (
    AGIConnection,
    AGIRequest,
    ChannelGone,
    CommandFailed,
    ProtocolError,
    format_command,
    parse_env_line,
    parse_status_line,
    quote,
    route_of,
    safe_uniqueid,
)


class BufferWriter:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        return None

    def is_closing(self) -> bool:
        return self.closed


def connection(data: bytes, *, eof: bool = True, reply_timeout: float = 0.5):
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    writer = BufferWriter()
    return AGIConnection(reader, writer, reply_timeout=reply_timeout), writer


# ---- quoting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ("", '""'),
        (45, '"45"'),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ('\\"', r'"\\\""'),
        ("Заказ №5", '"Заказ №5"'),
    ],
)
def test_quote_escapes_backslash_and_quote(value: str | int, quoted: str) -> None:
    assert quote(value) == quoted


@pytest.mark.parametrize("bad", ["a\nHANGUP", "a\rb", "a\0b", "\n"])
def test_quote_refuses_line_breaks_and_nul(bad: str) -> None:
    with pytest.raises(ValueError):
        quote(bad)


def test_format_command_quotes_every_argument() -> None:
    assert format_command("SET VARIABLE", "MASKING_ACTION", "dial") == (
        b'SET VARIABLE "MASKING_ACTION" "dial"\n'
    )


def test_format_command_injection_attempt_stays_one_argument() -> None:
    data = format_command("SET VARIABLE", "X", '1" "2')
    assert data == b'SET VARIABLE "X" "1\\" \\"2"\n'
    assert data.count(b"\n") == 1


@pytest.mark.parametrize("command", ["set variable", "EXEC Dial", "HANGUP\nEXEC", ""])
def test_format_command_keyword_must_be_plain(command: str) -> None:
    with pytest.raises(ValueError):
        format_command(command)


def test_format_command_too_long() -> None:
    with pytest.raises(ValueError):
        format_command("SET VARIABLE", "X", "a" * 3000)


# ---- environment ---------------------------------------------------------------------------


def test_parse_env_line() -> None:
    assert parse_env_line("agi_arg_1: desk1") == ("agi_arg_1", "desk1")
    assert parse_env_line("agi_accountcode: ") == ("agi_accountcode", "")
    assert parse_env_line("agi_accountcode:") == ("agi_accountcode", "")
    assert parse_env_line("agi_arg_2: a: b") == ("agi_arg_2", "a: b")


@pytest.mark.parametrize("line", ["GET / HTTP/1.1", "no colon", "Agi_x: 1", ": value", "\ufffd: x"])
def test_parse_env_line_rejects_garbage(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_env_line(line)


@pytest.mark.parametrize(
    ("env", "route"),
    [
        ({"agi_network_script": "operator-call"}, "operator-call"),
        ({"agi_network_script": "operator-call?x=1&y=2"}, "operator-call"),
        ({"agi_network_script": "/inbound-call/"}, "inbound-call"),
        ({"agi_request": "agi://127.0.0.1:4573/click2call?a=b"}, "click2call"),
        ({}, ""),
    ],
)
def test_route_is_the_path_only(env: dict[str, str], route: str) -> None:
    assert route_of(env) == route


def test_request_from_env() -> None:
    env = {
        "agi_network_script": "operator-call?debug=1",
        "agi_uniqueid": "1700000000.7",
        "agi_arg_1": "desk1",
        "agi_arg_2": "74950000001",
        "agi_arg_4": "gap: not read",
    }
    request = AGIRequest.from_env(env)
    assert request.route == "operator-call"
    assert request.args == ("desk1", "74950000001")
    assert request.arg(1) == "desk1" and request.arg(3) == ""
    assert request.channel_id == "1700000000.7"
    classic = AGIRequest.from_env(env, route="x", skip=1)
    assert classic.args == ("74950000001",)


def test_uniqueid_is_sanitised() -> None:
    assert safe_uniqueid("1700000000.7") == "1700000000.7"
    assert safe_uniqueid("abc\n\x1b[31mevil %s") == "abc31mevils"
    assert safe_uniqueid("") == "-"
    assert len(safe_uniqueid("9" * 500)) == 64


async def test_read_env_until_blank_line() -> None:
    conn, _ = connection(b"agi_network: yes\r\nagi_arg_1: desk1\n\nleftover")
    env = await conn.read_env()
    assert env == {"agi_network": "yes", "agi_arg_1": "desk1"}


async def test_read_env_invalid_utf8_is_replaced() -> None:
    conn, _ = connection(b"agi_callerid: \xff\xfe\xc3\n\n")
    env = await conn.read_env()
    assert env["agi_callerid"] == "\ufffd\ufffd\ufffd"


async def test_read_env_eof_before_anything() -> None:
    conn, _ = connection(b"")
    with pytest.raises(EOFError):
        await conn.read_env()


async def test_read_env_eof_midway() -> None:
    conn, _ = connection(b"agi_network: yes\nagi_arg")
    with pytest.raises(EOFError):
        await conn.read_env()


async def test_read_env_size_cap() -> None:
    conn, _ = connection(b"agi_x: " + b"a" * 20000 + b"\n\n")
    with pytest.raises(ProtocolError):
        await conn.read_env(max_bytes=16384)


async def test_read_env_size_cap_without_newline() -> None:
    conn, _ = connection(b"a" * 100000, eof=False)
    with pytest.raises(ProtocolError):
        await conn.read_env(timeout=1)


async def test_read_env_line_cap() -> None:
    conn, _ = connection(b"".join(b"agi_x%d: 1\n" % i for i in range(300)) + b"\n")
    with pytest.raises(ProtocolError):
        await conn.read_env(max_lines=200)


async def test_read_env_deadline() -> None:
    conn, _ = connection(b"agi_network: yes\n", eof=False)
    with pytest.raises(TimeoutError):
        await conn.read_env(timeout=0.1)


async def test_read_env_empty_block_is_refused() -> None:
    conn, _ = connection(b"\n")
    with pytest.raises(ProtocolError):
        await conn.read_env()


# ---- replies -------------------------------------------------------------------------------


def test_parse_200() -> None:
    reply = parse_status_line("200 result=1")
    assert (reply.code, reply.result, reply.data) == (200, "1", None)
    reply = parse_status_line("200 result=1 (some (nested) data) endpos=1234")
    assert (reply.result, reply.data) == ("1", "some (nested) data")
    reply = parse_status_line("200 result=-1")
    assert reply.result == "-1"


def test_parse_other_codes() -> None:
    assert parse_status_line("510 Invalid or unknown command").code == 510
    assert parse_status_line("511 Command Not Permitted on a dead channel").code == 511


@pytest.mark.parametrize("line", ["garbage", "20 result=1", "200 nothing"])
def test_parse_garbage_reply(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_status_line(line)


async def test_command_200() -> None:
    conn, writer = connection(b"200 result=1\n")
    await conn.set_variable("MASKING_ACTION", "deny")
    assert bytes(writer.data) == b'SET VARIABLE "MASKING_ACTION" "deny"\n'


async def test_command_skips_100_trying() -> None:
    conn, _ = connection(b"100 result=0 Trying...\n200 result=1 (done)\n")
    reply = await conn.command("SET VARIABLE", "A", "b")
    assert reply.data == "done"


async def test_command_510() -> None:
    conn, _ = connection(b"510 Invalid or unknown command\n200 result=1\n")
    with pytest.raises(CommandFailed) as info:
        await conn.command("NOPE")
    assert info.value.reply.code == 510
    # the connection stays in step: the next reply belongs to the next command
    await conn.set_variable("A", "b")


async def test_command_511_means_channel_gone() -> None:
    conn, writer = connection(b"511 Command Not Permitted on a dead channel or intercept routine\n")
    with pytest.raises(ChannelGone):
        await conn.set_variable("A", "b")
    assert conn.gone
    with pytest.raises(ChannelGone):
        await conn.set_variable("B", "c")
    assert writer.data.count(b"\n") == 1  # nothing sent after the channel went away


async def test_command_520_multiline_is_read_whole() -> None:
    usage = (
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b"Usage: SET VARIABLE <variablename> <value>\n"
        b"   Sets a variable to the current channel.\n"
        b"\n"
        b"520 End of proper usage.\n"
        b"200 result=1\n"
    )
    conn, _ = connection(usage)
    with pytest.raises(CommandFailed) as info:
        await conn.command("SET VARIABLE", "A")
    reply = info.value.reply
    assert reply.code == 520
    assert reply.lines[0].startswith("520-") and reply.lines[-1] == "520 End of proper usage."
    assert len(reply.lines) == 5
    # in step afterwards
    assert (await conn.command("SET VARIABLE", "A", "b")).result == "1"


async def test_hangup_line_means_channel_gone() -> None:
    conn, writer = connection(b"HANGUP\n200 result=1\n")
    with pytest.raises(ChannelGone):
        await conn.set_variable("A", "b")
    assert conn.gone
    with pytest.raises(ChannelGone):
        await conn.set_variable("B", "c")
    assert writer.data.count(b"\n") == 1


async def test_eof_instead_of_reply_means_channel_gone() -> None:
    conn, _ = connection(b"")
    with pytest.raises(ChannelGone):
        await conn.set_variable("A", "b")


async def test_reply_deadline() -> None:
    conn, _ = connection(b"", eof=False, reply_timeout=0.1)
    with pytest.raises(TimeoutError):
        await conn.set_variable("A", "b")


async def test_endless_reply_line_is_capped() -> None:
    conn, _ = connection(b"200 result=1 (" + b"x" * 20000 + b")\n")
    with pytest.raises(ProtocolError):
        await conn.set_variable("A", "b")


async def test_negative_result_is_a_failure() -> None:
    conn, _ = connection(b"200 result=-1\n")
    with pytest.raises(CommandFailed):
        await conn.set_variable("A", "b")
