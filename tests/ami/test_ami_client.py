"""The AMI client against a fake AMI peer over TCP: login, ping deadline, reconnect,
Originate never re-sent, commands, dialplan confirmation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from panoramisk import Manager

from agi.ami import AmiClient, AmiDisconnected, AmiLoginError, AmiNotConnected, sanitize_label
from tests.support.ami import eventually
from tests.support.fake_ami import FakeAmi

CALL_ID = "0123456789abcdef0123456789abcdef"


def client_for(server: FakeAmi, **options: object) -> AmiClient:
    defaults: dict[str, object] = {
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "ping_interval": 30.0,
        "ping_timeout": 0.3,
        "connect_timeout": 2.0,
        "action_timeout": 2.0,
    }
    defaults.update(options)
    return AmiClient(
        host="127.0.0.1",
        port=server.port,
        username="masking",
        secret="s3cret",
        **defaults,  # type: ignore[arg-type]
    )


async def test_login_and_command(ami: FakeAmi) -> None:
    async with client_for(ami) as client:
        assert client.connected
        await client.ping()
        assert "Asterisk 22" in await client.command("core show version")
    [(_, login)] = ami.named("Login")
    assert login["Username"] == "masking" and login["Events"] == "off"


async def test_failed_login_is_a_clear_error_not_a_retry_loop(
    ami: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    ami.secret = "other"
    client = client_for(ami)
    await client.start()
    with pytest.raises(AmiLoginError, match="Authentication failed"):
        await client.wait_connected(3)
    with pytest.raises(AmiLoginError):
        await client.wait_stopped()
    await asyncio.sleep(0.3)  # several backoff periods: still one attempt
    assert ami.connections == 1
    assert any(r.levelno == logging.ERROR and "refused" in r.getMessage() for r in caplog.records)
    await client.close()

    # the one-shot form raises too
    with pytest.raises(AmiLoginError):
        async with client_for(ami):
            pass


async def test_login_refused_while_shutting_down_is_retried(ami: FakeAmi) -> None:
    """A real Asterisk answers logins with an error while it stops: not a bad secret."""
    ami.login_errors = ["Asterisk is shutting down"] * 2
    async with client_for(ami) as client:
        assert client.connected
    assert ami.connections == 3


async def test_unreachable_is_reported_and_retried_with_backoff(ami: FakeAmi) -> None:
    port = ami.port
    await ami.stop()
    client = client_for(ami)
    await client.start()
    with pytest.raises(AmiNotConnected, match=r"refused|Connect"):
        await client.wait_connected(0.4)
    await ami.start(port)  # Asterisk comes up later on the same port
    await client.wait_connected(3)
    assert client.connections == 1
    await client.close()


async def test_ping_without_reply_reconnects(ami: FakeAmi) -> None:
    ami.answer_ping = False
    client = client_for(ami, ping_interval=0.1, ping_timeout=0.2)
    await client.start()
    await client.wait_connected(2)
    await eventually(lambda: ami.connections >= 2)
    ami.answer_ping = True
    await client.wait_connected(2)
    await client.ping()
    assert len(ami.named("Login")) >= 2
    await client.close()


async def test_originate_is_never_resent_after_reconnect(ami: FakeAmi) -> None:
    ami.drop_on.add("originate")
    client = client_for(ami)
    async with client:
        with pytest.raises(AmiDisconnected):
            await client.originator.originate_click2call(
                call_id=CALL_ID, endpoint="pvz1-desk1", label="Order 42"
            )
        await eventually(lambda: ami.connections == 2 and client.connected)
        await asyncio.sleep(0.3)  # FullyBooted came: panoramisk would re-send now
        await client.ping()
        # the same call is never originated twice by this client either
        with pytest.raises(Exception, match="already originated"):
            await client.originator.originate_click2call(
                call_id=CALL_ID, endpoint="pvz1-desk1", label="Order 42"
            )
    assert [n for n, _ in ami.named("Originate")] == [1]


async def test_plain_panoramisk_would_resend_the_originate(ami: FakeAmi) -> None:
    """The control: panoramisk's Manager alone rings the staff phone twice."""
    ami.drop_on.add("originate")
    manager = Manager(
        host="127.0.0.1",
        port=ami.port,
        username="masking",
        secret="s3cret",
        reconnect_timeout=0,
        ping_delay=60,
        loop=asyncio.get_running_loop(),
    )
    manager.connect()
    await eventually(lambda: bool(manager.authenticated))
    manager.send_action({"Action": "Originate", "Channel": "PJSIP/x", "Async": "true"})
    try:
        await eventually(lambda: len(ami.named("Originate")) == 2)
    finally:
        manager.close()
        manager.connection_lost = lambda exc: None  # stop its reconnect loop


