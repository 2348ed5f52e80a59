"""A small AMI peer over real TCP, for unit tests of the client's protocol behaviour.

It speaks the wire format Asterisk 22 uses (banner, ``Key: Value`` blocks ended by a
blank line, ``Output:`` lines in Command replies, event lists) and can misbehave on
purpose: refuse the login, leave pings unanswered, drop the connection on an action.
The end-to-end checks against a real Asterisk live in ``tests/e2e/test_ami_real_asterisk.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

EOL = "\r\n"


def encode(headers: dict[str, Any]) -> bytes:
    lines = []
    for key, value in headers.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}")
    return (EOL.join(lines) + EOL + EOL).encode()


def parse(block: str) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    for line in block.split(EOL):
        if ": " not in line:
            continue
        key, value = line.split(": ", 1)
        if key in headers:
            old = headers[key]
            headers[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            headers[key] = value
    return headers


class FakeAmi:
    def __init__(self, *, username: str = "masking", secret: str = "s3cret") -> None:  # noqa: S107
        self.username, self.secret = username, secret
        self.actions: list[tuple[int, dict[str, Any]]] = []
        self.connections = 0
        self.answer_ping = True
        self.drop_on: set[str] = set()  # lower-case action names: drop once on receipt
        self.channels: list[dict[str, str]] = []
        self.channel_vars: dict[str, str] = {}  # channel name -> MASKING_CALL_ID
        self.systemname = ""  # CoreSettings' SystemName (asterisk.conf)
        self.contexts: set[str] = set()
        self.reloads = 0
        self.originate_response: dict[str, str] | None = None
        self.send_fully_booted = True
        self.login_errors: list[str] = []  # refuse the next logins with these messages
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> FakeAmi:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers.values()):
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def named(self, action: str) -> list[tuple[int, dict[str, Any]]]:
        return [(n, a) for n, a in self.actions if a.get("Action", "").lower() == action.lower()]

    def drop_all(self) -> None:
        for writer in list(self._writers.values()):
            writer.close()

    async def emit(self, **event: str) -> None:
        for writer in list(self._writers.values()):
            writer.write(encode(event))
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        writer.write(f"Asterisk Call Manager/9.0.0{EOL}".encode())
        buffer = ""
        logged_in = False
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                buffer += data.decode()
                while EOL + EOL in buffer:
                    block, buffer = buffer.split(EOL + EOL, 1)
                    action = parse(block)
                    self.actions.append((number, action))
                    name = action.get("Action", "").lower()
                    if name in self.drop_on:
                        self.drop_on.discard(name)
                        writer.close()
                        return
                    if name == "login":
                        logged_in = self._login(writer, action)
                        if logged_in:
                            self._writers[number] = writer
                    elif logged_in:
                        self._respond(writer, name, action)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.pop(number, None)
            writer.close()

    def _login(self, writer: asyncio.StreamWriter, action: dict[str, Any]) -> bool:
        aid = action.get("ActionID", "")
        refusal = self.login_errors.pop(0) if self.login_errors else None
        if action.get("Username") != self.username or action.get("Secret") != self.secret:
            refusal = "Authentication failed"
        if refusal is not None:
            writer.write(encode({"Response": "Error", "ActionID": aid, "Message": refusal}))
            return False
        writer.write(
            encode({"Response": "Success", "ActionID": aid, "Message": "Authentication accepted"})
        )
        if self.send_fully_booted:
            writer.write(
                encode(
                    {
                        "Event": "FullyBooted",
                        "Privilege": "system,all",
                        "Uptime": "10",
                        "LastReload": "10",
                        "Status": "Fully Booted",
                    }
                )
            )
        return True

    def _respond(self, writer: asyncio.StreamWriter, name: str, action: dict[str, Any]) -> None:
        aid = action.get("ActionID", "")
        if name == "ping":
            if self.answer_ping:
                writer.write(
                    encode(
                        {
                            "Response": "Success",
                            "ActionID": aid,
                            "Ping": "Pong",
                            "Timestamp": "1.0",
                        }
                    )
                )
        elif name == "coreshowchannels":
            writer.write(
                encode(
                    {
                        "Response": "Success",
                        "ActionID": aid,
                        "EventList": "start",
                        "Message": "Channels will follow",
                    }
                )
            )
            for channel in self.channels:
                writer.write(encode({"Event": "CoreShowChannel", "ActionID": aid, **channel}))
            writer.write(
                encode(
                    {
                        "Event": "CoreShowChannelsComplete",
                        "ActionID": aid,
                        "EventList": "Complete",
                        "ListItems": str(len(self.channels)),
                    }
                )
            )
        elif name == "coresettings":
            writer.write(
                encode(
                    {
                        "Response": "Success",
                        "ActionID": aid,
                        "AsteriskVersion": "22.0.0",
                        "SystemName": self.systemname,
                    }
                )
            )
        elif name == "getvar":
            channel = action.get("Channel", "")
            if channel not in {c["Channel"] for c in self.channels}:
                writer.write(
                    encode({"Response": "Error", "ActionID": aid, "Message": "No such channel"})
                )
            else:
                writer.write(
                    encode(
                        {
                            "Response": "Success",
                            "ActionID": aid,
                            "Variable": action.get("Variable", ""),
                            "Value": self.channel_vars.get(channel, ""),
                        }
                    )
                )
        elif name == "command":
            self._command(writer, aid, action.get("Command", ""))
        elif name == "reload":
            self.reloads += 1
            writer.write(
                encode({"Response": "Success", "ActionID": aid, "Message": "Module Reloaded"})
            )
        elif name == "showdialplan":
            ctx = action.get("Context", "")
            if ctx not in self.contexts:
                writer.write(
                    encode(
                        {
                            "Response": "Error",
                            "ActionID": aid,
                            "Message": "Did not find context " + ctx,
                        }
                    )
                )
            else:
                writer.write(
                    encode(
                        {
                            "Response": "Success",
                            "ActionID": aid,
                            "EventList": "start",
                            "Message": "DialPlan list will follow",
                        }
                    )
                )
                writer.write(
                    encode(
                        {
                            "Event": "ListDialplan",
                            "ActionID": aid,
                            "Context": ctx,
                            "Extension": "s",
                            "Priority": "1",
                            "Application": "NoOp",
                        }
                    )
                )
                writer.write(
                    encode(
                        {
                            "Event": "ShowDialPlanComplete",
                            "ActionID": aid,
                            "EventList": "Complete",
                            "ListItems": "1",
                        }
                    )
                )
        elif name == "originate":
            writer.write(
                encode(
                    {
                        "Response": "Success",
                        "ActionID": aid,
                        "Message": "Originate successfully queued",
                    }
                )
            )
            if self.originate_response is not None:
                writer.write(
                    encode(
                        {
                            "Event": "OriginateResponse",
                            "Privilege": "call,all",
                            "ActionID": aid,
                            "Channel": action.get("Channel", ""),
                            "Context": action.get("Context", ""),
                            "Exten": action.get("Exten", ""),
                            "Uniqueid": action.get("ChannelId", "<null>"),
                            **self.originate_response,
                        }
                    )
                )
        else:
            writer.write(
                encode({"Response": "Error", "ActionID": aid, "Message": "Invalid/unknown command"})
            )

    def _command(self, writer: asyncio.StreamWriter, aid: str, command: str) -> None:
        response, output = "Success", [f"No such command '{command}'"]
        if command == "core show version":
            output = ["Asterisk 22.10.1 built by fake @ test on a x86_64 running Linux"]
        elif command == "dialplan reload":
            output = ["Dialplan reloaded."]
        elif command.startswith("dialplan show "):
            ctx = command.removeprefix("dialplan show ")
            if ctx in self.contexts:
                output = [
                    f"[ Context '{ctx}' created by 'pbx_config' ]",
                    "  's' =>            1. NoOp()                   [extensions.conf:1]",
                    "",
                    "-= 1 extension (1 priority) in 1 context. =-",
                ]
            else:
                response, output = "Error", [f"There is no existence of '{ctx}' context"]
        writer.write(
            encode(
                {
                    "Response": response,
                    "ActionID": aid,
                    "Message": "Command output follows",
                    "Output": output,
                }
            )
        )
