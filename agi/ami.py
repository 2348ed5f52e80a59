"""The AMI client: click-to-call Originate, call records from events, dialplan reload.

Built on panoramisk's ``Manager`` (its protocol, action futures and event dispatch) with
the parts that are unsafe for a telephony service replaced:

* panoramisk re-sends unanswered actions after a reconnect (an Originate would ring the
  staff phone twice). Here nothing is ever re-sent: when a connection is lost every
  pending action fails with :class:`AmiDisconnected` and panoramisk's awaiting list is
  emptied; ``originate`` is also in panoramisk's "forgettable" list.
* panoramisk's ping has no reply deadline. Here a Ping must be answered within
  ``ping_timeout`` or the connection is treated as dead and reopened.
* panoramisk reconnects at a fixed interval and never reports a failed login. Here
  reconnects back off exponentially (capped) and a refused login stops the client with
  :class:`AmiLoginError` (logged), instead of retrying silently forever.

After every login (and on ``FullyBooted``) the client reconciles call records with the
channels Asterisk really has (``CoreShowChannels`` + ``Getvar MASKING_CALL_ID``), and it
repeats that every ``reconcile_interval`` seconds.

How events find their call record: the calling channel's uniqueid is stored on the record
by the AGI route (``CallRecord.channel_id``) and every other leg shares its ``Linkedid``;
a click-to-call staff leg is originated with ``ChannelId`` = the call id, so its uniqueid
and linkedid *are* the call id. An optional ``UserEvent(MaskingCall,CallId: <id>)`` from
the dialplan teaches the mapping without a database lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from agi import variables
from masking.calls import call_log
from masking.config import Settings
from masking.service import MaskingService
from masking.states import Disposition
from masking.storage.models import CallRecord

log = logging.getLogger("masking.ami")

CLICK2CALL_CONTEXT = "masking-click2call"
ENDPOINT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
CALL_ID_RE = re.compile(r"^[0-9a-f]{32}$")
CONTEXT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_CALLERID_NUM_RE = re.compile(r"^\+?[0-9]{1,20}$")
_LABEL_BAD = re.compile(r"[\"<>\\\r\n\t\x00-\x1f\x7f;]")

# OriginateResponse "Reason": the last control frame Asterisk saw on the staff leg.
_ORIGINATE_REASONS = {
    "1": Disposition.NO_ANSWER,  # hung up / rejected while ringing
    "3": Disposition.NO_ANSWER,  # still ringing when Timeout passed
    "5": Disposition.BUSY,
    "8": Disposition.FAILED,  # congestion
    "0": Disposition.FAILED,  # could not create the channel
}


class AmiError(Exception):
    """Anything that went wrong talking to Asterisk's manager interface."""


class AmiLoginError(AmiError):
    """Asterisk refused the username / secret; the client stops (no silent retries)."""


class AmiNotConnected(AmiError):
    """No logged-in AMI connection right now."""


class AmiDisconnected(AmiError):
    """The connection was lost before the action was answered; it is never re-sent."""


class AmiActionError(AmiError):
    """Asterisk answered the action with an error."""


def sanitize_label(label: str) -> str:
    """A caller ID name safe inside ``"..."``: no quotes, brackets, newlines, controls."""
    clean = _LABEL_BAD.sub(" ", label or "")
    return " ".join(clean.split())[:40] or "Call"


def _header(message: Mapping[str, Any], name: str) -> str:
    value = message.get(name, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "")


def _output(message: Mapping[str, Any]) -> str:
    """A Command response's text: ``Output:`` headers (Asterisk 14+) or the body."""
    out = message.get("Output")
    if isinstance(out, list):
        lines = [str(x) for x in out]
    elif out is not None:
        lines = [str(out)]
    else:
        lines = []
    content = getattr(message, "content", "") or ""
    if content:
        lines.append(content.replace("--END COMMAND--", "").rstrip())
    return "\n".join(lines)


