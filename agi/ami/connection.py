"""One supervised AMI connection: login, ping deadline, backoff, actions, event delivery.

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

A connection given an :class:`AmiListener` and ``track_events`` subscribes to events and
hands them to it in batches, in arrival order: what arrived within ``batch_window``
seconds (at most ``batch_max`` events) goes in one call, so the listener can apply a
burst in one database transaction. It asks the listener to reconcile after every login
(once ``FullyBooted`` came or ``boot_wait`` passed), on a later ``FullyBooted``
(Asterisk restarted under the session) and every ``reconcile_interval`` seconds (every
``reconcile_retry`` seconds while reconciling fails). Events are lost while nobody
listens (no session, tracking off) and when the listener cannot apply them (its database
is down): the calls that ended meanwhile are closed only by reconciling, and a reconcile
leaves alone the records still too young to judge. So after every login, a later
``FullyBooted`` and a batch the listener could not apply, one more reconcile follows
``reconcile_followup`` seconds later, when those records are old enough: they are closed
within about that long after the fault, not a whole ``reconcile_interval`` later.

Events the listener does not want are dropped before they are parsed
(:meth:`AmiListener.ignores` sees the raw block). Asterisk is also asked not to send
them (``Action: Filter``); that action needs the ``system`` write class, which the
service's least-privilege user does not have, so a refusal is expected and harmless:
then ``eventfilter`` lines in manager.conf do the same job on Asterisk's side.

Tracking can be switched on and off on a live connection (:meth:`set_tracking`, the
``Events`` action; a refusal reconnects with the new event mask): only the elected leader
of a deployment tracks events, every worker keeps a connection for Originate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from masking import metrics

log = logging.getLogger("masking.ami")

CONTEXT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
# the AMI classes a tracking connection reads (the service user's "read" in manager.conf)
EVENT_MASK = "system,call,user"


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


class EventsNotApplied(AmiError):
    """The listener could not apply some events of a batch (its storage failed); what
    they would have done is left to reconciliation."""


def header(message: Mapping[str, Any], name: str) -> str:
    """One header of an AMI message as text (the last one where it repeats)."""
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


class AmiListener(Protocol):
    """What a connection feeds with Asterisk's events (the call tracker implements it)."""

    @property
    def event_filters(self) -> Sequence[str]:
        """``Filter`` values asking Asterisk to send only the events the listener wants."""
        ...

    def ignores(self, block: str) -> bool:
        """True for a raw event block (``Event: X\r\nKey: value...``) not worth parsing."""
        ...

    async def handle_batch(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Events in arrival order; an exception is logged, a follow-up reconcile is
        asked for (:class:`EventsNotApplied`: some could not be applied) and the next
        batch follows."""
        ...

    async def reconcile(self, ami: AmiConnection) -> object:
        """Bring what the listener keeps in line with what Asterisk has now."""
        ...

    async def close(self) -> None:
        """The connection is closing for good: stop any work of the listener's own."""
        ...


# ---- panoramisk plumbing ---------------------------------------------------------------
class _Protocol(AMIProtocol):
    """panoramisk's protocol, wired to our manager before any byte arrives."""

    def __init__(self, connection: AmiConnection) -> None:
        super().__init__()
        self._connection = connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        manager = self._connection.manager
        self.factory = manager
        self.log = manager.log
        self.config = manager.config
        self.encoding = manager.encoding

    def data_received(self, data: bytes) -> None:
        listener = self._connection.listener
        if listener is None or self.version is None:
            super().data_received(data)
            return
        # panoramisk's framing, with events nobody wants dropped before they are parsed
        text = data.decode(self.encoding, "ignore")
        if self.queue:
            text = self.queue.popleft() + text
        blocks = text.split("\r\n\r\n")
        self.queue.append(blocks.pop(-1))
        for block in blocks:
            block = block.strip()
            if (
                block.startswith("Event: ")
                # items of a list this connection asked for (CoreShowChannel...) carry
                # its ActionID: never the listener's to drop
                and "\r\nActionID: " not in block
                and listener.ignores(block)
            ):
                continue
            message = Message.from_line(block)
            if message is not None:
                self.handle_message(message)

    def connection_lost(self, exc: Any) -> None:
        # also called by panoramisk itself on "Event: Shutdown"
        if not self.closed:
            self.close()
            self._connection._connection_lost(self, exc)


class _Manager(Manager):
    """panoramisk's Manager without its own reconnect, ping and re-send of actions."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.encoding = self.config["encoding"]

    def ping(self) -> None:  # pragma: no cover - replaced by AmiConnection._pinger
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


# ---- the connection ---------------------------------------------------------------------
class AmiConnection:
    """One supervised AMI connection: login, ping deadline, backoff, actions, events.

    Without a ``listener`` it subscribes to no events (a command-only connection, e.g.
    for ``masking dialplan reload``); with one but ``track_events`` False it subscribes to
    none either until :meth:`set_tracking` turns tracking on. Use ``async with`` for
    one-shot work, or :meth:`start` / :meth:`close` in a long-running service.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str,
        secret: str,
        listener: AmiListener | None = None,
        track_events: bool = True,
        asterisk: str = "",
        batch_window: float = 0.02,
        batch_max: int = 500,
        ping_interval: float = 10.0,
        ping_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        action_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        reconcile_interval: float = 60.0,
        reconcile_followup: float = 31.0,
        reconcile_retry: float = 5.0,
        boot_wait: float = 2.0,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.listener = listener
        self._tracking = listener is not None and track_events
        self.asterisk = asterisk  # its name (systemname), for the metrics; "" with one
        self.batch_window, self.batch_max = batch_window, batch_max
        self.batches = 0  # batches handed to the listener so far
        self.filters_accepted: bool | None = None  # the last Filter action's fate
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.connect_timeout, self.action_timeout = connect_timeout, action_timeout
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.reconcile_interval, self.boot_wait = reconcile_interval, boot_wait
        self.reconcile_followup, self.reconcile_retry = reconcile_followup, reconcile_retry
        self.reconciles = 0  # reconciles that completed
        # loop times of the follow-up reconciles asked for (reconcile_later)
        self._followups: list[float] = []
        self._reconcile_wake = asyncio.Event()
        self.manager = _Manager(
            host=host,
            port=port,
            username=username,
            secret=secret,
            log=logging.getLogger("masking.ami.panoramisk"),
            forgetable_actions=("ping", "login", "originate", "logoff"),
        )
        self.manager.register_event("*", self._on_event)
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
        self._tracker_task: asyncio.Task[None] | None = None

    # ---- lifecycle --------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def tracking(self) -> bool:
        """Events are subscribed to and handed to the listener."""
        return self._tracking

    async def start(self) -> None:
        """Start connecting in the background (returns at once)."""
        if self._supervisor is not None:
            return
        self.manager.loop = asyncio.get_running_loop()
        metrics.ami_connected(False)
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")
        if self.listener is not None:
            self._worker = asyncio.create_task(self._work(self.listener), name="ami-events")

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

    async def __aenter__(self) -> Self:
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
        if self.listener is not None:
            await self.listener.close()
        self._fail_inflight("client closed")
        if self._supervisor is not None:
            metrics.ami_connected(False)
            metrics.ami_tracking(False, self.asterisk)
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
            metrics.ami_connected(True)
            log.info("AMI connected to %s:%s as %s", self.host, self.port, self.username)
            self._session(self._pinger())
            if self._tracking:
                self._start_tracking()
            await self._lost.wait()
            self._ready.clear()
            metrics.ami_connected(False)
            metrics.ami_tracking(False, self.asterisk)
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
        events = EVENT_MASK if self._tracking else "off"
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
        if header(first, "Response").lower() in ("error", "fail", "failure"):
            raise AmiActionError(header(first, "Message") or _output(first) or "error")
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
        """``dialplan reload``, then ask for each context (ShowDialPlan): True when it is live.

        Needs the ``command`` and ``reporting`` write classes: the separate reload user of
        dialplan/manager.sample.conf, never the service's (the ``Reload`` action would need
        ``config`` or ``system``, which reach further: UpdateConfig, module loading).
        """
        for ctx in contexts:
            if not CONTEXT_RE.match(ctx):
                raise ValueError(f"bad context name {ctx!r}")
        await self.command("dialplan reload")
        live: dict[str, bool] = {}
        for ctx in contexts:
            try:
                reply = await self.send_action({"Action": "ShowDialPlan", "Context": ctx})
            except AmiActionError:
                live[ctx] = False
                continue
            items = reply if isinstance(reply, list) else [reply]
            live[ctx] = any(
                header(m, "Event") == "ListDialplan" and header(m, "Context") == ctx for m in items
            )
        log.info("dialplan reloaded; contexts live: %s", live)
        return live

    async def live_channels(self) -> list[Message]:
        """CoreShowChannel events of every live channel."""
        reply = await self.send_action({"Action": "CoreShowChannels"})
        items = reply if isinstance(reply, list) else [reply]
        return [m for m in items if header(m, "Event") == "CoreShowChannel"]

    async def getvar(self, channel: str, name: str) -> str | None:
        try:
            reply = await self.send_action(
                {"Action": "Getvar", "Channel": channel, "Variable": name}, as_list=False
            )
        except AmiActionError:
            return None  # the channel hung up meanwhile
        return header(reply, "Value") or None

    # ---- events and reconciliation ----------------------------------------------------------
    def _on_event(self, _manager: Manager, event: Message) -> None:
        name = header(event, "Event")
        if name == "FullyBooted":
            if self._booted.is_set() and self._tracking and self.listener is not None:
                # Asterisk (re)booted under this session: its calls are gone
                self.reconcile_later(now=True)
            self._booted.set()
        if self._tracking:
            self._events.put_nowait(event)

    async def _work(self, listener: AmiListener) -> None:
        while True:
            batch = [await self._events.get()]
            # a burst goes in one batch: wait a little for the rest of it
            deadline = asyncio.get_running_loop().time() + self.batch_window
            while len(batch) < self.batch_max:
                if self._events.empty():
                    left = deadline - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        batch.append(await asyncio.wait_for(self._events.get(), left))
                    continue
                batch.append(self._events.get_nowait())
            self.batches += 1
            try:
                await listener.handle_batch(batch)
            except EventsNotApplied as exc:
                log.warning("AMI: %s; reconciling later", exc)
                self.reconcile_later()
            except Exception:
                log.exception("AMI: a batch of %d events could not be applied", len(batch))
                self.reconcile_later()

    # ---- tracking on and off ------------------------------------------------------------
    async def set_tracking(self, on: bool) -> None:
        """Subscribe to events (``on``) and reconcile, or stop both. On a live connection
        the ``Events`` action switches the event mask; when Asterisk refuses it the
        connection is reopened and logs in with the new mask."""
        if self.listener is None or on == self._tracking:
            return
        self._tracking = on
        if not on:
            self._stop_tracking()
        if not self._ready.is_set():
            return  # the next login uses the new mask
        try:
            await self.send_action({"Action": "Events", "EventMask": EVENT_MASK if on else "off"})
        except (AmiError, TimeoutError) as exc:
            log.info("AMI: event mask not switched in place (%s); reconnecting", exc)
            self._drop_connection()
            return
        if on:
            self._start_tracking()
        log.info("AMI: event tracking %s", "on" if on else "off")

    def _start_tracking(self) -> None:
        if self.listener is None:
            return
        if self._tracker_task is not None:
            self._tracker_task.cancel()
        task = asyncio.ensure_future(self._after_login(self.listener))
        self._tracker_task = task
        metrics.ami_tracking(True, self.asterisk)
        self._session_tasks.add(task)
        task.add_done_callback(self._session_tasks.discard)

    def _stop_tracking(self) -> None:
        task, self._tracker_task = self._tracker_task, None
        metrics.ami_tracking(False, self.asterisk)
        if task is not None:
            task.cancel()
        while not self._events.empty():
            self._events.get_nowait()

    async def _add_filters(self, listener: AmiListener) -> None:
        """Ask Asterisk to send only the wanted events (best effort: see the module doc)."""
        accepted = True
        for value in listener.event_filters:
            try:
                await self.send_action({"Action": "Filter", "Operation": "Add", "Filter": value})
            except AmiActionError as exc:
                accepted = False
                if self.filters_accepted is not False:
                    log.info(
                        "AMI: Asterisk refused the Filter action (%s); manager.conf "
                        "eventfilter lines should keep unrelated events away",
                        exc,
                    )
                break
        self.filters_accepted = accepted

    async def _after_login(self, listener: AmiListener) -> None:
        with contextlib.suppress(AmiError, TimeoutError):
            await self._add_filters(listener)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._booted.wait(), self.boot_wait)
        self._booted.set()
        # the events of calls that ended while nobody listened are lost: reconcile now,
        # and again once the records too young for this first one are old enough
        self._followups = []
        self.reconcile_later()
        while True:
            reconciled = await self._reconcile_once(listener)
            await self._until_next_reconcile(reconciled)

    def reconcile_later(self, *, now: bool = False) -> None:
        """Events may have been lost just now: reconcile ``reconcile_followup`` seconds
        from now (and at once too with ``now``)."""
        at = asyncio.get_running_loop().time()
        self._followups.append(at + self.reconcile_followup)
        if now:
            self._followups.append(at)
        self._reconcile_wake.set()

    async def _reconcile_once(self, listener: AmiListener) -> bool:
        try:
            await listener.reconcile(self)
        except AmiError as exc:
            log.warning("AMI reconcile failed: %s", exc)
        except TimeoutError:
            log.warning("AMI reconcile: Asterisk did not answer in time")
        except Exception:
            log.exception("AMI reconcile failed")
        else:
            self.reconciles += 1
            return True
        return False

    async def _until_next_reconcile(self, reconciled: bool) -> None:
        """Sleep until the next periodic reconcile or the first follow-up asked for,
        whichever comes first (a reconcile covers every follow-up due before it)."""
        loop = asyncio.get_running_loop()
        ran_at = loop.time()
        self._followups = [t for t in self._followups if t > ran_at]
        periodic = ran_at + (self.reconcile_interval if reconciled else self.reconcile_retry)
        while True:
            left = min([periodic, *self._followups]) - loop.time()
            if left <= 0:
                return
            self._reconcile_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reconcile_wake.wait(), left)
