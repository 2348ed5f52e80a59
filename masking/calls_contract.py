"""What the telephony adapters ask the domain, and what the domain answers.

The AGI routes (``agi/routes``) turn Asterisk's request into one of these calls and the
returned :class:`CallDecision` into channel variables (``agi/variables.py``). Nothing in
here knows about AGI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol


class DenyReason(StrEnum):
    CLOSED = "closed"  # outside the site's working hours
    NOT_ALLOWED = "not_allowed"  # caller may not see numbers (role, visibility, inactive)
    OTHER_SITE = "other_site"  # the number is bound to another site's customer
    SUSPENDED = "suspended"  # numbers hidden for the site by an admin
    EXPIRED = "expired"  # the temporary number's binding has expired
    UNKNOWN = "unknown"  # no binding / unknown endpoint / unknown call id
    INVALID_INPUT = "invalid_input"  # malformed dialed digits or caller ID
    UNAVAILABLE = "unavailable"  # the service could not decide (storage down, deadline)


# Asterisk sound file (no extension) played for each denial.
DENY_PROMPTS: dict[DenyReason, str] = {
    DenyReason.CLOSED: "masking/closed",
    DenyReason.NOT_ALLOWED: "masking/not-allowed",
    DenyReason.OTHER_SITE: "masking/not-allowed",
    DenyReason.SUSPENDED: "masking/suspended",
    DenyReason.EXPIRED: "masking/expired",
    DenyReason.UNKNOWN: "masking/expired",
    DenyReason.INVALID_INPUT: "masking/not-allowed",
    DenyReason.UNAVAILABLE: "masking/unavailable",
}


@dataclass(frozen=True)
class CallDecision:
    call_id: str
    action: Literal["dial", "deny"]
    deny_reason: DenyReason | None = None
    # operator / click-to-call: customer's E.164 number without "+"
    dial_number: str | None = None
    # inbound: PJSIP endpoint names of the site's phones
    dial_endpoints: tuple[str, ...] = field(default_factory=tuple)
    dial_timeout_s: int = 45
    callerid_num: str | None = None
    callerid_name: str | None = None
    record_file: str | None = None
    announce_recording: bool = False
    # closed hours: next opening, site-local "HHMM" and weekday 0=Monday
    opens_at: str | None = None
    opens_day: int | None = None

    @property
    def prompt(self) -> str | None:
        return DENY_PROMPTS[self.deny_reason] if self.deny_reason else None


class CallDesk(Protocol):
    """The three questions Asterisk asks. Implementations never raise: on any internal
    failure they return a deny decision with ``DenyReason.UNAVAILABLE`` (fail closed)."""

    def operator_call(self, *, endpoint: str, dialed: str, channel_id: str) -> CallDecision:
        """A staff desk phone (PJSIP endpoint name) dialed a temporary number."""
        ...

    def inbound_call(self, *, caller: str, did: str, channel_id: str) -> CallDecision:
        """Someone (caller ID number, untrusted) called a virtual number (DID)."""
        ...

    def click2call_leg(self, *, call_id: str, channel_id: str) -> CallDecision:
        """The staff leg of a click-to-call answered; may the customer be dialed now?"""
        ...

    def record_denied(self, *, route: str, channel_id: str, reason: DenyReason) -> CallDecision:
        """The adapter refused the request itself (malformed input): keep the attempt on
        record and return the deny decision to hand to the dialplan."""
        ...


class Originator(Protocol):
    """Starts the staff leg of a click-to-call (the AMI client implements it)."""

    async def originate_click2call(self, *, call_id: str, endpoint: str, label: str) -> None:
        """Ring PJSIP/<endpoint> showing ``label``; when answered, Asterisk runs the
        ``masking-click2call`` context with MASKING_CALL_ID=<call_id>. Must never be
        re-sent after an AMI reconnect (no double ringing); raises on failure."""
        ...
