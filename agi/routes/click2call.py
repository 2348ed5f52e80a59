"""``click2call``: the staff leg of a click-to-call answered; may the customer be dialed?

Arguments: ``agi_arg_1`` = the call id (32 hex characters) the originate carried.
"""

from __future__ import annotations

import logging

from agi.protocol import AGIRequest
from agi.routes.base import scrub
from masking.calls.contract import CallDecision, CallDesk
from masking.refusals import Refusal
from masking.shapes import is_call_id

log = logging.getLogger("agi.routes.click2call")


def handle(desk: CallDesk, request: AGIRequest) -> CallDecision:
    call_id = request.arg(1).strip().lower()
    if not is_call_id(call_id):
        log.warning(
            "call %s: click2call with an invalid call id %s",
            request.channel_id,
            scrub(request.arg(1), 40),
        )
        return desk.record_denied(
            route="click2call", channel_id=request.channel_id, reason=Refusal.INVALID_INPUT
        )
    log.debug("call %s: click2call leg of %s", request.channel_id, call_id)
    return desk.click2call_leg(call_id=call_id, channel_id=request.channel_id)
