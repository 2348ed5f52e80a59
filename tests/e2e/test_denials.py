"""A desk phone dials a temporary number and the real service refuses: the real dialplan
answers with the right prompt and hangs up, nothing reaches the carrier, and the call
record says why."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from masking import sites
from masking.numbers import bindings
from masking.storage.models import Binding
from tests.support.e2e import (
    MOSCOW,
    Live,
    assert_denied,
    denied_desk_call,
    denied_record,
    expire_binding,
    moscow_today,
)

pytestmark = pytest.mark.e2e


# ---- the denials -------------------------------------------------------------------------
def test_closed_hours_are_denied_with_the_opening_time(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    today = moscow_today().date()
    with live.service.db.session() as session:
        site = sites.get_site(session, "pvz1")
        sites.add_exception(session, site, today, [], note="e2e: closed today")
        # tomorrow is a normal day (daily 00:00-24:00): it opens at midnight
        sites.add_exception(session, site, today + timedelta(days=1), ["09:30-18:00"])

    call = denied_desk_call(e2e, vn.lstrip("+"), "desk1")
    assert_denied(call, e2e, "masking/closed")
    plays = call.log.playbacks()
    assert "masking/opens" in plays, plays
    assert "masking/at" in plays, plays
    # "opens <tomorrow's weekday> at 9 30"
    weekday_sunday0 = (today + timedelta(days=1)).isoweekday() % 7
    assert f"digits/day-{weekday_sunday0}" in plays, plays
    text = call.log.text()
    assert re.search(r'SayNumber\("[^"]*", "9"\)', text), text[-3000:]
    assert re.search(r'ExecIf\("[^"]*", "1\?SayNumber\(30\)"\)', text), text[-3000:]

    record = denied_record(live)
    assert record.deny_reason == "closed", record.__dict__
    assert record.direction == "outbound" and record.endpoint == "desk1"
    assert record.staff_id == live.site1.owner_id and record.status == "ended"
    assert record.recording_file is None


def test_closed_by_weekly_hours(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    now = moscow_today()
    # a two-hour window that starts three hours from now (wrapping past midnight is fine
    # for the schedule, but keep it simple: pick a window that excludes now)
    start = (now + timedelta(hours=3)).replace(minute=0)
    end = start + timedelta(hours=1)
    window = f"daily {start:%H:%M}-{end:%H:%M}"
    if end.hour == 0:
        window = f"daily {start:%H:%M}-24:00"
    with live.service.db.session() as session:
        sites.set_hours(session, sites.get_site(session, "pvz1"), window)

    call = denied_desk_call(e2e, vn.lstrip("+"), "desk1")
    assert_denied(call, e2e, "masking/closed")
    assert "masking/opens" in call.log.playbacks()
    assert denied_record(live).deny_reason == "closed"


def test_employee_without_visibility_is_not_allowed(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")  # revealed by the owner, desk1
    call = denied_desk_call(e2e, vn.lstrip("+"), "desk2")
    assert_denied(call, e2e, "masking/not-allowed")
    record = denied_record(live)
    assert record.deny_reason == "not_allowed", record.__dict__
    assert record.endpoint == "desk2" and record.staff_id == live.site1.employee_id


def test_staff_of_another_site_is_refused(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    call = denied_desk_call(e2e, vn.lstrip("+"), "desk3")
    assert_denied(call, e2e, "masking/not-allowed")
    record = denied_record(live)
    assert record.deny_reason == "other_site", record.__dict__
    assert record.endpoint == "desk3" and record.site_id == live.site2.site_id
    assert record.binding_id is None


def test_suspended_site_is_refused(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    with live.service.db.session() as session:
        sites.suspend(sites.get_site(session, "pvz1"), reason="e2e audit", by="e2e")
    call = denied_desk_call(e2e, vn.lstrip("+"), "desk1")
    assert_denied(call, e2e, "masking/suspended")
    assert denied_record(live).deny_reason == "suspended"


def test_expired_binding_is_refused(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    expire_binding(live, vn)
    call = denied_desk_call(e2e, vn.lstrip("+"), "desk1")
    assert_denied(call, e2e, "masking/expired")
    record = denied_record(live)
    assert record.deny_reason == "expired", record.__dict__
    assert record.virtual_number == vn


def test_expired_after_redis_flush_and_restore(live: Live) -> None:
    """Redis lost everything; the restore from the database must not bring back an
    expired binding."""
    e2e = live.e2e
    vn = live.reveal("S1")
    with live.service.db.session() as session:
        binding = session.scalar(select(Binding).where(Binding.virtual_number == vn))
        assert binding is not None
        binding.expires_at = datetime.now(MOSCOW) - timedelta(seconds=5)
    live.service.pool.flush()
    bindings.restore_live_state(live.service)
    call = denied_desk_call(e2e, vn.lstrip("+"), "desk1")
    assert_denied(call, e2e, "masking/expired")
    assert denied_record(live).deny_reason == "expired"