async def test_pending_actions_fail_on_disconnect(ami: FakeAmi) -> None:
    ami.drop_on.add("command")
    async with client_for(ami) as client:
        with pytest.raises(AmiDisconnected):
            await client.command("core show version")
        await client.wait_connected(3)
        assert "Asterisk" in await client.command("core show version")
    assert len(ami.named("Command")) == 2  # the second one is the new request, not a re-send


async def test_originate_fields(ami: FakeAmi) -> None:
    async with client_for(ami) as client:
        await client.originator.originate_click2call(
            call_id=CALL_ID, endpoint="pvz1-desk1", label='Order "7"\r\nAction: Hangup <x>'
        )
    [(_, action)] = ami.named("Originate")
    assert action["Channel"] == "PJSIP/pvz1-desk1"
    assert (action["Context"], action["Exten"], action["Priority"]) == (
        "masking-click2call",
        "s",
        "1",
    )
    assert action["Variable"] == f"MASKING_CALL_ID={CALL_ID}"
    assert action["ChannelId"] == CALL_ID
    assert (action["Async"], action["Timeout"]) == ("true", "30000")
    assert action["CallerID"] == '"Order 7 Action: Hangup x" <>'
    assert "Hangup" not in {a.get("Action") for _, a in ami.actions}


@pytest.mark.parametrize(
    ("call_id", "endpoint"),
    [
        (CALL_ID, "desk1&PJSIP/evil"),
        (CALL_ID, "desk 1"),
        (CALL_ID, ""),
        (CALL_ID, "x" * 65),
        ("not-a-call-id", "desk1"),
        (CALL_ID.upper(), "desk1"),
    ],
)
async def test_originate_rejects_bad_input(ami: FakeAmi, call_id: str, endpoint: str) -> None:
    async with client_for(ami) as client:
        with pytest.raises(ValueError):
            await client.originator.originate_click2call(
                call_id=call_id, endpoint=endpoint, label="x"
            )
    assert ami.named("Originate") == []


def test_sanitize_label() -> None:
    assert sanitize_label('A "b" <c>\n') == "A b c"
    assert sanitize_label("") == "Call"
    assert len(sanitize_label("x" * 100)) == 40


async def test_reload_dialplan_and_confirm(ami: FakeAmi) -> None:
    ami.contexts = {"masking-outbound", "masking-click2call"}
    async with client_for(ami) as client:
        live = await client.reload_dialplan_and_confirm(
            ["masking-outbound", "masking-click2call", "masking-inbound"]
        )
        with pytest.raises(ValueError):
            await client.reload_dialplan_and_confirm(["bad context\r\nAction: Hangup"])
    assert live == {
        "masking-outbound": True,
        "masking-click2call": True,
        "masking-inbound": False,
    }
    # the reload user's "command" class; the Reload action would need config or system
    assert [a.get("Command") for _, a in ami.named("Command")] == ["dialplan reload"]
    assert not ami.named("Reload")


async def test_not_connected_raises(ami: FakeAmi) -> None:
    client = client_for(ami)
    send: Callable[[], Awaitable[str]] = lambda: client.command("core show version")  # noqa: E731
    with pytest.raises(AmiNotConnected):
        await send()
