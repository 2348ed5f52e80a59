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
longer has (``CoreShowChannels`` + ``Getvar MASKING_CALL_ID``).
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

from agi import variables
from agi.ami.connection import AmiConnection, header
from masking.calls import call_log
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
# a dialed PJSIP channel: PJSIP/<endpoint>-<8 hex digits>
_PJSIP_CHANNEL = re.compile(r"^PJSIP/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})-[0-9a-f]{8}$")


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
    """Turns AMI events into :mod:`masking.calls.call_log` updates, in arrival order.

    Database work runs in a thread so the event loop keeps reading the socket.
    Implements :class:`agi.ami.connection.AmiListener`.
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
        self._originates: dict[str, str] = {}  # ActionID -> call id, until OriginateResponse
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconcile_lock = asyncio.Lock()

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

    def expect_originate(self, action_id: str, call_id: str) -> None:
        """An Originate for ``call_id`` is about to be sent: its OriginateResponse (not the
        staff leg's hangup) tells how the staff phone answered."""
        self._originates[action_id] = call_id

    def forget_originate(self, action_id: str) -> None:
        """No OriginateResponse will come for this Originate (refused or fate unknown)."""
        self._originates.pop(action_id, None)

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
        name = header(event, "Event")
        handler = getattr(self, f"_on_{name.lower()}", None)
        if handler is not None:
            await handler(event)

    async def _on_userevent(self, event: Mapping[str, Any]) -> None:
        kind = header(event, "UserEvent")
        if kind == "MaskingRecordingFailed":
            failed = header(event, "CallID").strip()
            if is_call_id(failed):
                await asyncio.to_thread(call_log.mark_recording_failed, self.service, failed)
            return
        if kind != "MaskingCall":
            return
        call_id = header(event, "CallId").strip()
        if not is_call_id(call_id):
            log.warning("UserEvent MaskingCall without a valid CallId")
            return
        uniqueid, linkedid = header(event, "Uniqueid"), header(event, "Linkedid")
        self.learn(call_id, uniqueid, linkedid, calling=uniqueid)
        await asyncio.to_thread(
            call_log.set_channel, self.service, call_id, channel_id=uniqueid, linked_id=linkedid
        )

    async def _on_dialbegin(self, event: Mapping[str, Any]) -> None:
        uniqueid = header(event, "Uniqueid")
        if not uniqueid:  # an Originate's own leg: no caller
            return
        call = await self._resolve(uniqueid, header(event, "Linkedid"))
        if call is not None:
            self.learn(call.call_id, header(event, "DestUniqueid"))

    async def _on_dialend(self, event: Mapping[str, Any]) -> None:
        uniqueid = header(event, "Uniqueid")
        if not uniqueid:  # the Originate leg itself; OriginateResponse reports it
            return
        call = await self._resolve(uniqueid, header(event, "Linkedid"))
        if call is None or call.ended:
            return
        status = header(event, "DialStatus").upper()
        if status == "ANSWER":
            call.answered = True
            call.dial_status = status
            await asyncio.to_thread(
                call_log.mark_answered, self.service, call.call_id, self.service.clock()
            )
            await self._agent_answered(call, event)
        elif not call.answered and status:
            call.dial_status = status

    async def _agent_answered(self, call: _Call, event: Mapping[str, Any]) -> None:
        """Whose phone answered: for a hotline call (a queue member) its contact pops on
        that agent's console; for any other call nothing happens."""
        match = _PJSIP_CHANNEL.match(header(event, "DestChannel"))
        if match is None:
            return
        await asyncio.to_thread(
            contacts.agent_answered,
            self.service,
            call_id=call.call_id,
            linked_id=header(event, "Linkedid") or None,
            agent_endpoint=match[1],
            at=self.service.clock(),
        )

    async def _on_bridgeenter(self, event: Mapping[str, Any]) -> None:
        call = await self._resolve(header(event, "Uniqueid"), header(event, "Linkedid"))
        if call is None or call.ended:
            return
        try:
            members = int(header(event, "BridgeNumChannels") or "0")
        except ValueError:
            members = 0
        if members >= 2 and call.bridge_since is None:
            call.bridge_since = self.monotonic()
            call.answered = True
            await asyncio.to_thread(
                call_log.mark_bridged, self.service, call.call_id, self.service.clock()
            )

    async def _on_bridgeleave(self, event: Mapping[str, Any]) -> None:
        call = await self._resolve(header(event, "Uniqueid"), header(event, "Linkedid"))
        if call is not None:
            self._close_bridge(call)

    def _close_bridge(self, call: _Call) -> None:
        if call.bridge_since is not None:
            call.bridged += self.monotonic() - call.bridge_since
            call.bridge_since = None

    async def _on_hangup(self, event: Mapping[str, Any]) -> None:
        uniqueid, linkedid = header(event, "Uniqueid"), header(event, "Linkedid")
        call = await self._resolve(uniqueid, linkedid)
        if call is None:
            return
        calling = call.channel_id or linkedid
        if uniqueid != calling and uniqueid != call.call_id:
            return  # another leg; the calling channel's hangup ends the call
        if not call.answered and call.call_id in self._originates.values():
            return  # a staff leg that never answered: OriginateResponse says why
        try:
            cause: int | None = int(header(event, "Cause"))
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
        action_id = header(event, "ActionID")
        uniqueid = header(event, "Uniqueid")
        call_id = self._originates.pop(action_id, None) or (
            uniqueid if is_call_id(uniqueid) else None
        )
        if call_id is None:
            return
        if header(event, "Response").lower() == "success":
            self.learn(call_id, uniqueid, calling=uniqueid or call_id)
            log.info("click-to-call %s: staff phone answered", call_id)
            return
        reason = header(event, "Reason")
        disposition = _ORIGINATE_REASONS.get(reason, Disposition.FAILED)
        log.info("click-to-call %s: staff phone %s (reason %s)", call_id, disposition, reason)
        await asyncio.to_thread(
            call_log.mark_ended, self.service, call_id, self.service.clock(), disposition
        )
        self.forget(call_id)

    # ---- reconciliation -----------------------------------------------------------------
    async def reconcile(self, ami: AmiConnection) -> list[str]:
        """Close records whose calls Asterisk no longer has; returns the closed ids."""
        async with self._reconcile_lock:
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
            closed = await asyncio.to_thread(
                call_log.reconcile,
                self.service,
                alive_ids,
                now,
                alive_channel_ids=alive_channels,
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
