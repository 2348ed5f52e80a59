"""Every state the domain keeps, as enums (stored as their string values)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    STAFF_MANAGER = "staff_manager"
    EMPLOYEE = "employee"
    ADMIN = "admin"  # platform admin, no site
    QA = "qa"  # quality reviewer, listens to recordings, no site


class Direction(StrEnum):
    OUTBOUND = "outbound"  # staff desk phone dialed a temporary number
    INBOUND = "inbound"  # a customer called a virtual number back
    CLICK2CALL = "click2call"  # console/API: staff phone first, then the customer


class Disposition(StrEnum):
    """How a call attempt ended (stays IN_PROGRESS until it did)."""

    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    DENIED = "denied"


class CallStatus(StrEnum):
    """Where a call is now; it only moves forward, in this order (the console shows it live)."""

    DECIDING = "deciding"
    RINGING_STAFF = "ringing_staff"
    RINGING_CUSTOMER = "ringing_customer"
    CONNECTED = "connected"
    ENDED = "ended"

    @property
    def rank(self) -> int:
        return list(CallStatus).index(self)


class ReasonKind(StrEnum):
    PICKUP_POINT = "pickup_point"
    CALL_CENTRE = "call_centre"
