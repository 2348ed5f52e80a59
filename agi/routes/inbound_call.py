"""``inbound-call``: someone called a virtual number from outside.

Arguments: ``agi_arg_1`` = the caller ID number (untrusted: may be empty, "anonymous" or
anything at all), ``agi_arg_2`` = the DID that was called. A malformed DID is invalid
input; a caller ID that is not a plain number is passed on as "" (the desk then treats the
caller as unknown and records the attempt).
"""

from __future__ import annotations

import logging

from agi.protocol import AGIRequest
from agi.routes.base import masked, scrub
from masking.calls.contract import CallDecision, CallDesk
from masking.refusals import Refusal
from masking.shapes import is_digits

log = logging.getLogger("agi.routes.inbound_call")


def handle(desk: CallDesk, request: AGIRequest) -> CallDecision:
    caller, did = request.arg(1).strip(), request.arg(2).strip()
    if not is_digits(did):
        log.warning(
            "call %s: inbound-call to an invalid DID %s",
            request.channel_id,
            masked(scrub(did, 24)),
        )
        return desk.record_denied(
            route="inbound-call", channel_id=request.channel_id, reason=Refusal.INVALID_INPUT
        )
    if caller and not is_digits(caller):
        log.info("call %s: inbound-call with a non-numeric caller ID", request.channel_id)
        caller = ""
    log.debug(
        "call %s: inbound-call from %s to %s", request.channel_id, masked(caller), masked(did)
    )
    return desk.inbound_call(caller=caller, did=did, channel_id=request.channel_id)
