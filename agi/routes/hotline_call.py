"""``hotline-call``: a customer called a hotline DID; identify, then into the team's queue.

Arguments: ``agi_arg_1`` = the DID that was called, ``agi_arg_2`` = the channel's linked
id (``${CHANNEL(linkedid)}``, to tie the queue's AMI events to the call). The caller ID
comes from the AGI environment (``agi_callerid``, filtered by the dialplan first), never
from the AGI URL, and is untrusted: whatever it holds, the domain treats it as a maybe
number (:func:`masking.hotline.contacts.incoming`) and nothing here logs it.

The decision: ``queue`` (the queue, the case code as the caller ID number and
"<brand> <code>" as its name, the recording file) or a denial with its prompt. A denial
``unavailable`` (and anything the dialplan cannot use) sends the call down the hotline's
failure path in the dialplan: into the queue unidentified, or a prompt
(``MASKING_HOTLINE_ON_FAILURE``).
"""

from __future__ import annotations

import logging
import re

from agi.protocol import AGIRequest
from agi.routes.base import deny, masked, scrub, unavailable
from masking.calls.contract import CallDecision, CallDesk
from masking.hotline import contacts
from masking.refusals import Refusal
from masking.service import MaskingService
from masking.shapes import is_digits

log = logging.getLogger("agi.routes.hotline_call")

_LINKED_ID = re.compile(r"^[0-9]{1,20}\.[0-9]{1,10}$")


def handle(desk: CallDesk, request: AGIRequest) -> CallDecision:
    did, linked = request.arg(1).strip(), request.arg(2).strip()
    if not is_digits(did):
        log.warning(
            "call %s: hotline-call to an invalid DID %s",
            request.channel_id,
            masked(scrub(did, 24)),
        )
        return deny(Refusal.INVALID_INPUT)
    service = getattr(desk, "service", None)
    if not isinstance(service, MaskingService):
        log.error("call %s: hotline-call needs the masking service's desk", request.channel_id)
        return unavailable()
    decision = contacts.incoming(
        service,
        did=did,
        caller_id=request.env.get("agi_callerid", ""),
        channel_id=request.channel_id if request.channel_id != "-" else None,
        linked_id=linked if _LINKED_ID.match(linked) else None,
    )
    if decision.action == "queue":
        return CallDecision(
            call_id=decision.call_id or "",
            action="queue",
            queue=decision.queue,
            callerid_num=decision.callerid_num,
            callerid_name=decision.callerid_name,
            record_file=decision.record_file,
            announce_recording=decision.announce_recording,
        )
    return deny(decision.refusal or Refusal.UNAVAILABLE, decision.call_id)
