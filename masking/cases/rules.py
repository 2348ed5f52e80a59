"""Which status a case may take, and on what evidence: one rule set per case kind.

A status that claims contact (resolved) needs an answered attempt of at least
``min_bridged_seconds``; a status that claims failure (not resolved) needs at least one
attempt; every change a person makes needs a note. The service itself (the SLA timer)
closes a case without those, marked automatic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from masking.states import CaseKind, CaseStatus, Disposition

OPEN: frozenset[str] = frozenset({CaseStatus.NEW, CaseStatus.IN_PROGRESS})


@dataclass(frozen=True)
class Attempt:
    """What the rules need of a call about the case (from its call record)."""

    disposition: str
    bridged_seconds: int | None


@dataclass(frozen=True)
class KindRules:
    transitions: dict[str, frozenset[str]]
    claims_contact: frozenset[str]
    claims_failure: frozenset[str]
    min_bridged_seconds: int = 10


def _one_way(success: CaseStatus, *, failure_needs_attempt: bool) -> KindRules:
    """New -> In progress -> ``success`` or Not resolved (from New too), never back:
    ``success`` needs a real conversation; Not resolved needs an attempt if asked."""
    closing = frozenset({success, CaseStatus.NOT_RESOLVED})
    return KindRules(
        transitions={
            CaseStatus.NEW: closing | {CaseStatus.IN_PROGRESS},
            CaseStatus.IN_PROGRESS: closing,
            **{status: frozenset() for status in closing},
        },
        claims_contact=frozenset({success}),
        claims_failure=frozenset({CaseStatus.NOT_RESOLVED} if failure_needs_attempt else ()),
    )


APPEAL = _one_way(CaseStatus.RESOLVED, failure_needs_attempt=True)
# an order to confirm (seed 003): Confirmed only after a real conversation; Not resolved
# (the customer declined, or the order was cancelled on the phone) after at least one call
CONFIRMATION = _one_way(CaseStatus.CONFIRMED, failure_needs_attempt=True)
# a hotline call to identify (seed 004): the call is the work; it is in progress once an
# agent answers and the service closes it when the call ends (resolved: an agent talked
# to the caller; not resolved: nobody answered). A person may close it earlier, with a note.
IDENTIFICATION = _one_way(CaseStatus.RESOLVED, failure_needs_attempt=False)

RULES: dict[str, KindRules] = {
    CaseKind.APPEAL: APPEAL,
    CaseKind.CONFIRMATION: CONFIRMATION,
    CaseKind.IDENTIFICATION: IDENTIFICATION,
}


class RuleBroken(ValueError):
    """A status change the rules refuse. ``rule`` is machine-readable, the (English) message
    says which evidence is missing, and ``params`` carry what a person's sentence needs in
    any language: ``current`` / ``target`` (statuses), ``seconds`` (the shortest answered
    call that counts as contact), ``kind``."""

    def __init__(self, rule: str, message: str, **params: str | int) -> None:
        super().__init__(message)
        self.rule = rule
        self.params: dict[str, str | int] = {
            name: value if isinstance(value, int) else str(value) for name, value in params.items()
        }


def rules_for(kind: str) -> KindRules:
    try:
        return RULES[kind]
    except KeyError:
        raise RuleBroken("unknown_kind", f"kind: no rules for {kind!r}", kind=kind) from None


def contact_made(rules: KindRules, attempts: Iterable[Attempt]) -> bool:
    return any(
        a.disposition == Disposition.ANSWERED
        and (a.bridged_seconds or 0) >= rules.min_bridged_seconds
        for a in attempts
    )


def check_change(
    kind: str,
    current: str,
    target: str,
    attempts: Iterable[Attempt],
    *,
    note: str | None,
    automatic: bool = False,
) -> None:
    """Raise :class:`RuleBroken` unless a case of ``kind`` may go ``current`` -> ``target``
    now. ``automatic`` changes (the service's own timers) need neither note nor attempt."""
    rules = rules_for(kind)
    if target not in rules.transitions.get(current, frozenset()):
        raise RuleBroken(
            "transition",
            f"status: a {current} case cannot become {target}",
            current=current,
            target=target,
        )
    if automatic:
        return
    if not (note or "").strip():
        raise RuleBroken(
            "note_required", "note: say what happened (a note is required)", target=target
        )
    done = list(attempts)
    if target in rules.claims_contact and not contact_made(rules, done):
        raise RuleBroken(
            "contact_required",
            f"status: {target} needs an answered call of at least "
            f"{rules.min_bridged_seconds} s about this case",
            target=target,
            seconds=rules.min_bridged_seconds,
        )
    if target in rules.claims_failure and not done:
        raise RuleBroken(
            "attempt_required",
            f"status: {target} needs at least one call attempt",
            target=target,
        )
