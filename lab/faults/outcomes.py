"""What happened to every call attempt of a fault run, and the table of one run.

Every attempt dials its own temporary number, bound to its own shipment and customer,
so the three witnesses line up by number:

* the desk phone's log (``fault_desk_uac.xml``): the attempt started, Asterisk answered
  it, the phone hung up after holding (``done``) or Asterisk hung up first;
* the carrier's log (``fault_carrier_uas.xml``): each INVITE that reached the carrier
  (the customer's number, its Call-ID, the caller ID the customer saw) and each BYE;
* the call records in the database (by shipment, else by site and dialed number).

An attempt is **completed** when the carrier received it and both ends ended it
cleanly; **denied** when the customer was never rung and the service wrote a denial
(its reason), or Asterisk answered with a prompt and the database holds no record of the
attempt (reason ``unavailable, no record``: the service was unreachable, answered too
late, or answered "unavailable" without being able to write; every one of them plays
the "unavailable" prompt, and a denial for any other reason always has its record);
**dropped** when the customer was rung (or the service said dial) but the call did not
end cleanly; **failed** when Asterisk never answered and nothing was decided.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

NO_RECORD = "unavailable, no record"
_FROM_USER = re.compile(r"<sip:([^@>;]+)@")


@dataclass
class Attempt:
    """One call attempt: who dials which temporary number, and whom it reaches."""

    index: int
    endpoint: str
    site_id: int
    virtual_number: str  # E.164, what the desk phone dials
    customer_digits: str  # what the carrier sees as the dialed number
    shipment_id: int
    started: float | None = None  # epoch seconds (the desk phone's log)
    answered: bool = False
    done: bool = False  # the phone hung up after holding and Asterisk confirmed
    carrier_calls: set[str] = field(default_factory=set)  # Call-IDs at the carrier
    carrier_byes: set[str] = field(default_factory=set)
    caller_ids: list[str] = field(default_factory=list)  # From user of each INVITE
    records: list[tuple[str, str | None]] = field(default_factory=list)  # disposition, reason
    outcome: str = ""  # completed / denied / dropped / failed
    reason: str = ""  # the denial's reason

    @property
    def reached_carrier(self) -> bool:
        return bool(self.carrier_calls)


def _epoch(fields: Sequence[str]) -> float | None:
    """The epoch of SIPp's [timestamp] (``date<TAB>time<TAB>epoch``), the last field."""
    try:
        return float(fields[-1])
    except (IndexError, ValueError):
        return None


