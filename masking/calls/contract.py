"""What the telephony adapters ask the domain, and what the domain answers.

The AGI routes (``agi/routes``) turn Asterisk's request into one of these calls and the
returned :class:`CallDecision` into channel variables (``agi/variables.py``). Nothing in
here knows about AGI. A refused call carries a :class:`masking.refusals.Refusal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from masking.refusals import Refusal
from masking.states import Direction

# Asterisk sound file (no extension) played for each refusal a call can get.
DENY_PROMPTS: dict[Refusal, str] = {
    Refusal.CLOSED: "masking/closed",
    Refusal.NOT_ALLOWED: "masking/not-allowed",
    Refusal.OTHER_SITE: "masking/not-allowed",
    Refusal.SUSPENDED: "masking/suspended",
    Refusal.EXPIRED: "masking/expired",
    Refusal.UNKNOWN: "masking/expired",
    Refusal.INVALID_INPUT: "masking/not-allowed",
    Refusal.UNAVAILABLE: "masking/unavailable",
    Refusal.ALREADY_DIALING: "masking/not-allowed",
    Refusal.BUSY: "masking/busy",
}


@dataclass(frozen=True)
class CallDecision:
    call_id: str
    # "queue": a hotline call goes into the app_queue queue ``queue`` (agents answer)
    action: Literal["dial", "deny", "queue"]
    deny_reason: Refusal | None = None
    # operator / click-to-call: customer's E.164 number without "+"
    dial_number: str | None = None
    # inbound: PJSIP endpoint names of the site's phones
    dial_endpoints: tuple[str, ...] = field(default_factory=tuple)
    # hotline: the team's queue
    queue: str | None = None
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
        if self.deny_reason is None:
            return None
        return DENY_PROMPTS.get(self.deny_reason, DENY_PROMPTS[Refusal.NOT_ALLOWED])


class CallDesk(Protocol):
    """The questions Asterisk asks. Implementations never raise: on any internal
    failure they return a deny decision with ``Refusal.UNAVAILABLE`` (fail closed)."""

    def operator_call(self, *, endpoint: str, dialed: str, channel_id: str) -> CallDecision:
        """A staff desk phone (PJSIP endpoint name) dialed a temporary number."""
        ...

    def inbound_call(self, *, caller: str, did: str, channel_id: str) -> CallDecision:
        """Someone (caller ID number, untrusted) called a virtual number (DID)."""
        ...

    def click2call_leg(self, *, call_id: str, channel_id: str) -> CallDecision:
        """The staff leg of a click-to-call answered; may the customer be dialed now?"""
        ...

    def record_denied(self, *, route: str, channel_id: str, reason: Refusal) -> CallDecision:
        """The adapter refused the request itself (malformed input): keep the attempt on
        record and return the deny decision to hand to the dialplan."""
        ...

    def retried(self, *, direction: Direction, channel_id: str) -> CallDecision | None:
        """Asterisk asks again about channel ``channel_id`` (the dialplan's next FastAGI
        server, after the earlier one gave it no answer). A call is decided once: when a
        decision of this direction already exists for the channel, the answer is a deny
        ``unavailable`` (and that earlier decision, never acted upon, is closed as such);
        None when nothing was decided yet and the request may be decided as usual."""
        ...


class Originator(Protocol):
    """Starts the staff leg of a click-to-call (the AMI client implements it)."""

    async def originate_click2call(self, *, call_id: str, endpoint: str, label: str) -> None:
        """Ring PJSIP/<endpoint> showing ``label``; when answered, Asterisk runs the
        ``masking-click2call`` context with MASKING_CALL_ID=<call_id>. Must never be
        re-sent after an AMI reconnect (no double ringing); raises on failure."""
        ...
