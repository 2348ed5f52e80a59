"""SLA clocks of a case: how long it may wait for the first call (a target) and for its
resolution (a hard limit), counted around the clock or, for a site that asks for it
(``Site.sla_working_hours``), only while the site is open.

Working time is counted on real (UTC) time: each open interval is a span of the site's
wall clock, turned into UTC at both ends, so a DST night is as long as it really is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.cases.rules import OPEN
from masking.hours import Schedule, ScheduleError
from masking.shapes import AdminError
from masking.sites import schedule_of
from masking.states import AppealType, CaseKind
from masking.storage.models import Case, Site, SlaPolicy

DEFAULT_FIRST_CALL_MINUTES = 120
DEFAULT_RESOLVE_MINUTES = 24 * 60
# how far ahead working time is looked for before the site is taken as never open
HORIZON_DAYS = 366

SlaState = Literal["on_time", "first_call_missed", "breached"]


def policy_for(session: Session, site: Site, kind: str, topic: str) -> tuple[int, int]:
    """(first call, resolve) minutes: the site's own policy, else the default one
    (``site_id`` NULL), else 120 / 1440."""
    rows = session.execute(
        select(SlaPolicy.site_id, SlaPolicy.first_call_minutes, SlaPolicy.resolve_minutes).where(
            SlaPolicy.kind == kind,
            SlaPolicy.topic == topic,
            (SlaPolicy.site_id == site.id) | SlaPolicy.site_id.is_(None),
        )
    ).all()
    if not rows:
        return DEFAULT_FIRST_CALL_MINUTES, DEFAULT_RESOLVE_MINUTES
    # the site's own row sorts first
    _, first_call, resolve = min(rows, key=lambda r: r[0] is None)
    return first_call, resolve


MAX_SLA_MINUTES = 30 * 24 * 60


def set_policy(
    session: Session,
    site: Site | None,
    kind: str,
    topic: str,
    first_call_minutes: int,
    resolve_minutes: int,
) -> SlaPolicy:
    """Set how long cases of ``kind`` and ``topic`` may wait at ``site`` (None: the default
    for every site). Applies to cases received from now on; raises :class:`AdminError`."""
    topics = {CaseKind.APPEAL: {t.value for t in AppealType}}.get(CaseKind(kind), set())
    if topic not in topics:
        raise AdminError(f"type: must be one of {', '.join(sorted(topics))}")
    if not 1 <= first_call_minutes <= MAX_SLA_MINUTES:
        raise AdminError(f"first_call: minutes between 1 and {MAX_SLA_MINUTES}")
    if not first_call_minutes <= resolve_minutes <= MAX_SLA_MINUTES:
        raise AdminError(f"resolve: minutes between the first call's and {MAX_SLA_MINUTES}")
    site_id = site.id if site is not None else None
    policy = session.scalar(
        select(SlaPolicy).where(
            SlaPolicy.site_id.is_(None) if site_id is None else SlaPolicy.site_id == site_id,
            SlaPolicy.kind == kind,
            SlaPolicy.topic == topic,
        )
    )
    if policy is None:
        policy = SlaPolicy(site_id=site_id, kind=kind, topic=topic)
        session.add(policy)
    policy.first_call_minutes = first_call_minutes
    policy.resolve_minutes = resolve_minutes
    session.flush()
    return policy


def deadline(start: datetime, minutes: int, schedule: Schedule | None) -> datetime:
    """``minutes`` after ``start``: elapsed time without a schedule, else only the time the
    schedule is open. Raises :class:`ScheduleError` if it is never open within a year."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    remaining = timedelta(minutes=minutes)
    if schedule is None:
        return start + remaining
    cursor = start.astimezone(UTC)
    if remaining <= timedelta(0):
        return cursor
    # the day before: an interval crossing midnight may still be open at ``start``
    first_day = start.astimezone(schedule.tz).date() - timedelta(days=1)
    for span_start, span_end in schedule.open_spans(first_day, HORIZON_DAYS + 1):
        begin = max(span_start, cursor)
        if span_end <= begin:
            continue
        if span_end - begin >= remaining:
            return begin + remaining
        remaining -= span_end - begin
        cursor = span_end
    raise ScheduleError(f"the schedule has no open time within {HORIZON_DAYS} days")


def due_times(
    site: Site, received_at: datetime, first_call_minutes: int, resolve_minutes: int
) -> tuple[datetime, datetime]:
    """(first call due, resolution due) of a case received at ``received_at``."""
    schedule = schedule_of(site) if site.sla_working_hours else None
    return (
        deadline(received_at, first_call_minutes, schedule),
        deadline(received_at, resolve_minutes, schedule),
    )


def sla_state(case: Case, now: datetime) -> SlaState:
    """``breached``: open at or past ``due_at``, closed after it, or closed by the timer;
    ``first_call_missed``: no call attempt by ``first_call_due_at``; else ``on_time``."""
    if case.due_at is not None:
        if case.status in OPEN and now >= case.due_at:
            return "breached"
        if case.closed_automatically or (
            case.closed_at is not None and case.closed_at > case.due_at
        ):
            return "breached"
    if case.first_call_due_at is not None:
        first = case.first_attempt_at
        if (first is None and now > case.first_call_due_at) or (
            first is not None and first > case.first_call_due_at
        ):
            return "first_call_missed"
    return "on_time"
