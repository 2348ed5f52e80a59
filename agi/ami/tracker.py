"""Call records kept true from AMI events, and reconciled with Asterisk's live channels.

How events find their call record: the calling channel's uniqueid is stored on the record
by the AGI route (``CallRecord.channel_id``) and every other leg shares its ``Linkedid``;
a click-to-call staff leg is originated with ``ChannelId`` = the call id, so its uniqueid
and linkedid *are* the call id. An optional ``UserEvent(MaskingCall,CallId: <id>)`` from
the dialplan teaches the mapping without a database lookup.

A hotline call is queued (app_queue): the queue member that answers is named by the
caller's ``DialEnd`` (``DialStatus: ANSWER``, ``DestChannel: PJSIP/<endpoint>-...``),
and :func:`masking.hotline.contacts.agent_answered` pops the contact on that agent's
console. (``AgentConnect`` says the same, but it is of the AMI class ``agent``, which the
service's least-privilege user does not read; ``DialEnd`` is of class ``call``.)

Reconciliation (after every login, on ``FullyBooted`` and periodically, see
:class:`agi.ami.connection.AmiConnection`) closes the records whose calls Asterisk no
longer has (``CoreShowChannels`` + ``Getvar MASKING_CALL_ID``), and marks answered the
calls it shows bridged that were not seen answered (their events came before this login:
a leader that took over mid-call).

Keeping up with a busy Asterisk: events come in batches (a burst within a few tens of
milliseconds). A batch costs at most one query to map the channels it has not seen yet
to their calls and one transaction for all its record updates
(:func:`masking.calls.call_log.apply_updates`), whatever its size; per call, updates
keep the events' order. Events of calls that are not ours are dropped before they are
parsed (:meth:`CallTracker.ignores`: an event name the tracker has no use for, or a
linked id already looked up and not found), and Asterisk is asked not to send the
event names the tracker does not use (:attr:`CallTracker.event_filters`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agi import variables
from agi.ami.connection import AmiConnection, EventsNotApplied, header
from masking.calls import call_log
from masking.calls.call_log import Update, UpdateKind
from masking.hotline import contacts
from masking.service import MaskingService
from masking.shapes import is_call_id
from masking.states import Disposition

log = logging.getLogger("masking.ami")

# OriginateResponse "Reason": the last control frame Asterisk saw on the staff leg.
_ORIGINATE_REASONS = {
    "1": Disposition.NO_ANSWER,  # hung up / rejected while ringing
    "3": Disposition.NO_ANSWER,  # still ringing when Timeout passed
    "5": Disposition.BUSY,
    "8": Disposition.FAILED,  # congestion
    "0": Disposition.FAILED,  # could not create the channel
}
ORIGINATE_ACTION_PREFIX = "masking-originate-"
# a dialed PJSIP channel: PJSIP/<endpoint>-<8 hex digits>
_PJSIP_CHANNEL = re.compile(r"^PJSIP/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})-[0-9a-f]{8}$")
# events of a call's channels: mapped to a call by Uniqueid / Linkedid
CALL_EVENTS = frozenset({"DialBegin", "DialEnd", "BridgeEnter", "BridgeLeave", "Hangup"})
# everything the tracker reads (FullyBooted and Shutdown: the connection's own use)
WANTED_EVENTS = CALL_EVENTS | {"UserEvent", "OriginateResponse", "FullyBooted", "Shutdown"}
# unanswered events of an unknown linked id are not looked up again for this long
UNKNOWN_FOR = 60.0


def _field(block: str, name: str) -> str:
    """One header of a raw event block, without parsing the block."""
    marker = f"\r\n{name}: "
    start = block.find(marker)
    if start < 0:
        return ""
    start += len(marker)
    end = block.find("\r\n", start)
    return block[start:] if end < 0 else block[start:end]


@dataclass
class _Call:
    call_id: str
    channel_id: str | None = None  # the calling channel's uniqueid
    dial_status: str | None = None
    answered: bool = False
    originate_confirmed: bool = False  # OriginateResponse Success seen for its staff leg
    bridge_since: float | None = None
    bridged: float = 0.0
    ended: bool = False


@dataclass
class _Batch:
    """What one batch of events asks of the database, and what follows its commit."""

    updates: list[Update]
    agent_answers: list[tuple[Update, str, str]]  # (answered update, linked id, endpoint)
    ended: list[str]


class CallTracker:
    """Turns AMI events into :mod:`masking.calls.call_log` updates, in arrival order.

    Database work runs in a thread so the event loop keeps reading the socket.
    Implements :class:`agi.ami.connection.AmiListener`.
    """

    event_filters = ("^Event: (" + "|".join(sorted(WANTED_EVENTS)) + ")[^A-Za-z]",)

    def __init__(
        self,
        service: MaskingService,
        *,
        recording_delays: Iterable[float] = (1.0, 5.0),
        monotonic: Callable[[], float] = time.monotonic,
        asterisk: str | None = None,
    ) -> None:
        self.service = service
        # the name (systemname) of the Asterisk whose events come here, when several are
        # active at once: reconciliation then settles its records only
        self.asterisk = asterisk or None
        self.recording_delays = tuple(recording_delays)
        self.monotonic = monotonic
        self._by_channel: OrderedDict[str, str] = OrderedDict()
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._unknown: dict[str, float] = {}
        self._originates: dict[str, str] = {}  # ActionID -> call id, until OriginateResponse
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconcile_lock = asyncio.Lock()
        self.lookups = 0  # queries mapping channels to calls
        self.writes = 0  # transactions applying updates
        self.skipped = 0  # events dropped before parsing

    # ---- mapping --------------------------------------------------------------------
    def learn(self, call_id: str, *channel_ids: str, calling: str | None = None) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call(call_id)
            while len(self._calls) > 50_000:
                self._calls.popitem(last=False)
        if calling and not call.channel_id:
            call.channel_id = calling
        for channel in channel_ids:
            if channel:
                self._by_channel[channel] = call_id
                self._unknown.pop(channel, None)
        while len(self._by_channel) > 200_000:
            self._by_channel.popitem(last=False)
        return call

    def forget(self, call_id: str) -> None:
        """The call is over: later events of its channels are ignored (it stays known,
        ended, until newer calls push it out)."""
        call = self._calls.get(call_id)
        if call is not None:
            call.ended = True

    def expect_originate(self, action_id: str, call_id: str) -> None:
        """An Originate for ``call_id`` is about to be sent: its OriginateResponse (not the
        staff leg's hangup) tells how the staff phone answered."""
        self._originates[action_id] = call_id

    def forget_originate(self, action_id: str) -> None:
        """No OriginateResponse will come for this Originate (refused or fate unknown)."""
        self._originates.pop(action_id, None)

    def _known(self, uniqueid: str, linkedid: str) -> _Call | None:
        for channel in (uniqueid, linkedid):
            call_id = self._by_channel.get(channel) if channel else None
            if call_id is not None:
                call = self._calls.get(call_id) or self.learn(call_id)
                self.learn(call_id, uniqueid, linkedid)
                return call
        return None

    async def _look_up(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Map the channels of ``events`` not seen yet to their calls: one query."""
        now = self.monotonic()
        pairs: list[tuple[str, str]] = []
        for event in events:
            if header(event, "Event") not in CALL_EVENTS:
                continue
            uniqueid, linkedid = header(event, "Uniqueid"), header(event, "Linkedid")
            key = linkedid or uniqueid
            if not key or self._unknown.get(key, 0.0) > now:
                continue
            if uniqueid in self._by_channel or linkedid in self._by_channel:
                continue
            pairs.append((uniqueid, linkedid))
        if not pairs:
            return
        self.lookups += 1
        ids = [channel for pair in pairs for channel in pair if channel]
        found = await asyncio.to_thread(call_log.find_calls, self.service, ids)
        for uniqueid, linkedid in pairs:
            match = found.get(uniqueid) or found.get(linkedid)
            if match is None:
                self._unknown[linkedid or uniqueid] = now + UNKNOWN_FOR
                continue
            call_id, calling = match
            self.learn(call_id, uniqueid, linkedid, calling=calling or call_id)
        if len(self._unknown) > 20000:
            self._unknown = {k: t for k, t in self._unknown.items() if t > now}

    # ---- events ---------------------------------------------------------------------
    def ignores(self, block: str) -> bool:
        """A raw event nobody here needs: a name the tracker does not handle, a user event
        not from the masking dialplan, or a call event of a linked id known not to be
        ours. Decided on the raw text, before the event is parsed."""
        end = block.find("\r\n")
        name = block[7:end] if end > 0 else block[7:]  # after "Event: "
        if name not in WANTED_EVENTS:
            self.skipped += 1
            return True
        if name == "UserEvent" and "\r\nUserEvent: Masking" not in block:
            self.skipped += 1
            return True
        if name in CALL_EVENTS and self._unknown:
            linkedid = _field(block, "Linkedid")
            if (
                linkedid
                and self._unknown.get(linkedid, 0.0) > self.monotonic()
                and _field(block, "Uniqueid") not in self._by_channel
            ):
                self.skipped += 1
                return True
        return False

    async def handle(self, event: Mapping[str, Any]) -> None:
        await self.handle_batch([event])

    async def handle_batch(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Apply a batch of events in order: one look-up of the channels not seen yet,
        then the in-memory state event by event, then one transaction for the records."""
        await self._look_up(events)
        batch = _Batch([], [], [])
        for event in events:
            name = header(event, "Event")
            handler = getattr(self, f"_on_{name.lower()}", None)
            if handler is None:
                continue
            try:
                handler(event, batch)
            except Exception:
                log.exception("AMI event %s could not be applied", name)
        if batch.updates:
            applied, failed = await asyncio.to_thread(self._write, batch.updates)
            await self._after_write(batch, applied)
            if failed:
                raise EventsNotApplied(f"{failed} of {len(batch.updates)} record updates failed")

    def _write(self, updates: list[Update]) -> tuple[call_log.Applied, int]:
        """Apply the updates: together, else one by one. Returns what was applied and
        how many updates failed."""
        self.writes += 1
        try:
            return call_log.apply_updates(self.service, updates), 0
        except Exception:
            log.exception("AMI: %d updates failed together; applying them one by one", len(updates))
        applied = call_log.Applied()
        failed = 0
        for update in updates:
            try:
                one = call_log.apply_updates(self.service, [update])
            except Exception:
                log.exception("call %s: %s update failed", update.call_id, update.kind)
                applied.changed.append(False)
                failed += 1
                continue
            applied.changed.extend(one.changed)
            applied.hotline_calls |= one.hotline_calls
        return applied, failed

    async def _after_write(self, batch: _Batch, applied: call_log.Applied) -> None:
        for update, linked_id, endpoint in batch.agent_answers:
            if update.call_id in applied.hotline_calls:
                await self._agent_answered(update, linked_id, endpoint)
        for call_id in batch.ended:
            self.attach_later(call_id)

    async def _agent_answered(self, update: Update, linked_id: str, endpoint: str) -> None:
        """Whose phone answered a hotline call (a queue member): its contact pops on that
        agent's console."""
        try:
            await asyncio.to_thread(
                contacts.agent_answered,
                self.service,
                call_id=update.call_id,
                linked_id=linked_id or None,
                agent_endpoint=endpoint,
                at=update.at or self.service.clock(),
            )
        except Exception:
            log.exception("hotline call %s: the answering agent was not recorded", update.call_id)

    def _on_userevent(self, event: Mapping[str, Any], batch: _Batch) -> None:
        kind = header(event, "UserEvent")
        if kind == "MaskingRecordingFailed":
            failed = header(event, "CallID").strip()
            if is_call_id(failed):
                batch.updates.append(Update(UpdateKind.RECORDING_FAILED, failed))
            return
        if kind != "MaskingCall":
            return
        call_id = header(event, "CallId").strip()
        if not is_call_id(call_id):
            log.warning("UserEvent MaskingCall without a valid CallId")
            return
        uniqueid, linkedid = header(event, "Uniqueid"), header(event, "Linkedid")
        self.learn(call_id, uniqueid, linkedid, calling=uniqueid)
        batch.updates.append(
            Update(UpdateKind.CHANNEL, call_id, channel_id=uniqueid, linked_id=linkedid)
        )

    def _on_dialbegin(self, event: Mapping[str, Any], batch: _Batch) -> None:
        uniqueid = header(event, "Uniqueid")
        if not uniqueid:  # an Originate's own leg: no caller
            return
        call = self._known(uniqueid, header(event, "Linkedid"))
        if call is not None and not call.ended:
            self.learn(call.call_id, header(event, "DestUniqueid"))

    def _on_dialend(self, event: Mapping[str, Any], batch: _Batch) -> None:
        uniqueid = header(event, "Uniqueid")
        if not uniqueid:  # the Originate leg itself; OriginateResponse reports it
            return
        call = self._known(uniqueid, header(event, "Linkedid"))
        if call is None or call.ended:
            return
        status = header(event, "DialStatus").upper()
        if status == "ANSWER":
            call.answered = True
            call.dial_status = status
            answered = Update(UpdateKind.ANSWERED, call.call_id, at=self.service.clock())
            batch.updates.append(answered)
            match = _PJSIP_CHANNEL.match(header(event, "DestChannel"))
            if match is not None:
                # a hotline call's queue member (AgentConnect says the same, but it is of
                # the "agent" class, which the service's user does not read)
                batch.agent_answers.append((answered, header(event, "Linkedid"), match[1]))
        elif not call.answered and status:
            call.dial_status = status

    def _on_bridgeenter(self, event: Mapping[str, Any], batch: _Batch) -> None:
        call = self._known(header(event, "Uniqueid"), header(event, "Linkedid"))
        if call is None or call.ended:
            return
        try:
            members = int(header(event, "BridgeNumChannels") or "0")
        except ValueError:
            members = 0
        if members >= 2 and call.bridge_since is None:
            call.bridge_since = self.monotonic()
            call.answered = True
            batch.updates.append(Update(UpdateKind.ANSWERED, call.call_id, at=self.service.clock()))

    def _on_bridgeleave(self, event: Mapping[str, Any], batch: _Batch) -> None:
        call = self._known(header(event, "Uniqueid"), header(event, "Linkedid"))
        if call is not None:
            self._close_bridge(call)

    def _close_bridge(self, call: _Call) -> None:
        if call.bridge_since is not None:
            call.bridged += self.monotonic() - call.bridge_since
            call.bridge_since = None

    def _on_hangup(self, event: Mapping[str, Any], batch: _Batch) -> None:
        uniqueid, linkedid = header(event, "Uniqueid"), header(event, "Linkedid")
        call = self._known(uniqueid, linkedid)
        if call is None or call.ended:
            return
        calling = call.channel_id or linkedid
        if uniqueid != calling and uniqueid != call.call_id:
            return  # another leg; the calling channel's hangup ends the call
        if not call.answered and self._awaits_originate_response(call, uniqueid):
            return  # a staff leg that never answered: OriginateResponse says why
        try:
            cause: int | None = int(header(event, "Cause"))
        except ValueError:
            cause = None
        self._close_bridge(call)
        # bridged time seen here; None lets mark_ended derive it from answered_at
        bridged = round(call.bridged) if call.bridged else None
        batch.updates.append(
            Update(
                UpdateKind.ENDED,
                call.call_id,
                at=self.service.clock(),
                hangup_cause=cause,
                bridged_seconds=bridged,
                dial_status=call.dial_status,
            )
        )
        batch.ended.append(call.call_id)
        self.forget(call.call_id)

    def _awaits_originate_response(self, call: _Call, uniqueid: str) -> bool:
        """A click-to-call staff leg (its uniqueid is the call id) whose Originate is not
        confirmed yet: sent by this process and unanswered, or sent by another worker
        (this leader saw no OriginateResponse Success for it)."""
        if call.call_id in self._originates.values():
            return True
        return uniqueid == call.call_id and not call.originate_confirmed

    def _on_originateresponse(self, event: Mapping[str, Any], batch: _Batch) -> None:
        action_id = header(event, "ActionID")
        uniqueid = header(event, "Uniqueid")
        call_id = self._originates.pop(action_id, None)
        if call_id is None and action_id.startswith(ORIGINATE_ACTION_PREFIX):
            # sent by another worker of this deployment
            candidate = action_id.removeprefix(ORIGINATE_ACTION_PREFIX)
            call_id = candidate if is_call_id(candidate) else None
        if call_id is None and is_call_id(uniqueid):
            call_id = uniqueid
        if call_id is None:
            return
        if header(event, "Response").lower() == "success":
            call = self.learn(call_id, uniqueid, calling=uniqueid or call_id)
            call.originate_confirmed = True
            log.info("click-to-call %s: staff phone answered", call_id)
            return
        reason = header(event, "Reason")
        disposition = _ORIGINATE_REASONS.get(reason, Disposition.FAILED)
        log.info("click-to-call %s: staff phone %s (reason %s)", call_id, disposition, reason)
        batch.updates.append(
            Update(UpdateKind.ENDED, call_id, at=self.service.clock(), disposition=disposition)
        )
        self.learn(call_id, call_id)
        self.forget(call_id)

    # ---- reconciliation -----------------------------------------------------------------
    async def reconcile(self, ami: AmiConnection) -> list[str]:
        """Close records whose calls Asterisk no longer has; returns the closed ids."""
        async with self._reconcile_lock:
            asterisks = await self._own_asterisks(ami)
            if asterisks is None:
                return []
            now = self.service.clock()
            channels = await ami.live_channels()
            alive_channels: set[str] = set()
            alive_ids: set[str] = set(self._originates.values())
            for ch in channels:
                for key in ("Uniqueid", "Linkedid"):
                    value = header(ch, key)
                    if value:
                        alive_channels.add(value)
                        if is_call_id(value):
                            alive_ids.add(value)
            values = await asyncio.gather(
                *(ami.getvar(header(ch, "Channel"), variables.CALL_ID) for ch in channels),
                return_exceptions=True,
            )
            alive_ids.update(v for v in values if isinstance(v, str) and is_call_id(v))
            await self._answered_meanwhile(
                ami,
                {
                    value
                    for channel, value in zip(channels, values, strict=True)
                    if isinstance(value, str) and is_call_id(value) and header(channel, "BridgeId")
                },
            )
            closed = await asyncio.to_thread(
                call_log.reconcile,
                self.service,
                alive_ids,
                now,
                alive_channel_ids=alive_channels,
                asterisks=asterisks,
            )
            for call_id in closed:
                self.forget(call_id)
            log.info(
                "AMI reconcile: %d live channels, %d live calls, %d records closed",
                len(channels),
                len(alive_ids),
                len(closed),
            )
            return closed

    async def _own_asterisks(self, ami: AmiConnection) -> set[str | None] | None:
        """Whose records this Asterisk's live channels speak for (see
        :func:`masking.calls.call_log.reconcile`), from the systemname it reports: named
        (MASKING_ASTERISK_NAME), the records of that name, and nothing at all (None) while
        the Asterisk at the other end says another name (a wrong MASKING_AMI_HOST would
        make every live call of the named one look gone); unnamed (one Asterisk per
        deployment), the records of no Asterisk and of its systemname. Asked at every
        reconciliation: an address may move."""
        reply = await ami.send_action({"Action": "CoreSettings"}, as_list=False)
        systemname = header(reply, "SystemName")
        if self.asterisk is None:
            return {None, systemname} if systemname else {None}
        if systemname != self.asterisk:
            log.error(
                "AMI reconcile skipped: MASKING_ASTERISK_NAME is %r but the Asterisk at "
                "%s:%s says its systemname is %r; no record is closed until they agree",
                self.asterisk,
                ami.host,
                ami.port,
                systemname[:40],
            )
            return None
        return {self.asterisk}

    async def _answered_meanwhile(self, ami: AmiConnection, bridged: set[str]) -> None:
        """Calls whose channels Asterisk shows in a bridge, not seen answered here: their
        earlier events came before this login (a leader that took over mid-call, a
        reconnect). They were answered; the time is now, when it was learnt."""
        updates: list[Update] = []
        for call_id in sorted(bridged):
            call = self.learn(call_id)
            if call.answered or call.ended:
                continue
            call.answered = True
            call.bridge_since = self.monotonic()
            updates.append(Update(UpdateKind.ANSWERED, call_id, at=self.service.clock()))
        if not updates:
            return
        log.info("AMI reconcile: %d call(s) found bridged, answered", len(updates))
        _applied, failed = await asyncio.to_thread(self._write, updates)
        if failed:
            # not stored: forget what was learnt, the next reconcile finds them bridged again
            for update in updates:
                self.learn(update.call_id).answered = False
            log.warning("AMI: %d answered call(s) not stored; reconciling later", failed)
            ami.reconcile_later()

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
