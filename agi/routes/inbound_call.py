"""``inbound-call``: someone called a virtual number from outside.

Arguments: ``agi_arg_1`` = the DID that was called. The caller ID number comes from the
AGI environment (``agi_callerid``, which the dialplan filtered first), never from the AGI
URL: Asterisk writes the URL into its WARNING line when the service is unreachable, and
the caller is a customer. The caller ID is untrusted (empty, "unknown", "anonymous" or
anything at all). A malformed DID is invalid input; a caller ID that is not a plain
number is passed on as "" (the desk then treats the caller as unknown and records the
attempt).
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
    caller, did = request.env.get("agi_callerid", "").strip(), request.arg(1).strip()
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
