"""``operator-call``: a staff desk phone dialed a temporary number.

Arguments: ``agi_arg_1`` = the caller's PJSIP endpoint name, ``agi_arg_2`` = the digits
it dialed. Both are checked for shape here; the desk is not asked about malformed input.
"""

from __future__ import annotations

import logging

from agi.protocol import AGIRequest
from agi.routes.base import masked, scrub
from masking.calls.contract import CallDecision, CallDesk
from masking.refusals import Refusal
from masking.shapes import is_digits, is_endpoint

log = logging.getLogger("agi.routes.operator_call")


def handle(desk: CallDesk, request: AGIRequest) -> CallDecision:
    endpoint, dialed = request.arg(1), request.arg(2)
    if not is_endpoint(endpoint) or not is_digits(dialed):
        log.warning(
            "call %s: operator-call with invalid input (endpoint %s, dialed %s)",
            request.channel_id,
            scrub(endpoint, 64),
            masked(scrub(dialed, 24)),
        )
        return desk.record_denied(
            route="operator-call", channel_id=request.channel_id, reason=Refusal.INVALID_INPUT
        )
    log.debug("call %s: operator-call from %s to %s", request.channel_id, endpoint, masked(dialed))
    return desk.operator_call(endpoint=endpoint, dialed=dialed, channel_id=request.channel_id)