# ---- panoramisk plumbing ---------------------------------------------------------------
class _Protocol(AMIProtocol):
    """panoramisk's protocol, wired to our manager before any byte arrives."""

    def __init__(self, client: AmiClient) -> None:
        super().__init__()
        self._client = client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        manager = self._client.manager
        self.factory = manager
        self.log = manager.log
        self.config = manager.config
        self.encoding = manager.encoding

    def connection_lost(self, exc: Any) -> None:
        # also called by panoramisk itself on "Event: Shutdown"
        if not self.closed:
            self.close()
            self._client._connection_lost(self, exc)


class _Manager(Manager):
    """panoramisk's Manager without its own reconnect, ping and re-send of actions."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.encoding = self.config["encoding"]

    def ping(self) -> None:  # pragma: no cover - replaced by AmiClient._pinger
        return None

    def connection_lost(self, exc: Any) -> None:  # pragma: no cover - see _Protocol
        return None

    async def send_awaiting_actions(self, *_: Any) -> None:
        """Never re-send anything after a reconnect (panoramisk would, on FullyBooted)."""
        _drop_awaiting(self)


def _drop_awaiting(manager: Manager) -> None:
    while manager.awaiting_actions:
        action = manager.awaiting_actions.popleft()
        log.warning("AMI: not re-sending %s after reconnect", action.get("Action"))
        if not action.future.done():
            action.future.set_exception(AmiDisconnected("connection lost before the reply"))


# ---- call records from events ------------------------------------------------------------
@dataclass
class _Call:
    call_id: str
    channel_id: str | None = None  # the calling channel's uniqueid
    dial_status: str | None = None
    answered: bool = False
    bridge_since: float | None = None
    bridged: float = 0.0
    ended: bool = False


class CallTracker:
    """Turns AMI events into :mod:`masking.records` updates, in arrival order.

    Database work runs in a thread so the event loop keeps reading the socket.
    """

    def __init__(
        self,
        service: MaskingService,
        *,
        recording_delays: Iterable[float] = (1.0, 5.0),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.recording_delays = tuple(recording_delays)
        self.monotonic = monotonic
        self._by_channel: OrderedDict[str, str] = OrderedDict()
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._unknown: dict[str, float] = {}
        self.originates: dict[str, str] = {}  # ActionID -> call id, until OriginateResponse
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---- mapping --------------------------------------------------------------------
    def learn(self, call_id: str, *channel_ids: str, calling: str | None = None) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call(call_id)
            while len(self._calls) > 5000:
                self._calls.popitem(last=False)
        if calling and not call.channel_id:
            call.channel_id = calling
        for channel in channel_ids:
            if channel:
                self._by_channel[channel] = call_id
                self._unknown.pop(channel, None)
        while len(self._by_channel) > 20000:
            self._by_channel.popitem(last=False)
        return call

    def forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        for channel in [c for c, cid in self._by_channel.items() if cid == call_id]:
            del self._by_channel[channel]

    async def _resolve(self, uniqueid: str, linkedid: str) -> _Call | None:
        for channel in (uniqueid, linkedid):
            call_id = self._by_channel.get(channel)
            if call_id is not None:
                call = self._calls.get(call_id) or self.learn(call_id)
                self.learn(call_id, uniqueid, linkedid)
                return call
        now = self.monotonic()
        key = linkedid or uniqueid
        if not key or self._unknown.get(key, 0.0) > now:
            return None
        found = await asyncio.to_thread(call_log.find_call, self.service, uniqueid, linkedid)
        if found is None:
            self._unknown[key] = now + 60.0
            if len(self._unknown) > 20000:
                self._unknown = {k: t for k, t in self._unknown.items() if t > now}
            return None
        call_id, calling = found
        return self.learn(call_id, uniqueid, linkedid, calling=calling or call_id)

    # ---- events ---------------------------------------------------------------------
    async def handle(self, event: Mapping[str, Any]) -> None:
        name = _header(event, "Event")
        handler = getattr(self, f"_on_{name.lower()}", None)
        if handler is not None:
            await handler(event)

    async def _on_userevent(self, event: Mapping[str, Any]) -> None:
        kind = _header(event, "UserEvent")
        if kind == "MaskingRecordingFailed":
            failed = _header(event, "CallID").strip()
            if CALL_ID_RE.match(failed):
                await asyncio.to_thread(call_log.mark_recording_failed, self.service, failed)
            return
        if kind != "MaskingCall":
            return
        call_id = _header(event, "CallId").strip()
        if not CALL_ID_RE.match(call_id):
            log.warning("UserEvent MaskingCall without a valid CallId")
            return
        uniqueid, linkedid = _header(event, "Uniqueid"), _header(event, "Linkedid")
        self.learn(call_id, uniqueid, linkedid, calling=uniqueid)
        await asyncio.to_thread(
            call_log.set_channel, self.service, call_id, channel_id=uniqueid, linked_id=linkedid
        )

    async def _on_dialbegin(self, event: Mapping[str, Any]) -> None:
        uniqueid = _header(event, "Uniqueid")
        if not uniqueid:  # an Originate's own leg: no caller
            return
        call = await self._resolve(uniqueid, _header(event, "Linkedid"))
        if call is not None:
            self.learn(call.call_id, _header(event, "DestUniqueid"))

    async def _on_dialend(self, event: Mapping[str, Any]) -> None:
        uniqueid = _header(event, "Uniqueid")
        if not uniqueid:  # the Originate leg itself; OriginateResponse reports it
            return
        call = await self._resolve(uniqueid, _header(event, "Linkedid"))
        if call is None or call.ended:
            return
        status = _header(event, "DialStatus").upper()
        if status == "ANSWER":
            call.answered = True
            call.dial_status = status
            await asyncio.to_thread(
                call_log.mark_answered, self.service, call.call_id, self.service.clock()
            )
        elif not call.answered and status:
            call.dial_status = status

    async def _on_bridgeenter(self, event: Mapping[str, Any]) -> None:
        call = await self._resolve(_header(event, "Uniqueid"), _header(event, "Linkedid"))
        if call is None or call.ended:
            return
        try:
            members = int(_header(event, "BridgeNumChannels") or "0")
        except ValueError:
            members = 0
        if members >= 2 and call.bridge_since is None:
            call.bridge_since = self.monotonic()
            call.answered = True
            await asyncio.to_thread(
                call_log.mark_bridged, self.service, call.call_id, self.service.clock()
            )

    async def _on_bridgeleave(self, event: Mapping[str, Any]) -> None:
        call = await self._resolve(_header(event, "Uniqueid"), _header(event, "Linkedid"))
        if call is not None:
            self._close_bridge(call)

    def _close_bridge(self, call: _Call) -> None:
        if call.bridge_since is not None:
            call.bridged += self.monotonic() - call.bridge_since
            call.bridge_since = None

    async def _on_hangup(self, event: Mapping[str, Any]) -> None:
        uniqueid, linkedid = _header(event, "Uniqueid"), _header(event, "Linkedid")
        call = await self._resolve(uniqueid, linkedid)
        if call is None:
            return
        calling = call.channel_id or linkedid
        if uniqueid != calling and uniqueid != call.call_id:
            return  # another leg; the calling channel's hangup ends the call
        if not call.answered and call.call_id in self.originates.values():
            return  # a staff leg that never answered: OriginateResponse says why
        try:
            cause: int | None = int(_header(event, "Cause"))
        except ValueError:
            cause = None
        self._close_bridge(call)
        call.ended = True
        # bridged time seen here; None lets mark_ended derive it from answered_at
        bridged = round(call.bridged) if call.bridged else None
        await asyncio.to_thread(
            call_log.mark_ended,
            self.service,
            call.call_id,
            self.service.clock(),
            None,
            cause,
            bridged,
            dial_status=call.dial_status,
        )
        self.attach_later(call.call_id)
        self.forget(call.call_id)

    async def _on_originateresponse(self, event: Mapping[str, Any]) -> None:
        action_id = _header(event, "ActionID")
        uniqueid = _header(event, "Uniqueid")
        call_id = self.originates.pop(action_id, None) or (
            uniqueid if CALL_ID_RE.match(uniqueid) else None
        )
        if call_id is None:
            return
        if _header(event, "Response").lower() == "success":
            self.learn(call_id, uniqueid, calling=uniqueid or call_id)
            log.info("click-to-call %s: staff phone answered", call_id)
            return
        reason = _header(event, "Reason")
        disposition = _ORIGINATE_REASONS.get(reason, Disposition.FAILED)
        log.info("click-to-call %s: staff phone %s (reason %s)", call_id, disposition, reason)
        await asyncio.to_thread(
            call_log.mark_ended, self.service, call_id, self.service.clock(), disposition
        )
        self.forget(call_id)

    # ---- recordings -------------------------------------------------------------------
    def attach_later(self, call_id: str) -> None:
        """MixMonitor closes its file just after the hangup: look a little later."""
        task = asyncio.ensure_future(self._attach(call_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attach(self, call_id: str) -> None:
        for delay in self.recording_delays:
            await asyncio.sleep(delay)
            try:
                if await asyncio.to_thread(call_log.attach_recording, self.service, call_id):
                    return
            except Exception:
                log.exception("call %s: could not attach the recording", call_id)
                return

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


# ---- the client -----------------------------------------------------------------------------
class AmiClient:
    """One supervised AMI connection: login, ping deadline, backoff, reconcile, events.

    ``service`` None gives a command-only client (no events, no records), e.g. for
    ``masking dialplan reload``. Use ``async with AmiClient(...) as ami`` for one-shot
    work, or :meth:`start` / :meth:`close` in a long-running service.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str,
        secret: str,
        service: MaskingService | None = None,
        ping_interval: float = 10.0,
        ping_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        action_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        reconcile_interval: float = 60.0,
        boot_wait: float = 2.0,
        recording_delays: Iterable[float] = (1.0, 5.0),
    ) -> None:
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.service = service
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.connect_timeout, self.action_timeout = connect_timeout, action_timeout
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.reconcile_interval, self.boot_wait = reconcile_interval, boot_wait
        self.manager = _Manager(
            host=host,
            port=port,
            username=username,
            secret=secret,
            log=logging.getLogger("masking.ami.panoramisk"),
            forgetable_actions=("ping", "login", "originate", "logoff"),
        )
        self.manager.register_event("*", self._on_event)
        self.tracker = CallTracker(service, recording_delays=recording_delays) if service else None
        self.connections = 0  # successful logins so far
        self.last_error: str | None = None
        self._protocol: _Protocol | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._booted = asyncio.Event()
        self._stopped = asyncio.Event()
        self._fatal: AmiError | None = None
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._session_tasks: set[asyncio.Task[Any]] = set()
        self._inflight: set[asyncio.Future[Any]] = set()
        self._events: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._reconcile_lock = asyncio.Lock()
        self._originated: OrderedDict[str, None] = OrderedDict()  # bounded, newest last

    @classmethod
    def from_settings(
        cls, settings: Settings, service: MaskingService | None = None, **options: Any
    ) -> AmiClient:
        return cls(
            host=settings.ami_host,
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ami_secret,
            service=service,
            **options,
        )

    # ---- lifecycle --------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def originator(self) -> AmiOriginator:
        return AmiOriginator(self)

    async def start(self) -> None:
        """Start connecting in the background (returns at once)."""
        if self._supervisor is not None:
            return
        self.manager.loop = asyncio.get_running_loop()
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")
        if self.tracker is not None:
            self._worker = asyncio.create_task(self._work(), name="ami-events")

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for a logged-in connection; raises AmiLoginError or AmiNotConnected."""
        ready = asyncio.ensure_future(self._ready.wait())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({ready, stopped}, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            ready.cancel()
            stopped.cancel()
        if self._fatal is not None:
            raise self._fatal
        if not self._ready.is_set():
            raise AmiNotConnected(
                f"no AMI connection to {self.host}:{self.port}"
                + (f" ({self.last_error})" if self.last_error else "")
            )

    async def __aenter__(self) -> AmiClient:
        await self.start()
        try:
            await self.wait_connected(self.connect_timeout + 1.0)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_stopped(self) -> None:
        """Returns when the client stopped for good; raises its fatal error if any."""
        await self._stopped.wait()
        if self._fatal is not None:
            raise self._fatal

    async def close(self) -> None:
        self._closing = True
        self._drop_connection()
        for task in [self._supervisor, self._worker, *self._session_tasks]:
            if task is not None:
                task.cancel()
        for task in [self._supervisor, self._worker, *self._session_tasks]:
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        if self.tracker is not None:
            await self.tracker.close()
        self._fail_inflight("client closed")
        self._stopped.set()

    async def _supervise(self) -> None:
        delay = self.backoff_initial
        while not self._closing:
            try:
                await self._connect_once()
            except AmiLoginError as exc:
                self._fatal = exc
                self.last_error = str(exc)
                log.error("AMI login to %s:%s refused: %s", self.host, self.port, exc)
                self._drop_connection()
                self._stopped.set()
                return
            except (OSError, TimeoutError, AmiError) as exc:
                self.last_error = str(exc) or type(exc).__name__
                self._drop_connection()
                log.warning(
                    "AMI %s:%s unreachable (%s); retrying in %.1f s",
                    self.host,
                    self.port,
                    self.last_error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            started = time.monotonic()
            self._ready.set()
            log.info("AMI connected to %s:%s as %s", self.host, self.port, self.username)
            self._session(self._pinger())
            if self.tracker is not None:
                self._session(self._after_login())
            await self._lost.wait()
            self._ready.clear()
            for task in list(self._session_tasks):
                task.cancel()
            self._fail_inflight("AMI connection lost")
            if self._closing:
                return
            if time.monotonic() - started > 3 * self.backoff_max:
                delay = self.backoff_initial
            log.warning("AMI connection lost; reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    def _session(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._session_tasks.add(task)
        task.add_done_callback(self._session_tasks.discard)

    async def _connect_once(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()
        self._booted = asyncio.Event()
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(self), self.host, self.port),
            self.connect_timeout,
        )
        self._transport, self._protocol = transport, protocol
        self.manager.protocol = protocol
        self.manager.responses = protocol.responses
        self.manager._connected = True
        self.manager.loop = loop
        events = "system,call,user" if self.tracker is not None else "off"
        try:
            reply = await self.send_action(
                {
                    "Action": "Login",
                    "Username": self.username,
                    "Secret": self.secret,
                    "Events": events,
                },
                timeout=self.connect_timeout,
                require_ready=False,
            )
        except AmiActionError as exc:
            message = str(exc) or "authentication failed"
            if "auth" in message.lower() or "permission" in message.lower():
                raise AmiLoginError(message) from None
            # e.g. "Asterisk is shutting down" while it restarts: try again later
            raise AmiError(f"login not possible now: {message}") from None
        self.manager.authenticated = bool(reply.success)
        self.connections += 1

    def _drop_connection(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.abort()  # type: ignore[attr-defined]
        self._transport = None

    def _connection_lost(self, protocol: _Protocol, exc: Any) -> None:
        if protocol is not self._protocol:
            return
        self.manager._connected = False
        self._fail_inflight("AMI connection lost")
        self._ready.clear()
        self._lost.set()

    def _fail_inflight(self, why: str) -> None:
        for future in list(self._inflight):
            if not future.done():
                future.set_exception(AmiDisconnected(why))
        self._inflight.clear()
        _drop_awaiting(self.manager)

    # ---- actions ------------------------------------------------------------------------
    async def send_action(
        self,
        action: Mapping[str, Any],
        *,
        timeout: float | None = None,
        as_list: bool | None = None,
        require_ready: bool = True,
    ) -> Any:
        """Send one action, await its reply (a Message, or a list for event lists).

        Raises AmiNotConnected, AmiDisconnected (lost before the reply: not re-sent),
        TimeoutError, or AmiActionError for ``Response: Error``.
        """
        protocol = self._protocol
        if (require_ready and not self._ready.is_set()) or protocol is None or protocol.closed:
            raise AmiNotConnected(f"AMI {self.host}:{self.port} is not connected")
        act = Action(dict(action), as_list=as_list)
        future: asyncio.Future[Any] = self.manager.send_action(act, as_list=as_list)
        self._inflight.add(future)
        try:
            reply = await asyncio.wait_for(
                asyncio.shield(future), timeout if timeout is not None else self.action_timeout
            )
        except TimeoutError:
            protocol.responses.pop(act.id, None)
            protocol.responses.pop(act.action_id, None)
            if not future.done():
                future.cancel()
            raise
        finally:
            self._inflight.discard(future)
        first = reply[0] if isinstance(reply, list) else reply
        if _header(first, "Response").lower() in ("error", "fail", "failure"):
            raise AmiActionError(_header(first, "Message") or _output(first) or "error")
        return reply

    async def ping(self, timeout: float | None = None) -> None:
        await self.send_action({"Action": "Ping"}, timeout=timeout or self.ping_timeout)

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self.ping()
            except TimeoutError:
                log.warning("AMI ping: no reply within %.1f s; reconnecting", self.ping_timeout)
                self._drop_connection()
                return
            except AmiError:
                return

    async def command(self, cmd: str, *, timeout: float | None = None) -> str:
        """Run an Asterisk CLI command (Action: Command) and return its output text."""
        if "\r" in cmd or "\n" in cmd:
            raise ValueError("a CLI command is one line")
        try:
            reply = await self.send_action(
                {"Action": "Command", "Command": cmd}, timeout=timeout, as_list=False
            )
        except AmiActionError as exc:
            raise AmiActionError(f"{cmd}: {exc}") from None
        return _output(reply)

    async def reload_dialplan_and_confirm(self, contexts: list[str]) -> dict[str, bool]:
        """Reload pbx_config, then ask for each context (ShowDialPlan): True when it is live.

        Uses only the ``config`` write class (Reload, ShowDialPlan), not ``command``, so the
        least-privilege AMI user of dialplan/manager.sample.conf can do it.
        """
        for ctx in contexts:
            if not CONTEXT_RE.match(ctx):
                raise ValueError(f"bad context name {ctx!r}")
        await self.send_action({"Action": "Reload", "Module": "pbx_config"}, as_list=False)
        live: dict[str, bool] = {}
        for ctx in contexts:
            try:
                reply = await self.send_action({"Action": "ShowDialPlan", "Context": ctx})
            except AmiActionError:
                live[ctx] = False
                continue
            items = reply if isinstance(reply, list) else [reply]
            live[ctx] = any(
                _header(m, "Event") == "ListDialplan" and _header(m, "Context") == ctx
                for m in items
            )
        log.info("dialplan reloaded; contexts live: %s", live)
        return live

    # ---- events and reconciliation ----------------------------------------------------------
    def _on_event(self, _manager: Manager, event: Message) -> None:
        name = _header(event, "Event")
        if name == "FullyBooted":
            if self._booted.is_set() and self.tracker is not None:
                self._session(self.reconcile())  # Asterisk (re)booted under this session
            self._booted.set()
        if self.tracker is not None:
            self._events.put_nowait(event)

    async def _work(self) -> None:
        assert self.tracker is not None
        while True:
            event = await self._events.get()
            try:
                await self.tracker.handle(event)
            except Exception:
                log.exception("AMI event %s could not be applied", _header(event, "Event"))

    async def _after_login(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._booted.wait(), self.boot_wait)
        self._booted.set()
        while True:
            try:
                await self.reconcile()
            except AmiError as exc:
                log.warning("AMI reconcile failed: %s", exc)
            except TimeoutError:
                log.warning("AMI reconcile: Asterisk did not answer in time")
            except Exception:
                log.exception("AMI reconcile failed")
            await asyncio.sleep(self.reconcile_interval)

    async def live_channels(self) -> list[Message]:
        """CoreShowChannel events of every live channel."""
        reply = await self.send_action({"Action": "CoreShowChannels"})
        items = reply if isinstance(reply, list) else [reply]
        return [m for m in items if _header(m, "Event") == "CoreShowChannel"]

    async def getvar(self, channel: str, name: str) -> str | None:
        try:
            reply = await self.send_action(
                {"Action": "Getvar", "Channel": channel, "Variable": name}, as_list=False
            )
        except AmiActionError:
            return None  # the channel hung up meanwhile
        return _header(reply, "Value") or None

    async def reconcile(self) -> list[str]:
        """Close records whose calls Asterisk no longer has; returns the closed ids."""
        if self.service is None or self.tracker is None:
            return []
        async with self._reconcile_lock:
            now = self.service.clock()
            channels = await self.live_channels()
            alive_channels: set[str] = set()
            alive_ids: set[str] = set(self.tracker.originates.values())
            for ch in channels:
                for key in ("Uniqueid", "Linkedid"):
                    value = _header(ch, key)
                    if value:
                        alive_channels.add(value)
                        if CALL_ID_RE.match(value):
                            alive_ids.add(value)
            values = await asyncio.gather(
                *(self.getvar(_header(ch, "Channel"), variables.CALL_ID) for ch in channels),
                return_exceptions=True,
            )
            alive_ids.update(v for v in values if isinstance(v, str) and CALL_ID_RE.match(v))
            closed = await asyncio.to_thread(
                call_log.reconcile,
                self.service,
                alive_ids,
                now,
                alive_channel_ids=alive_channels,
            )
            for call_id in closed:
                self.tracker.forget(call_id)
            log.info(
                "AMI reconcile: %d live channels, %d live calls, %d records closed",
                len(channels),
                len(alive_ids),
                len(closed),
            )
            return closed


class AmiOriginator:
    """:class:`masking.calls_contract.Originator` over AMI: rings the staff phone once."""

    def __init__(self, client: AmiClient, *, ack_timeout: float = 10.0) -> None:
        self.client = client
        self.ack_timeout = ack_timeout

    async def originate_click2call(self, *, call_id: str, endpoint: str, label: str) -> None:
        """Send one Originate (Async, ChannelId = call id). Returns once Asterisk queued it;
        the outcome arrives as OriginateResponse. Raises ValueError on bad input,
        AmiNotConnected / AmiActionError (record closed as failed) or AmiDisconnected /
        TimeoutError (fate unknown: never re-sent; reconciliation settles the record)."""
        if not CALL_ID_RE.match(call_id or ""):
            raise ValueError("call id must be 32 lower-case hex characters")
        if not ENDPOINT_RE.match(endpoint or ""):
            raise ValueError(f"bad PJSIP endpoint name {endpoint[:64]!r}")
        client = self.client
        if call_id in client._originated:
            raise AmiError(f"click-to-call {call_id} was already originated")
        number = await self._callerid_number(call_id)
        action_id = f"masking-originate-{call_id}"
        action = {
            "Action": "Originate",
            "ActionID": action_id,
            "Channel": f"PJSIP/{endpoint}",
            "Context": CLICK2CALL_CONTEXT,
            "Exten": "s",
            "Priority": "1",
            "CallerID": f'"{sanitize_label(label)}" <{number}>',
            "Variable": f"{variables.CALL_ID}={call_id}",
            "ChannelId": call_id,
            "Async": "true",
            "Timeout": "30000",
        }
        if client.tracker is not None:
            client.tracker.originates[action_id] = call_id
        try:
            client._originated[call_id] = None
            while len(client._originated) > 10000:
                client._originated.popitem(last=False)
            await client.send_action(action, timeout=self.ack_timeout, as_list=False)
        except (AmiNotConnected, AmiActionError) as exc:
            log.error("click-to-call %s to %s: originate refused: %s", call_id, endpoint, exc)
            await self._fail(call_id, action_id)
            raise
        except (AmiDisconnected, TimeoutError):
            log.error(
                "click-to-call %s to %s: connection lost before Asterisk confirmed the "
                "Originate; not re-sending, reconciliation will settle the record",
                call_id,
                endpoint,
            )
            if client.tracker is not None:
                client.tracker.originates.pop(action_id, None)
            raise
        log.info("click-to-call %s: ringing staff endpoint %s", call_id, endpoint)

    async def _fail(self, call_id: str, action_id: str) -> None:
        tracker, service = self.client.tracker, self.client.service
        if tracker is not None:
            tracker.originates.pop(action_id, None)
        if service is not None:
            await asyncio.to_thread(
                call_log.mark_ended, service, call_id, service.clock(), Disposition.FAILED
            )

    async def _callerid_number(self, call_id: str) -> str:
        """The staff phone shows the temporary number (never the customer's)."""
        service = self.client.service
        if service is None:
            return ""

        def lookup() -> str:
            with service.db.session() as session:
                record = session.get(CallRecord, call_id)
                number = record.virtual_number if record else None
            return number if number and _CALLERID_NUM_RE.match(number) else ""

        return await asyncio.to_thread(lookup)
