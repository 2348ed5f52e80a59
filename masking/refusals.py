"""One word for "no": a :class:`Refusal` says why, :class:`Refused` carries it.

Calls (the dialplan plays a prompt for the reason), reveals and click-to-call (the API
answers with the code and a status) all refuse with these. The values are stored on
call records and reveal audits and sent to API clients, so they never change.
A refusal's text names the situation, never the customer.
"""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    NOT_ALLOWED = "not_allowed"  # role or visibility (or an inactive caller on a call)
    OTHER_SITE = "other_site"  # staff of one site asked for another site's customer
    SUSPENDED = "suspended"  # numbers hidden for the site by an admin
    CLOSED = "closed"  # outside the site's working hours
    BAD_REASON = "bad_reason"  # no reason, or not an active one
    INACTIVE = "inactive"  # the staff account is disabled
    UNKNOWN_SHIPMENT = "unknown_shipment"  # no such shipment at the site
    POOL_EXHAUSTED = "pool_exhausted"  # no temporary number free for this customer
    NO_PHONE = "no_phone"  # click-to-call without a desk phone
    EXPIRED = "expired"  # the temporary number's binding has expired
    UNKNOWN = "unknown"  # no binding / unknown endpoint / unknown call id
    INVALID_INPUT = "invalid_input"  # malformed dialed digits or caller ID
    UNAVAILABLE = "unavailable"  # the service could not decide (storage down, deadline)
    ALREADY_DIALING = "already_dialing"  # an order to confirm is being called on another path
    BUSY = "busy"  # the service is overloaded: answered at once instead of after the deadline


REFUSAL_TEXT: dict[Refusal, str] = {
    Refusal.NOT_ALLOWED: "your role may not see customer numbers; ask the site owner",
    Refusal.OTHER_SITE: "this shipment belongs to another site",
    Refusal.SUSPENDED: "numbers are hidden for this site",
    Refusal.CLOSED: "the site is closed now; calls are allowed only in working hours",
    Refusal.BAD_REASON: "choose one of the allowed reasons",
    Refusal.INACTIVE: "this staff account is disabled",
    Refusal.UNKNOWN_SHIPMENT: "no such shipment at this site",
    Refusal.POOL_EXHAUSTED: "no temporary number is free right now",
    Refusal.NO_PHONE: "no desk phone is set for this staff member",
    Refusal.EXPIRED: "the temporary number has expired",
    Refusal.UNKNOWN: "no such number or call",
    Refusal.INVALID_INPUT: "the request is malformed",
    Refusal.UNAVAILABLE: "the number service is unavailable; try again in a minute",
    Refusal.ALREADY_DIALING: "this order is being called right now; try again after that call",
    Refusal.BUSY: "all lines of the number service are busy; try again in a minute",
}


class Refused(Exception):
    """Something was refused; ``reason`` is machine-readable, the message is for people
    (``detail`` adds context for the service's own log, never for staff)."""

    def __init__(self, reason: Refusal, message: str | None = None, *, detail: str = "") -> None:
        super().__init__(message or REFUSAL_TEXT[reason])
        self.reason = reason
        self.detail = detail

    @property
    def code(self) -> str:
        return self.reason.value
