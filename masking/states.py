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


class CaseKind(StrEnum):
    """What a piece of call-centre work is about (one rule set per kind)."""

    APPEAL = "appeal"  # a buyer's appeal handed over by the marketplace (seed 002)
    CONFIRMATION = "confirmation"  # an unpaid order to confirm by phone (seed 003)
    IDENTIFICATION = "identification"  # a hotline caller to identify (seed 004)


class CaseStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    NOT_RESOLVED = "not_resolved"


class AppealType(StrEnum):
    """The seven appeal topics of seed 002."""

    CONTACT_REQUEST = "contact_request"
    DELIVERY_QUESTION = "delivery_question"
    ORDER_CANCELLATION = "order_cancellation"
    COMPLAINT = "complaint"  # informational: changes no complaint counter
    PRODUCT_RETURN = "product_return"
    FIX_SITE_INFO = "fix_site_info"
    PAYMENT_QUESTION = "payment_question"


class AppealChannel(StrEnum):
    CALL = "call"
    CHAT = "chat"
    REVIEW = "review"
