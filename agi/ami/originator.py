"""Click-to-call over AMI: one Originate that rings the staff phone, never sent twice."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict

from agi import variables
from agi.ami.connection import (
    AmiActionError,
    AmiConnection,
    AmiDisconnected,
    AmiError,
    AmiNotConnected,
)
from agi.ami.tracker import ORIGINATE_ACTION_PREFIX, CallTracker
from masking.calls import call_log, click2call
from masking.service import MaskingService
from masking.shapes import is_call_id, is_callerid_number, is_endpoint
from masking.states import Disposition

log = logging.getLogger("masking.ami")

CLICK2CALL_CONTEXT = "masking-click2call"
_LABEL_BAD = re.compile(r"[\"<>\\\r\n\t\x00-\x1f\x7f;]")


def sanitize_label(label: str) -> str:
    """A caller ID name safe inside ``"..."``: no quotes, brackets, newlines, controls."""
    clean = _LABEL_BAD.sub(" ", label or "")
    return " ".join(clean.split())[:40] or "Call"


class AmiOriginator:
    """:class:`masking.calls.contract.Originator` over AMI: rings the staff phone once.

    ``service`` None (a connection without call records): the staff phone shows no
    number and a refused Originate closes no record.
    """

    def __init__(
        self,
        ami: AmiConnection,
        *,
        service: MaskingService | None = None,
        tracker: CallTracker | None = None,
        ack_timeout: float = 10.0,
    ) -> None:
        self.ami = ami
        self.service = service
        self.tracker = tracker
        self.ack_timeout = ack_timeout
        self._originated: OrderedDict[str, None] = OrderedDict()  # bounded, newest last

    async def originate_click2call(self, *, call_id: str, endpoint: str, label: str) -> None:
        """Send one Originate (Async, ChannelId = call id). Returns once Asterisk queued it;
        the outcome arrives as OriginateResponse. Raises ValueError on bad input,
        AmiNotConnected / AmiActionError (record closed as failed) or AmiDisconnected /
        TimeoutError (fate unknown: never re-sent; reconciliation settles the record)."""
        if not is_call_id(call_id):
            raise ValueError("call id must be 32 lower-case hex characters")
        if not is_endpoint(endpoint):
            raise ValueError(f"bad PJSIP endpoint name {endpoint[:64]!r}")
        if call_id in self._originated:
            raise AmiError(f"click-to-call {call_id} was already originated")
        number = await self._callerid_number(call_id)
        action_id = f"{ORIGINATE_ACTION_PREFIX}{call_id}"
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
        if self.tracker is not None:
            self.tracker.expect_originate(action_id, call_id)
        try:
            self._originated[call_id] = None
            while len(self._originated) > 10000:
                self._originated.popitem(last=False)
            await self.ami.send_action(action, timeout=self.ack_timeout, as_list=False)
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
            if self.tracker is not None:
                self.tracker.forget_originate(action_id)
            raise
        log.info("click-to-call %s: ringing staff endpoint %s", call_id, endpoint)

    async def _fail(self, call_id: str, action_id: str) -> None:
        if self.tracker is not None:
            self.tracker.forget_originate(action_id)
        service = self.service
        if service is not None:
            await asyncio.to_thread(
                call_log.mark_ended, service, call_id, service.clock(), Disposition.FAILED
            )

    async def _callerid_number(self, call_id: str) -> str:
        """The staff phone shows the temporary number (never the customer's)."""
        if self.service is None:
            return ""
        number = await asyncio.to_thread(click2call.staff_callerid_number, self.service, call_id)
        # it goes into an AMI header: digits only, whatever the database holds
        return number if number is not None and is_callerid_number(number) else ""