def _lines(path: Path) -> Iterable[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return text.splitlines()


def read_desk_log(path: Path, by_dialed: dict[tuple[str, str], Attempt]) -> None:
    """Fill the attempts from the desk phones' log; ``by_dialed``: (endpoint, temporary
    number) -> attempt (sites share the pool: a number is one attempt's per site)."""
    for line in _lines(path):
        fields = line.split()
        attempt = by_dialed.get((fields[1], fields[2])) if len(fields) > 3 else None
        if attempt is None:
            continue
        kind = fields[0]
        if kind == "start" and attempt.started is None:
            attempt.started = _epoch(fields)
        elif kind == "answered":
            attempt.answered = True
        elif kind == "done":
            attempt.done = True


def read_carrier_log(path: Path, by_customer: dict[str, Attempt]) -> int:
    """Fill the attempts from the carrier's log; returns the INVITEs for numbers that are
    no attempt's customer (0 unless something dialed a number nobody asked for)."""
    strangers = 0
    for line in _lines(path):
        head, _, from_header = line.partition(" FROM ")
        fields = head.split()
        if len(fields) < 3:
            continue
        kind, dialed, call_id = fields[0], fields[1], fields[2]
        attempt = by_customer.get(dialed.lstrip("+"))
        if kind == "invite":
            if attempt is None:
                strangers += 1
                continue
            if call_id not in attempt.carrier_calls:
                attempt.carrier_calls.add(call_id)
                match = _FROM_USER.search(from_header)
                attempt.caller_ids.append(match.group(1) if match else from_header.strip())
        elif kind == "bye" and attempt is not None:
            attempt.carrier_byes.add(call_id)
    return strangers


def classify(attempt: Attempt) -> None:
    denials = [reason or "?" for disposition, reason in attempt.records if disposition == "denied"]
    if attempt.reached_carrier:
        clean = attempt.done and attempt.carrier_byes >= attempt.carrier_calls
        attempt.outcome = "completed" if clean else "dropped"
    elif denials:
        attempt.outcome, attempt.reason = "denied", denials[0]
    elif attempt.records:
        attempt.outcome = "dropped"  # the service said dial; the call went no further
    elif attempt.answered:
        attempt.outcome, attempt.reason = "denied", NO_RECORD
    else:
        attempt.outcome = "failed"


def unmasked(attempt: Attempt) -> int:
    """INVITEs of this attempt whose caller ID was not its own temporary number."""
    own = attempt.virtual_number.lstrip("+")
    return sum(1 for shown in attempt.caller_ids if shown.lstrip("+") != own)


@dataclass
class FaultReport:
    """One fault run: the counts of its table and the times that frame it."""

    fault: str
    title: str
    rate: float
    seconds: float
    started_at: float  # epoch: the first attempt was due
    broken_at: float  # epoch: the fault began
    recovered_at: float  # epoch: the broken part was back
    attempted: int = 0
    completed: int = 0
    denied: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    failed: int = 0
    unmasked: int = 0  # INVITEs at the carrier not showing the attempt's temporary number
    rung_twice: int = 0  # customers with two or more INVITEs for their one attempt
    records_missing: int = 0  # customers rung without a record of a decision to dial them
    stranger_invites: int = 0  # INVITEs at the carrier for a number no attempt dials
    in_progress: int = 0  # records still in progress when the wait after recovery ended
    checked_after: float = 0.0  # s after recovery of that last look
    # attempts started in the window ``from`` s after recovery to the end: (all, completed)
    after_recovery: tuple[int, int] = (0, 0)
    during_fault: tuple[int, int] = (0, 0)  # started while the part was broken
    # first and last start (s after the fault began) of an attempt that did not complete
    not_completed_window: tuple[float, float] | None = None

    @property
    def denied_total(self) -> int:
        return sum(self.denied.values())

    def denied_text(self) -> str:
        if not self.denied:
            return "0"
        parts = ", ".join(f"{reason} {n}" for reason, n in sorted(self.denied.items()))
        return f"{self.denied_total} ({parts})"


HEADER = (
    "| fault | attempted | completed | denied (by reason) | dropped | failed | unmasked "
    "| rung twice | records missing | in progress 1 min after recovery "
    "| completed after recovery | calls not completed (s after the fault) |"
)


def row(report: FaultReport) -> str:
    window = (
        "-"
        if report.not_completed_window is None
        else f"{report.not_completed_window[0]:.1f} to {report.not_completed_window[1]:.1f}"
    )
    return (
        f"| {report.title} | {report.attempted} | {report.completed} | {report.denied_text()} "
        f"| {report.dropped} | {report.failed} | {report.unmasked} | {report.rung_twice} "
        f"| {report.records_missing} | {report.in_progress} "
        f"| {report.after_recovery[1]} of {report.after_recovery[0]} | {window} |"
    )


def table(reports: Sequence[FaultReport]) -> str:
    separator = "|" + "---|" * (HEADER.count("|") - 1)
    return "\n".join([HEADER, separator, *(row(r) for r in reports)])


def describe(report: FaultReport) -> str:
    """The run's table (one row) with what framed it, as the suite prints per fault."""
    broke = report.broken_at - report.started_at
    back = report.recovered_at - report.started_at
    return (
        f"{report.title}: {report.rate:g} calls/s for {report.seconds:g} s, broken at "
        f"{broke:.1f} s, back at {back:.1f} s; {report.in_progress} records in progress "
        f"{report.checked_after:.0f} s after recovery; attempts started while broken: "
        f"{report.during_fault[1]} of {report.during_fault[0]} completed\n{table([report])}"
    )
