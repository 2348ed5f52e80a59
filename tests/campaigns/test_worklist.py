"""Campaigns: the saved rule and who works it, the live worklist with "why not now", the
pick of the next due order with its explanation when there is none, callbacks, and a day
simulated with a controllable clock (three attempts in three windows, none outside the
hours). Real SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from masking.campaigns import orders, worklist
from masking.campaigns.policy import AttemptPolicy, window_of
from masking.service import MaskingService
from masking.shapes import AdminError
from masking.sites import schedule_of
from masking.states import Disposition, WaitReason
from masking.storage.models import CallRecord, Order, Site
from tests.support.clock import FakeClock
from tests.support.orders import (
    SITE,
    call,
    customer_leg,
    end_call,
    order_row,
    place,
    seed_campaign,
)

MSK = ZoneInfo("Europe/Moscow")


def at_msk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MSK).astimezone(UTC)


# ---- the campaign and its assignment -------------------------------------------------------
def test_save_campaign_checks_fields_and_updates_by_code(service: MaskingService) -> None:
    cw = seed_campaign(service, assign=False)
    bad = [
        ({"tz": "Nowhere/City"}, "tz:"),
        ({"payment_methods": ["wire transfer!"]}, "payment_methods:"),
        ({"lookback_days": 30}, "lookback_days:"),
        ({"policy": {"daily_cap": 0}}, "policy.daily_cap:"),
        ({"policy": {"windows": []}}, "policy.windows:"),
        ({"stores": [""]}, "stores:"),
    ]
    for change, message in bad:
        fields = {"tz": "Europe/Moscow", "payment_methods": ["card"], "statuses": ["pending"]}
        fields.update(change)  # type: ignore[arg-type]
        with pytest.raises(AdminError, match=message):
            worklist.save_campaign(service, SITE, "unpaid", **fields)  # type: ignore[arg-type]
    with pytest.raises(AdminError, match="code:"):
        worklist.save_campaign(service, SITE, "Bad Code", tz="UTC", payment_methods=[], statuses=[])
    again = worklist.save_campaign(
        service,
        SITE,
        "unpaid",
        tz="Europe/Kyiv",
        payment_methods=["Wire Transfer", "wire_transfer"],
        statuses=["pending"],
        policy={"min_gap_minutes": 90},
    )
    assert again == cw.campaign_id
    with service.db.session() as session:
        campaign = worklist.get_campaign(session, again)
        assert (campaign.tz, campaign.payment_methods) == ("Europe/Kyiv", ["wire_transfer"])
        assert AttemptPolicy.from_json(campaign.policy).min_gap_minutes == 90
    # None keeps the saved policy
    worklist.save_campaign(
        service, SITE, "unpaid", tz="Europe/Kyiv", payment_methods=[], statuses=[], policy=None
    )
    with service.db.session() as session:
        assert worklist.get_campaign(session, again).policy["min_gap_minutes"] == 90


def test_a_campaign_is_assigned_to_one_employee_per_period(service: MaskingService) -> None:
    cw = seed_campaign(service, assign=False)
    world = cw.world
    monday = date(2026, 11, 16)
    first = worklist.assign(service, cw.campaign_id, world.employee_id, monday, by=world.owner_id)
    assert first > 0
    with service.db.session() as session:
        assert worklist.assignee_on(session, cw.campaign_id, monday) == world.employee_id
        assert (
            worklist.assignee_on(session, cw.campaign_id, date(2026, 11, 22)) == world.employee_id
        )
        assert worklist.assignee_on(session, cw.campaign_id, date(2026, 11, 23)) is None
        assert worklist.campaigns_assigned(session, world.employee_id, monday) == [cw.campaign_id]
    with pytest.raises(AdminError, match="starts_on: the campaign is assigned from 2026-11-16"):
        worklist.assign(service, cw.campaign_id, world.manager_id, date(2026, 11, 22))
    with pytest.raises(AdminError, match="ends_on:"):
        worklist.assign(
            service, cw.campaign_id, world.manager_id, date(2026, 12, 1), date(2026, 11, 30)
        )
    with pytest.raises(AdminError, match="staff_id:"):
        worklist.assign(service, cw.campaign_id, 9999, date(2026, 11, 23))
    with pytest.raises(worklist.CampaignNotFound):
        worklist.assign(service, 9999, world.employee_id, date(2026, 11, 23))
    second = worklist.assign(service, cw.campaign_id, world.manager_id, date(2026, 11, 23))
    with service.db.session() as session:
        assert worklist.assignee_on(session, cw.campaign_id, date(2026, 11, 29)) == world.manager_id
    assert second != first


# ---- the list -------------------------------------------------------------------------------
def test_the_list_is_the_saved_rule_newest_first(service: MaskingService, clock: FakeClock) -> None:
    cw = seed_campaign(service)  # Wednesday 2026-11-18, 12:00 in Moscow
    today = date(2026, 11, 18)
    listed = {
        "O-1": place(service, "O-1", at_msk(today, 8)),
        "O-2": place(service, "O-2", at_msk(today - timedelta(days=1), 0, 5)),
        "O-3": place(service, "O-3", at_msk(today, 11), status="pending"),
    }
    place(service, "O-4", at_msk(today - timedelta(days=2), 23, 59))  # before yesterday
    place(service, "O-5", at_msk(today, 9), payment_method="card")
    place(service, "O-6", at_msk(today, 9), status="processing")
    page = worklist.worklist(service, cw.campaign_id, clock.now)
    assert [r.external_ref for r in page.rows] == ["O-3", "O-1", "O-2"]
    assert page.total == 3 and page.counts == {worklist.READY: 3}
    second = worklist.worklist(service, cw.campaign_id, clock.now, offset=1, limit=1)
    assert [r.order_id for r in second.rows] == [listed["O-1"]]
    assert second.total == 3
    # a new matching order appears at once; a confirmed one is gone
    place(service, "O-7", clock.now - timedelta(minutes=1))
    page = worklist.worklist(service, cw.campaign_id, clock.now)
    assert page.rows[0].external_ref == "O-7" and page.total == 4
    with pytest.raises(worklist.CampaignNotFound):
        worklist.worklist(service, 999, clock.now)
    with pytest.raises(AdminError):
        worklist.worklist(service, cw.campaign_id, clock.now, limit=0)


def test_on_monday_the_list_starts_on_friday(service: MaskingService, clock: FakeClock) -> None:
    cw = seed_campaign(service)
    monday = date(2026, 11, 23)
    clock.now = at_msk(monday, 10)
    place(service, "O-1", at_msk(monday - timedelta(days=3), 0, 1))  # Friday
    place(service, "O-2", at_msk(monday - timedelta(days=4), 23))  # Thursday
    page = worklist.worklist(service, cw.campaign_id, clock.now)
    assert [r.external_ref for r in page.rows] == ["O-1"]
    clock.now = at_msk(monday + timedelta(days=1), 10)  # Tuesday: from Monday only
    assert worklist.worklist(service, cw.campaign_id, clock.now).total == 0


def test_each_row_says_why_not_now_and_until_when(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    staff = cw.employee_id
    fresh = place(service, "O-1", clock.now - timedelta(hours=3))
    rang = place(service, "O-2", clock.now - timedelta(hours=2))
    busy = place(service, "O-3", clock.now - timedelta(hours=1))
    call(service, clock, rang, staff, Disposition.NO_ANSWER)  # 12:00: the afternoon is used
    call(service, clock, busy, staff, Disposition.BUSY)
    page = worklist.worklist(service, cw.campaign_id, clock.now, staff_id=staff)
    rows = {r.order_id: r for r in page.rows}
    assert rows[fresh].verdict.dialable and rows[fresh].attempts == 0
    # the gap ends at 13:00, the afternoon is used: the evening window opens at 17:00, and
    # the used window is the reason (it holds the order the longest)
    assert rows[rang].verdict.reason is WaitReason.WINDOW_DONE
    assert rows[rang].verdict.until == at_msk(date(2026, 11, 18), 17)
    assert rows[rang].verdict.window == "evening"
    assert (rows[rang].attempts_today, rows[rang].last_outcome) == (1, Disposition.NO_ANSWER)
    assert rows[busy].verdict.reason is WaitReason.BUSY_RETRY
    assert rows[busy].verdict.until == rows[busy].last_attempt_at + timedelta(minutes=10)  # type: ignore[operator]
    assert page.counts == {worklist.READY: 1, "window_done": 1, "busy_retry": 1}
    assert (page.earliest, page.earliest_reason) == (rows[busy].verdict.until, "busy_retry")
    view = worklist.order_row(service, rang, clock.now, staff_id=staff)
    assert view.verdict == rows[rang].verdict


def test_pick_next_takes_the_newest_dialable_and_explains_an_empty_list(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    staff = cw.employee_id
    older = place(service, "O-1", clock.now - timedelta(hours=3))
    newer = place(service, "O-2", clock.now - timedelta(hours=1))
    first = worklist.pick_next(service, cw.campaign_id, staff, clock.now)
    assert isinstance(first, worklist.Picked) and first.order_id == newer
    second = worklist.pick_next(service, cw.campaign_id, staff, clock.now)
    assert isinstance(second, worklist.Picked) and second.order_id == older
    third = worklist.pick_next(service, cw.campaign_id, staff, clock.now)
    assert isinstance(third, worklist.Empty)
    assert third.counts == {"dialing": 2} and third.total == 2
    with service.db.session() as session:
        assert worklist.release(session, second.order_id, clock.now, token=second.token)
        assert not worklist.release(session, second.order_id, clock.now, token="other")
    again = worklist.pick_next(service, cw.campaign_id, staff, clock.now)
    assert isinstance(again, worklist.Picked) and again.order_id == older
    # both called: nothing dialable, and the answer says why and until when
    call_id = worklist.dial_order(service, newer, staff, claimed=first.token)
    assert customer_leg(service, call_id) == "dial"
    end_call(service, clock, call_id)
    busy_from = clock.now
    call_id = worklist.dial_order(service, older, staff, claimed=again.token)
    assert customer_leg(service, call_id) == "dial"
    end_call(service, clock, call_id, Disposition.BUSY)
    empty = worklist.pick_next(service, cw.campaign_id, staff, clock.now)
    assert isinstance(empty, worklist.Empty)
    # the newer one: no answer at 12:00, the afternoon used (the gap ends sooner)
    assert empty.counts == {"window_done": 1, "busy_retry": 1}
    assert empty.earliest_reason == "busy_retry"
    assert empty.earliest == busy_from + timedelta(minutes=10)  # from the attempt's start
    clock.now = empty.earliest
    retried = worklist.pick_next(service, cw.campaign_id, staff, clock.now)
    assert isinstance(retried, worklist.Picked) and retried.order_id == older


def test_a_stale_hint_is_corrected_by_the_pick(service: MaskingService, clock: FakeClock) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1", clock.now - timedelta(hours=1))
    # 21:30 in Moscow: every window is over; the stored hint still says "dialable"
    clock.now = at_msk(date(2026, 11, 18), 21, 30)
    empty = worklist.pick_next(service, cw.campaign_id, cw.employee_id, clock.now)
    assert isinstance(empty, worklist.Empty)
    assert empty.counts == {"window_closed": 1}
    assert empty.earliest == at_msk(date(2026, 11, 19), 9)
    order = order_row(service, order_id)
    assert (order.wait_reason, order.wait_detail) == ("window_closed", "morning")


def test_a_callback_is_its_agents_then_anyones(service: MaskingService, clock: FakeClock) -> None:
    cw = seed_campaign(service)
    agent, other = cw.employee_id, cw.world.manager_id
    promised = place(service, "O-1", clock.now - timedelta(hours=5))
    call(service, clock, promised, agent, Disposition.ANSWERED, seconds=40)
    due = clock.now + timedelta(hours=1)
    orders.set_callback(service, promised, agent, due)
    newer = place(service, "O-2", clock.now - timedelta(minutes=1))
    clock.now = due
    by_other = worklist.pick_next(service, cw.campaign_id, other, clock.now)
    assert isinstance(by_other, worklist.Picked) and by_other.order_id == newer
    with service.db.session() as session:
        worklist.release(session, newer, clock.now, token=by_other.token)
    by_agent = worklist.pick_next(service, cw.campaign_id, agent, clock.now)
    # the agent's own due callback comes before the newer order
    assert isinstance(by_agent, worklist.Picked) and by_agent.order_id == promised
    with service.db.session() as session:
        worklist.release(session, promised, clock.now, token=by_agent.token)
        order = session.get(Order, promised)
        assert order is not None
        assert order.wait_reason == WaitReason.CALLBACK_OWNED
    with pytest.raises(worklist.NotDialable) as owned:
        worklist.dial_order(service, promised, other)
    assert owned.value.verdict.reason is WaitReason.CALLBACK_OWNED
    clock.advance(minutes=15)  # handed over
    call_id = worklist.dial_order(service, promised, other)
    assert customer_leg(service, call_id) == "dial"
    end_call(service, clock, call_id, Disposition.NO_ANSWER)
    order = order_row(service, promised)
    assert (order.callback_at, order.callback_owner_id) == (None, None)


# ---- a day ------------------------------------------------------------------------------------
def test_a_simulated_day_gives_three_attempts_in_three_windows_inside_the_hours(
    service: MaskingService, clock: FakeClock
) -> None:
    """Orders that never answer, customers in three time zones, the centre open
    08:00-22:00 Moscow time: a picker working every five minutes from midnight to
    midnight makes exactly three attempts per order, one in each of the customer's
    windows, each inside the centre's hours, at least an hour apart; the next day starts
    again in the first usable window."""
    cw = seed_campaign(service, hours="daily 08:00-22:00")
    day = date(2026, 11, 18)
    yesterday = at_msk(day - timedelta(days=1), 15)
    zones = {
        "O-1": "Europe/Moscow",
        "O-2": "Europe/Moscow",
        "O-3": "Europe/Kyiv",  # two hours behind Moscow in November
        "O-4": "Asia/Yekaterinburg",  # two hours ahead
    }
    ids = {ref: place(service, ref, yesterday, customer_tz=tz) for ref, tz in zones.items()}
    tick = at_msk(day, 0)
    end = at_msk(day + timedelta(days=1), 0)
    dials = 0
    late = at_msk(day, 21, 30)
    while tick < end:
        clock.now = tick
        if tick == late:  # after every window: it waits for tomorrow
            place(service, "O-5", late)
        while True:
            picked = worklist.pick_next(service, cw.campaign_id, cw.employee_id, clock.now)
            if isinstance(picked, worklist.Empty):
                break
            call_id = worklist.dial_order(
                service,
                picked.order_id,
                cw.employee_id,
                campaign_id=cw.campaign_id,
                claimed=picked.token,
            )
            assert customer_leg(service, call_id) == "dial"
            end_call(service, clock, call_id, Disposition.NO_ANSWER, seconds=40)
            dials += 1
        tick += timedelta(minutes=5)
    assert dials == 12
    policy = AttemptPolicy()
    with service.db.session() as session:
        site = session.scalar(select(Site))
        assert site is not None
        centre = schedule_of(site)
        rows = session.execute(
            select(Order.external_ref, CallRecord.started_at, CallRecord.disposition)
            .join(CallRecord, CallRecord.case_id == Order.case_id)
            .order_by(CallRecord.started_at)
        ).all()
    made: dict[str, list[datetime]] = defaultdict(list)
    for ref, started, disposition in rows:
        assert disposition == Disposition.NO_ANSWER
        made[ref].append(started)
    assert set(made) == set(ids)  # not O-5
    for ref, times in made.items():
        tz = ZoneInfo(zones[ref])
        windows = [window_of(policy, t, tz) for t in times]
        assert sorted(windows) == ["afternoon", "evening", "morning"], (ref, times)  # type: ignore[type-var]
        assert all(centre.is_open(t) for t in times), (ref, times)
        assert all(b - a >= timedelta(minutes=60) for a, b in pairwise(times))
    # Yekaterinburg's morning (09:00-12:00 there) starts before the centre opens at 08:00
    # Moscow: its first attempt waits for the centre
    first_tick = timedelta(minutes=5)
    assert at_msk(day, 8) <= made["O-4"][0] < at_msk(day, 8) + first_tick
    assert at_msk(day, 10) <= made["O-3"][0] < at_msk(day, 10) + first_tick  # 09:00 in Kyiv
    assert at_msk(day, 9) <= made["O-1"][0] < at_msk(day, 9) + first_tick
    clock.now = end
    report = worklist.day_report(service, cw.campaign_id, day)
    assert report["in_list"] == 5 and report["attempts"] == 12
    assert report["three_windows"] == 4 and report["skipped_why"] == {"arrived_late": 1}
    assert (report["reached"], report["confirmed"]) == (0, 0)
    # the next morning the orders of the day before yesterday have left the list (seed 003:
    # from yesterday to today); the late one waits for its first window
    clock.now = at_msk(day + timedelta(days=1), 7)
    empty = worklist.pick_next(service, cw.campaign_id, cw.employee_id, clock.now)
    assert isinstance(empty, worklist.Empty)
    assert (empty.total, empty.counts) == (1, {"window_closed": 1})
    assert empty.earliest == at_msk(day + timedelta(days=1), 9)


def test_the_day_report_says_why_orders_were_skipped(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    day = date(2026, 11, 18)
    staff = cw.employee_id
    clock.now = at_msk(day, 9)
    called = place(service, "O-1", at_msk(day, 8))
    place(service, "O-2", at_msk(day, 8, 30))  # nobody calls it
    confirmed = place(service, "O-3", at_msk(day, 8, 45))
    call(service, clock, called, staff, Disposition.NO_ANSWER)
    call(service, clock, confirmed, staff, Disposition.ANSWERED, seconds=30)
    orders.confirm(service, confirmed, staff, "Confirmed")
    clock.now = at_msk(day, 19)
    place(service, "O-4", at_msk(day, 18, 50))  # only the evening was left
    today = worklist.day_report(service, cw.campaign_id, day)
    assert (today["in_list"], today["attempts"], today["reached"], today["confirmed"]) == (
        4,
        2,
        1,
        1,
    )
    assert today["skipped_why"] == {"dialable": 3}
    clock.now = at_msk(day + timedelta(days=1), 10)
    past = worklist.day_report(service, cw.campaign_id, day)
    assert past["skipped_why"] == {"arrived_late": 1, "fewer_windows": 1, "not_called": 1}
    assert past["orders_called"] == 2 and past["declined"] == 0
