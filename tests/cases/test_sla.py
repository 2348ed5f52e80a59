"""SLA clocks: elapsed time, or only the site's open hours (weekends, holidays, DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from masking.cases import sla
from masking.hours import Schedule, ScheduleError, parse_weekly_text
from masking.service import MaskingService
from masking.shapes import AdminError
from masking.sites import get_site
from masking.states import CaseStatus
from masking.storage.models import Case, SlaPolicy
from tests.support.factories import seed_site

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def schedule(text: str, exceptions: dict[date, list[list[str]]] | None = None) -> Schedule:
    return Schedule.from_data("Europe/Berlin", parse_weekly_text(text), exceptions)


def test_without_a_schedule_time_simply_elapses() -> None:
    start = berlin(2026, 3, 28, 23, 0)
    assert sla.deadline(start, 120, None) == start + timedelta(hours=2)
    with pytest.raises(ValueError):
        sla.deadline(datetime(2026, 3, 28, 23, 0), 120, None)


def test_around_the_clock_counts_real_hours_over_the_spring_change() -> None:
    # 29 March 2026 has 23 hours in Berlin: 24 real hours later the wall clock says 13:00
    due = sla.deadline(berlin(2026, 3, 28, 12, 0), 24 * 60, schedule("daily 00:00-24:00"))
    assert due == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 13


def test_around_the_clock_counts_real_hours_over_the_autumn_change() -> None:
    # 25 October 2026 has 25 hours: 24 real hours from its midnight end at 23:00
    due = sla.deadline(berlin(2026, 10, 25, 0, 0), 24 * 60, schedule("daily 00:00-24:00"))
    assert due.astimezone(BERLIN) == berlin(2026, 10, 25, 23, 0)


def test_working_hours_skip_the_closed_weekend_and_the_clock_change() -> None:
    hours = schedule("mon-fri 09:00-17:00")
    # Friday 16:00: one hour left on Friday, the second on Monday (now summer time)
    due = sla.deadline(berlin(2026, 3, 27, 16, 0), 120, hours)
    assert due == berlin(2026, 3, 30, 10, 0)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_working_hours_skip_a_holiday() -> None:
    hours = schedule("mon-fri 09:00-17:00", {date(2026, 4, 6): []})  # Easter Monday
    assert sla.deadline(berlin(2026, 4, 3, 16, 30), 60, hours) == berlin(2026, 4, 7, 9, 30)


def test_a_shortened_day_counts_only_its_hours() -> None:
    hours = schedule("mon-fri 09:00-17:00", {date(2026, 12, 24): [["09:00", "12:00"]]})
    assert sla.deadline(berlin(2026, 12, 24, 11, 0), 120, hours) == berlin(2026, 12, 25, 10, 0)


def test_received_before_opening_starts_at_opening() -> None:
    hours = schedule("mon-fri 09:00-17:00")
    assert sla.deadline(berlin(2026, 11, 18, 7, 0), 60, hours) == berlin(2026, 11, 18, 10, 0)
    assert sla.deadline(berlin(2026, 11, 18, 16, 0), 60, hours) == berlin(2026, 11, 18, 17, 0)


def test_an_interval_across_midnight_counts_from_the_day_before() -> None:
    hours = schedule("daily 22:00-02:00")
    assert sla.deadline(berlin(2026, 11, 18, 1, 0), 30, hours) == berlin(2026, 11, 18, 1, 30)
    assert sla.deadline(berlin(2026, 11, 18, 1, 30), 60, hours) == berlin(2026, 11, 18, 22, 30)


def test_a_site_that_never_opens() -> None:
    with pytest.raises(ScheduleError):
        sla.deadline(berlin(2026, 11, 18, 9, 0), 60, schedule(""))


def _case(**fields: object) -> Case:
    base: dict[str, object] = {
        "status": CaseStatus.NEW,
        "received_at": datetime(2026, 11, 18, 9, 0, tzinfo=UTC),
        "first_call_due_at": datetime(2026, 11, 18, 11, 0, tzinfo=UTC),
        "due_at": datetime(2026, 11, 19, 9, 0, tzinfo=UTC),
        "first_attempt_at": None,
        "closed_at": None,
        "closed_automatically": False,
    }
    base.update(fields)
    return Case(**base)


def test_sla_state() -> None:
    at = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    assert sla.sla_state(_case(), at) == "on_time"
    assert sla.sla_state(_case(), at + timedelta(hours=2)) == "first_call_missed"
    called = _case(first_attempt_at=at, status=CaseStatus.IN_PROGRESS)
    assert sla.sla_state(called, at + timedelta(hours=5)) == "on_time"
    late = _case(first_attempt_at=at + timedelta(hours=3), status=CaseStatus.IN_PROGRESS)
    assert sla.sla_state(late, at + timedelta(hours=5)) == "first_call_missed"
    assert sla.sla_state(called, at + timedelta(days=1)) == "breached"
    resolved_late = _case(
        first_attempt_at=at, status=CaseStatus.RESOLVED, closed_at=at + timedelta(days=2)
    )
    assert sla.sla_state(resolved_late, at + timedelta(days=3)) == "breached"
    resolved = _case(first_attempt_at=at, status=CaseStatus.RESOLVED, closed_at=at)
    assert sla.sla_state(resolved, at + timedelta(days=3)) == "on_time"


def test_policy_site_row_wins_over_the_default(service: MaskingService) -> None:
    seed_site(service)
    seed_site(service, "pvz2")
    with service.db.session() as session:
        site, other = get_site(session, "pvz1"), get_site(session, "pvz2")
        assert sla.policy_for(session, site, "appeal", "complaint") == (120, 1440)
        session.add(
            SlaPolicy(
                site_id=site.id,
                kind="appeal",
                topic="complaint",
                first_call_minutes=60,
                resolve_minutes=480,
            )
        )
        session.flush()
        assert sla.policy_for(session, site, "appeal", "complaint") == (60, 480)
        assert sla.policy_for(session, other, "appeal", "complaint") == (120, 1440)
        assert sla.policy_for(session, site, "confirmation", "any") == (120, 1440)


def test_due_times_follow_the_site_setting(service: MaskingService) -> None:
    seed_site(service, hours="mon-fri 09:00-18:00", tz="Europe/Berlin")
    received = berlin(2026, 11, 20, 17, 0)  # a Friday
    with service.db.session() as session:
        site = get_site(session, "pvz1")
        assert sla.due_times(site, received, 120, 1440) == (
            received + timedelta(hours=2),
            received + timedelta(days=1),
        )
        site.sla_working_hours = True
        assert sla.due_times(site, received, 120, 1440) == (
            berlin(2026, 11, 23, 10, 0),
            berlin(2026, 11, 25, 14, 0),  # 1 + 9 + 9 + 5 working hours
        )


def test_set_policy_overrides_per_site_and_changes_the_default(service: MaskingService) -> None:
    seed_site(service, "a")
    seed_site(service, "b")
    with service.db.session() as session:
        a, b = get_site(session, "a"), get_site(session, "b")
        sla.set_policy(session, a, "appeal", "complaint", 30, 480)
        sla.set_policy(session, a, "appeal", "complaint", 45, 600)  # replaces, not adds
        sla.set_policy(session, None, "appeal", "complaint", 90, 1200)
        assert sla.policy_for(session, a, "appeal", "complaint") == (45, 600)
        assert sla.policy_for(session, b, "appeal", "complaint") == (90, 1200)
        with pytest.raises(AdminError, match=r"^type:"):
            sla.set_policy(session, a, "appeal", "praise", 30, 60)
        with pytest.raises(AdminError, match=r"^resolve:"):
            sla.set_policy(session, a, "appeal", "complaint", 90, 30)
        with pytest.raises(AdminError, match=r"^first_call:"):
            sla.set_policy(session, a, "appeal", "complaint", 0, 30)
