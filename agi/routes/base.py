"""Shared by every route: the decision -> channel variables mapping, and
log masking. FastAGI (:mod:`agi.server`) and classic AGI (:mod:`agi.classic`) both write
exactly the pairs :func:`decision_variables` returns, in that order.
"""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from agi import variables as v
from agi.protocol import AGIRequest
from masking.calls.contract import CallDecision, CallDesk
from masking.numbers.phones import mask_number
from masking.refusals import Refusal
from masking.shapes import is_call_id, is_callerid_number, is_endpoint
from masking.states import Direction

log = logging.getLogger("agi.routes")

# A route: sync, validates its arguments and asks the desk. Runs in a worker thread.
Handler = Callable[[CallDesk, AGIRequest], CallDecision]

_DIAL_NUMBER = re.compile(r"^[0-9]{3,20}$")
_RECORD_FILE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_./-]{0,199}$")
_OPENS_AT = re.compile(r"^(?:[01][0-9]|2[0-3])[0-5][0-9]$")
# Characters that mean something to dialplan application argument parsing or expression
# evaluation, plus control characters: never handed to the dialplan in a caller ID name.
_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"'`\\,;|&$(){}\[\]<>]")
_LONG_DIGITS = re.compile(r"\+?\d[\d\s()-]{4,}\d")


class InvalidDecision(ValueError):
    """The desk returned something that must not reach the dialplan."""


def decided_once(direction: Direction, handle: Handler) -> Handler:
    """The route ``handle``, asked again: the dialplan (masking-sub-agi) sends a request
    to its next FastAGI server when the earlier one gave no answer, numbering them
    (``attempt``). A repeated request goes to the desk's :meth:`CallDesk.retried` first:
    a call that was decided already is not decided again."""

    @functools.wraps(handle)
    def route(desk: CallDesk, request: AGIRequest) -> CallDecision:
        if request.attempt > 1:
            earlier = desk.retried(direction=direction, channel_id=request.channel_id)
            if earlier is not None:
                return earlier
        return handle(desk, request)

    return route


def new_call_id() -> str:
    return uuid.uuid4().hex


def deny(reason: Refusal, call_id: str | None = None) -> CallDecision:
    """A denial decided here, without the domain (bad input, deadline, crash)."""
    return CallDecision(call_id=call_id or new_call_id(), action="deny", deny_reason=reason)


def unavailable(call_id: str | None = None) -> CallDecision:
    return deny(Refusal.UNAVAILABLE, call_id)


def safe_name(value: str, limit: int = 40) -> str:
    return _NAME_UNSAFE.sub("", value).strip()[:limit]


def decision_variables(decision: CallDecision) -> list[tuple[str, str]]:
    """The ``(variable, value)`` pairs to set, ``MASKING_ACTION`` last.

    Every value that the dialplan interpolates into an application is re-validated here
    (the desk is trusted, but a dial decision is where a mistake costs a real call);
    a dial decision that does not pass raises InvalidDecision.
    """
    call_id = decision.call_id if is_call_id(decision.call_id) else new_call_id()
    pairs: list[tuple[str, str]] = [(v.CALL_ID, call_id)]
    if decision.action == v.ACTION_DIAL:
        if decision.dial_number is None and not decision.dial_endpoints:
            raise InvalidDecision("dial without a number or endpoints")
        if decision.dial_number is not None:
            if not _DIAL_NUMBER.match(decision.dial_number):
                raise InvalidDecision("dial number is not digits")
            pairs.append((v.DIAL_NUMBER, decision.dial_number))
        if decision.dial_endpoints:
            if not all(is_endpoint(e) for e in decision.dial_endpoints):
                raise InvalidDecision("invalid endpoint name")
            pairs.append(
                (v.DIAL_ENDPOINTS, "&".join(f"PJSIP/{e}" for e in decision.dial_endpoints))
            )
        timeout = int(decision.dial_timeout_s)
        if not 1 <= timeout <= 600:
            raise InvalidDecision("dial timeout out of range")
        pairs.append((v.DIAL_TIMEOUT, str(timeout)))
        if decision.callerid_num is not None:
            if not is_callerid_number(decision.callerid_num):
                raise InvalidDecision("caller ID number is not digits")
            pairs.append((v.CALLERID_NUM, decision.callerid_num))
        if decision.callerid_name is not None:
            pairs.append((v.CALLERID_NAME, safe_name(decision.callerid_name)))
        if decision.record_file is not None:
            if not _RECORD_FILE.match(decision.record_file) or ".." in decision.record_file:
                raise InvalidDecision("unsafe recording path")
            pairs.append((v.RECORD_FILE, decision.record_file))
        pairs.append((v.ANNOUNCE_RECORDING, "yes" if decision.announce_recording else "no"))
        pairs.append((v.ACTION, v.ACTION_DIAL))
        return pairs
    if decision.action == v.ACTION_QUEUE:
        return pairs + _queue_variables(decision)
    reason = decision.deny_reason or Refusal.UNAVAILABLE
    pairs.append((v.DENY_REASON, reason.value))
    pairs.append((v.PROMPT, decision.prompt or "masking/unavailable"))
    if decision.opens_at is not None and _OPENS_AT.match(decision.opens_at):
        pairs.append((v.OPENS_AT, decision.opens_at))
    if decision.opens_day is not None and 0 <= int(decision.opens_day) <= 6:
        pairs.append((v.OPENS_DAY, str(int(decision.opens_day))))
    pairs.append((v.ACTION, v.ACTION_DENY))
    return pairs


def _queue_variables(decision: CallDecision) -> list[tuple[str, str]]:
    """A hotline call into its team's queue: the queue (the shape of an endpoint name),
    the caller ID the agents see (the case code: digits) and the recording, all required."""
    if not is_endpoint(decision.queue):
        raise InvalidDecision("invalid queue name")
    if not is_callerid_number(decision.callerid_num):
        raise InvalidDecision("caller ID number is not digits")
    record = decision.record_file
    if record is None or not _RECORD_FILE.match(record) or ".." in record:
        raise InvalidDecision("unsafe recording path")
    return [
        (v.QUEUE, str(decision.queue)),
        (v.CALLERID_NUM, str(decision.callerid_num)),
        (v.CALLERID_NAME, safe_name(decision.callerid_name or "")),
        (v.RECORD_FILE, record),
        (v.ANNOUNCE_RECORDING, "yes" if decision.announce_recording else "no"),
        (v.ACTION, v.ACTION_QUEUE),
    ]


def safe_variables(decision: CallDecision) -> tuple[CallDecision, list[tuple[str, str]]]:
    """decision_variables, falling back to a deny ``unavailable`` for an invalid decision."""
    try:
        return decision, decision_variables(decision)
    except (InvalidDecision, ValueError, TypeError) as exc:
        log.error("call %s: refusing the desk's decision: %s", decision.call_id, exc)
        fallback = unavailable(decision.call_id if is_call_id(decision.call_id) else None)
        return fallback, decision_variables(fallback)


def scrub(text: Any, limit: int = 80) -> str:
    """Peer-supplied text for a log line: printable, short, no full phone number."""
    cleaned = "".join(c if c.isprintable() else "?" for c in str(text))[:limit]
    return _LONG_DIGITS.sub(lambda m: mask_number(m.group(0)), cleaned)


def masked(number: str) -> str:
    return mask_number(number) if number else "<none>"
