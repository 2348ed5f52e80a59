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
    HOTLINE = "hotline"  # a customer called a hotline DID: identified, then queued


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
    CONFIRMED = "confirmed"  # a confirmation: the customer confirmed the order by phone


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


class AutoDetail(StrEnum):
    """What the service itself writes as the detail of a case change (a person's change
    carries the person's note instead); the console shows each by its label."""

    TAKEN = "taken"  # a staff member took the case
    FIRST_CALL = "first_call"  # the first call about the case started
    SLA_BREACHED = "sla_breached"  # not resolved within the SLA: closed by the service
    CALL_HANDLED = "call_handled"  # a hotline call an agent answered has ended
    CALL_ABANDONED = "call_abandoned"  # a hotline caller hung up before any agent answered


class WaitReason(StrEnum):
    """Why an order of a confirmation campaign is not dialable now (its ``next_at`` says
    until when)."""

    DIALING = "dialing"  # a call about it is under way
    GAP = "gap"  # the minimum gap after the last attempt
    BUSY_RETRY = "busy_retry"  # busy: retried later in the same window
    WINDOW_DONE = "window_done"  # this window had its attempt: the next window opens
    WINDOW_CLOSED = "window_closed"  # outside every window in the customer's local time
    CENTRE_CLOSED = "centre_closed"  # the call centre is closed
    DAILY_CAP = "daily_cap"  # the day's attempts are used up: tomorrow's first window
    CALLBACK = "callback"  # a callback is agreed for a later time
    CALLBACK_OWNED = "callback_owned"  # the callback is its agent's until the hand-over
    DONE = "done"  # confirmed or closed: no more attempts


class DialSessionState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class MatchType(StrEnum):
    """How a hotline caller's number matched the team's orders (seed 004)."""

    EXACT = "exact"
    TYPO_1 = "typo_1"  # one digit off (substitution, transposition, one missing / extra)
    TYPO_2 = "typo_2"  # two digits off
    NONE = "none"


class FieldMatch(StrEnum):
    """What the service answers about one identity field the agent typed (never the value)."""

    MATCH = "match"
    CLOSE = "close"
    NO_MATCH = "no_match"
