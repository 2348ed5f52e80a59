"""The attempt policy of confirmation campaigns: windows, gaps, outcomes, callbacks, the
daily cap, the centre's hours, DST, and "why not now / from when"."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from masking.campaigns.policy import (
    DEFAULT_WINDOWS,
    HORIZON_DAYS,
    AttemptPolicy,
    Callback,
    PastAttempt,
    PolicyError,
    Verdict,
    Window,
    created_since,
    decide,
    local_day,
    window_of,
)
from masking.hours import Schedule, parse_weekly_text
from masking.states import Disposition, WaitReason

KYIV = ZoneInfo("Europe/Kyiv")
NEW_YORK = ZoneInfo("America/New_York")
ALMATY = ZoneInfo("Asia/Almaty")
POLICY = AttemptPolicy()
# 2026-03-10 is a Tuesday
TUESDAY = date(2026, 3, 10)


def at(tz: ZoneInfo, day: date, hh: int, mm: int = 0, *, fold: int = 0) -> datetime:
    """The wall-clock time in ``tz``, as UTC (an aware datetime in a repeated hour does
    not compare equal to other zones' ones)."""
    return datetime.combine(day, time(hh, mm, fold=fold), tz).astimezone(UTC)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def schedule(tz: str, text: str) -> Schedule:
    return Schedule.from_data(tz, parse_weekly_text(text))


KYIV_CENTRE = schedule("Europe/Kyiv", "daily 08:00-20:00")


def attempt(moment: datetime, disposition: Disposition = Disposition.NO_ANSWER) -> PastAttempt:
    return PastAttempt(moment, disposition.value)


def verdict(
    now: datetime,
    attempts: list[PastAttempt] | None = None,
    *,
    tz: ZoneInfo = KYIV,
    centre: Schedule | None = KYIV_CENTRE,
    policy: AttemptPolicy = POLICY,
    **kwargs: object,
) -> Verdict:
    return decide(
        policy,
        now=now,
        customer_tz=tz,
        centre=centre,
        attempts=attempts or [],
        **kwargs,  # type: ignore[arg-type]
    )


def blocked(v: Verdict, reason: WaitReason, until: datetime | None, window: str | None) -> None:
    assert not v.dialable
    assert v.reason is reason
    if until is None:
        assert v.until is None
    else:
        assert v.until == until.astimezone(UTC)
        assert v.until is not None and v.until.tzinfo is UTC
    assert v.window == window


def dialable(v: Verdict, now: datetime, window: str | None) -> None:
    assert v.dialable and v.reason is None
    assert v.until == now.astimezone(UTC)
    assert v.window == window


# ------------------------------------------------------------------------- the policy JSON


def test_defaults_are_the_seeds() -> None:
    assert AttemptPolicy.from_json(None) == AttemptPolicy()
    assert AttemptPolicy.from_json({}) == AttemptPolicy()
    assert [w.name for w in DEFAULT_WINDOWS] == ["morning", "afternoon", "evening"]
    assert POLICY.to_json() == {
        "windows": [
            {"name": "morning", "start": "09:00", "end": "12:00"},
            {"name": "afternoon", "start": "12:00", "end": "17:00"},
            {"name": "evening", "start": "17:00", "end": "20:00"},
        ],
        "min_gap_minutes": 60,
        "daily_cap": 5,
        "busy_retry_minutes": 10,
        "callback_handover_minutes": 15,
        "min_bridged_seconds": 10,
    }


def test_json_round_trip_and_partial() -> None:
    data = {
        "windows": [{"name": "day", "start": "10:00", "end": "13:30"}],
        "min_gap_minutes": 0,
        "daily_cap": 2,
        "busy_retry_minutes": "5",
    }
    policy = AttemptPolicy.from_json(data)
    assert policy.windows == (Window("day", time(10), time(13, 30)),)
    assert (policy.min_gap_minutes, policy.daily_cap, policy.busy_retry_minutes) == (0, 2, 5)
    assert policy.callback_handover_minutes == 15
    assert AttemptPolicy.from_json(policy.to_json()) == policy


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("nope", "policy:"),
        ({"colour": 1}, "colour: unknown field"),
        ({"windows": []}, "windows:"),
        ({"windows": "09:00-12:00"}, "windows:"),
        ({"windows": ["09:00-12:00"]}, "windows[0]:"),
        ({"windows": [{"start": "09:00", "end": "12:00"}]}, "windows[0].name:"),
        ({"windows": [{"name": " ", "start": "09:00", "end": "12:00"}]}, "windows[0].name:"),
        ({"windows": [{"name": "x" * 41, "start": "09:00", "end": "12:00"}]}, "windows[0].name"),
        ({"windows": [{"name": "a", "start": "9am", "end": "12:00"}]}, "windows[0].start:"),
        ({"windows": [{"name": "a", "start": "09:00", "end": "24:00"}]}, "windows[0].end:"),
        ({"windows": [{"name": "a", "start": "09:00"}]}, "windows[0].end:"),
        ({"windows": [{"name": "a", "start": "12:00", "end": "09:00"}]}, "windows[0].end:"),
        ({"windows": [{"name": "a", "start": "09:00", "end": "09:00"}]}, "windows[0].end:"),
        (
            {"windows": [{"name": "a", "start": "09:00", "end": "10:00", "colour": "red"}]},
            "windows[0].colour: unknown field",
        ),
        (
            {
                "windows": [
                    {"name": "a", "start": "09:00", "end": "12:00"},
                    {"name": "b", "start": "11:00", "end": "13:00"},
                ]
            },
            "windows[1].start:",
        ),
        (
            {
                "windows": [
                    {"name": "a", "start": "12:00", "end": "13:00"},
                    {"name": "b", "start": "09:00", "end": "10:00"},
                ]
            },
            "windows[1].start:",
        ),
        (
            {
                "windows": [
                    {"name": "a", "start": "09:00", "end": "10:00"},
                    {"name": "a", "start": "11:00", "end": "12:00"},
                ]
            },
            "windows[1].name:",
        ),
        ({"min_gap_minutes": -1}, "min_gap_minutes:"),
        ({"min_gap_minutes": 1441}, "min_gap_minutes:"),
        ({"min_gap_minutes": True}, "min_gap_minutes:"),
        ({"min_gap_minutes": 1.5}, "min_gap_minutes:"),
        ({"min_gap_minutes": "ten"}, "min_gap_minutes:"),
        ({"daily_cap": 0}, "daily_cap:"),
        ({"busy_retry_minutes": 2000}, "busy_retry_minutes:"),
        ({"callback_handover_minutes": -5}, "callback_handover_minutes:"),
        ({"min_bridged_seconds": 3601}, "min_bridged_seconds:"),
    ],
)
def test_bad_policy_names_the_field(data: object, field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        AttemptPolicy.from_json(data)  # type: ignore[arg-type]
    assert str(caught.value).startswith(field), str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_touching_windows_are_accepted() -> None:
    policy = AttemptPolicy.from_json(
        {
            "windows": [
                {"name": "a", "start": "09:00", "end": "12:00"},
                {"name": "b", "start": "12:00", "end": "23:59"},
            ]
        }
    )
    assert [w.name for w in policy.windows] == ["a", "b"]


# ------------------------------------------------------------------------- windows and hours


def test_fresh_order_in_a_window_is_dialable() -> None:
    now = at(KYIV, TUESDAY, 9, 30)
    dialable(verdict(now), now, "morning")
    now = at(KYIV, TUESDAY, 12)  # windows are [start, end): 12:00 is the afternoon
    dialable(verdict(now), now, "afternoon")
    now = at(KYIV, TUESDAY, 19, 59)
    dialable(verdict(now), now, "evening")


def test_outside_the_windows() -> None:
    # centre always open: only the customer's windows block
    blocked(
        verdict(at(KYIV, TUESDAY, 7), centre=None),
        WaitReason.WINDOW_CLOSED,
        at(KYIV, TUESDAY, 9),
        "morning",
    )
    blocked(
        verdict(at(KYIV, TUESDAY, 20), centre=None),
        WaitReason.WINDOW_CLOSED,
        at(KYIV, TUESDAY + timedelta(days=1), 9),
        "morning",
    )


def test_centre_closed_or_window_closed_whichever_opens_later() -> None:
    # 07:00: the centre opens at 08:00, the customer's morning window only at 09:00
    blocked(
        verdict(at(KYIV, TUESDAY, 7)),
        WaitReason.WINDOW_CLOSED,
        at(KYIV, TUESDAY, 9),
        "morning",
    )
    # a centre opening at 10:00 holds it past the window's 09:00
    blocked(
        verdict(at(KYIV, TUESDAY, 7), centre=schedule("Europe/Kyiv", "daily 10:00-20:00")),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, TUESDAY, 10),
        "morning",
    )
    # both open at 09:00: the tie goes to the centre (RULE_ORDER)
    blocked(
        verdict(at(KYIV, TUESDAY, 7), centre=schedule("Europe/Kyiv", "daily 09:00-20:00")),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, TUESDAY, 9),
        "morning",
    )
    # Saturday 10:00 is inside the window: only the centre (closed till Monday) blocks
    weekdays = schedule("Europe/Kyiv", "mon-fri 08:00-20:00")
    saturday = date(2026, 3, 14)
    blocked(
        verdict(at(KYIV, saturday, 10), centre=weekdays),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, date(2026, 3, 16), 9),
        "morning",
    )


def test_centre_hours_cut_the_windows() -> None:
    late = schedule("Europe/Kyiv", "daily 10:30-18:00")
    blocked(
        verdict(at(KYIV, TUESDAY, 9), centre=late),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, TUESDAY, 10, 30),
        "morning",
    )
    # the evening window is open 17:00-18:00 only
    now = at(KYIV, TUESDAY, 17, 59)
    dialable(verdict(now, centre=late), now, "evening")
    blocked(
        verdict(at(KYIV, TUESDAY, 18), centre=late),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, TUESDAY + timedelta(days=1), 10, 30),
        "morning",
    )


def test_centre_open_across_midnight() -> None:
    night = schedule("Europe/Kyiv", "daily 22:00-10:00")
    now = at(KYIV, TUESDAY, 9, 59)
    dialable(verdict(now, centre=night), now, "morning")
    # closed 10:00-22:00 (12 h), outside the windows 20:00-09:00 (13 h): the windows hold
    # it longest, and the next call is at the morning window's opening
    blocked(
        verdict(at(KYIV, TUESDAY, 10), centre=night),
        WaitReason.WINDOW_CLOSED,
        at(KYIV, TUESDAY + timedelta(days=1), 9),
        "morning",
    )


def test_customer_in_another_zone_than_the_centre() -> None:
    """Centre Kyiv 08:00-20:00 (UTC+2 in March), customer Almaty (UTC+5): the customer's
    09:00-20:00 meets the centre's 06:00-18:00 UTC at 11:00-20:00 Almaty."""
    blocked(
        verdict(at(ALMATY, TUESDAY, 9, 30), tz=ALMATY),
        WaitReason.CENTRE_CLOSED,
        at(ALMATY, TUESDAY, 11),
        "morning",
    )
    now = at(ALMATY, TUESDAY, 11)
    assert now == at(KYIV, TUESDAY, 8)
    dialable(verdict(now, tz=ALMATY), now, "morning")
    # evening used at 17:30 Almaty: the next is tomorrow's morning when the centre opens;
    # the used evening holds it one hour, the night outside the windows thirteen
    tries = [attempt(at(ALMATY, TUESDAY, 17, 30))]
    blocked(
        verdict(at(ALMATY, TUESDAY, 19), tries, tz=ALMATY),
        WaitReason.WINDOW_CLOSED,
        at(ALMATY, TUESDAY + timedelta(days=1), 11),
        "morning",
    )
    # the customer's evening when the centre is already closed: local 20:00 Kyiv = 23:00
    blocked(
        verdict(at(KYIV, TUESDAY, 20), tz=ALMATY),
        WaitReason.CENTRE_CLOSED,
        at(ALMATY, TUESDAY + timedelta(days=1), 11),
        "morning",
    )


def test_customer_in_new_york_with_a_kyiv_centre_has_no_evening() -> None:
    """On 2026-03-10 New York is on EDT (UTC-4, since 03-08) and Kyiv still on EET (UTC+2):
    the customer's 09:00-20:00 is 13:00-24:00 UTC, the centre's 08:00-20:00 is 06:00-18:00
    UTC. The morning fits, the afternoon has 12:00-14:00 NY, the evening nothing."""
    tries = [
        attempt(at(NEW_YORK, TUESDAY, 10)),
        attempt(at(NEW_YORK, TUESDAY, 12, 5)),
    ]
    # 13:30 NY = 17:30 UTC: the afternoon is used, the evening never meets the centre; the
    # night outside the windows is what holds it longest
    blocked(
        verdict(at(NEW_YORK, TUESDAY, 13, 30), tries, tz=NEW_YORK),
        WaitReason.WINDOW_CLOSED,
        at(NEW_YORK, TUESDAY + timedelta(days=1), 9),
        "morning",
    )
    # only the morning used: the afternoon is still there until 14:00 NY
    now = at(NEW_YORK, TUESDAY, 13, 59)
    dialable(verdict(now, tries[:1], tz=NEW_YORK), now, "afternoon")
    # 14:00 NY: the centre is closed for 12 h from now, the customer's windows for 13 h of
    # the night: the next call is at the customer's morning window
    blocked(
        verdict(at(NEW_YORK, TUESDAY, 14), tries[:1], tz=NEW_YORK),
        WaitReason.WINDOW_CLOSED,
        at(NEW_YORK, TUESDAY + timedelta(days=1), 9),
        "morning",
    )
    made = simulate(TUESDAY, NEW_YORK, KYIV_CENTRE, Disposition.NO_ANSWER)
    assert [m.astimezone(NEW_YORK).time() for m in made] == [time(9), time(12)]


def test_a_long_closure_is_looked_past() -> None:
    # closed from Tuesday to Friday: Saturday's morning, five days on
    holiday = Schedule.from_data(
        "Europe/Kyiv",
        parse_weekly_text("daily 08:00-20:00"),
        {TUESDAY + timedelta(days=d): [] for d in range(4)},
    )
    blocked(
        verdict(at(KYIV, TUESDAY, 10), centre=holiday),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, TUESDAY + timedelta(days=4), 9),
        "morning",
    )


def test_never_open_within_the_horizon_says_none() -> None:
    closed = Schedule.from_data("Europe/Kyiv", {}, {})
    blocked(verdict(at(KYIV, TUESDAY, 10), centre=closed), WaitReason.CENTRE_CLOSED, None, None)


# ------------------------------------------------------------------------- outcomes


def test_no_answer_uses_the_window_and_the_gap_applies() -> None:
    tries = [attempt(at(KYIV, TUESDAY, 9, 10))]
    # 09:30: the gap blocks too, but it ends at 10:10; the used morning holds the order
    # until the afternoon opens at 12:00
    blocked(
        verdict(at(KYIV, TUESDAY, 9, 30), tries),
        WaitReason.WINDOW_DONE,
        at(KYIV, TUESDAY, 12),
        "afternoon",
    )
    blocked(
        verdict(at(KYIV, TUESDAY, 10, 30), tries),
        WaitReason.WINDOW_DONE,
        at(KYIV, TUESDAY, 12),
        "afternoon",
    )
    now = at(KYIV, TUESDAY, 12)
    dialable(verdict(now, tries), now, "afternoon")


def test_gap_until_last_plus_sixty() -> None:
    tries = [attempt(at(KYIV, TUESDAY, 11, 40))]
    blocked(
        verdict(at(KYIV, TUESDAY, 12, 5), tries),
        WaitReason.GAP,
        at(KYIV, TUESDAY, 12, 40),
        "afternoon",
    )


def test_window_done_until_the_evening_opens() -> None:
    tries = [attempt(at(KYIV, TUESDAY, 9, 10)), attempt(at(KYIV, TUESDAY, 13))]
    blocked(
        verdict(at(KYIV, TUESDAY, 14, 30), tries),
        WaitReason.WINDOW_DONE,
        at(KYIV, TUESDAY, 17),
        "evening",
    )


def test_answered_uses_the_window_too() -> None:
    tries = [attempt(at(KYIV, TUESDAY, 13), Disposition.ANSWERED)]
    blocked(
        verdict(at(KYIV, TUESDAY, 14, 30), tries),
        WaitReason.WINDOW_DONE,
        at(KYIV, TUESDAY, 17),
        "evening",
    )


@pytest.mark.parametrize("outcome", [Disposition.BUSY, Disposition.FAILED])
def test_busy_retries_in_the_same_window(outcome: Disposition) -> None:
    tries = [attempt(at(KYIV, TUESDAY, 9, 10), outcome)]
    blocked(
        verdict(at(KYIV, TUESDAY, 9, 15), tries),
        WaitReason.BUSY_RETRY,
        at(KYIV, TUESDAY, 9, 20),
        "morning",
    )
    now = at(KYIV, TUESDAY, 9, 20)  # no 60-minute gap after busy
    dialable(verdict(now, tries), now, "morning")


def test_busy_at_the_end_of_a_window_goes_to_the_next() -> None:
    tries = [attempt(at(KYIV, TUESDAY, 11, 55), Disposition.BUSY)]
    blocked(
        verdict(at(KYIV, TUESDAY, 11, 56), tries),
        WaitReason.BUSY_RETRY,
        at(KYIV, TUESDAY, 12, 5),
        "afternoon",
    )
    # busy at 19:55: the retry would be at 20:05, but the evening closes at 20:00 and the
    # night outside the windows is what holds it until the morning
    tries = [attempt(at(KYIV, TUESDAY, 19, 55), Disposition.BUSY)]
    blocked(
        verdict(at(KYIV, TUESDAY, 19, 56), tries),
        WaitReason.WINDOW_CLOSED,
        at(KYIV, TUESDAY + timedelta(days=1), 9),
        "morning",
    )


def test_busy_after_no_answer_keeps_the_gap_of_the_no_answer() -> None:
    # morning used at 11:30; a busy desk-phone call at 12:05: the retry ends at 12:15, the
    # gap of the no answer at 12:30, so the gap is what holds the order
    tries = [
        attempt(at(KYIV, TUESDAY, 11, 30)),
        attempt(at(KYIV, TUESDAY, 12, 5), Disposition.BUSY),
    ]
    blocked(
        verdict(at(KYIV, TUESDAY, 12, 10), tries),
        WaitReason.GAP,
        at(KYIV, TUESDAY, 12, 30),
        "afternoon",
    )
    blocked(
        verdict(at(KYIV, TUESDAY, 12, 20), tries),
        WaitReason.GAP,
        at(KYIV, TUESDAY, 12, 30),
        "afternoon",
    )


def test_denied_calls_are_not_attempts() -> None:
    now = at(KYIV, TUESDAY, 9, 30)
    tries = [attempt(at(KYIV, TUESDAY, 9, 10), Disposition.DENIED)]
    dialable(verdict(now, tries), now, "morning")


def test_dialing_and_done() -> None:
    now = at(KYIV, TUESDAY, 9, 30)
    live = [
        attempt(at(KYIV, TUESDAY, 9), Disposition.NO_ANSWER),
        attempt(now, Disposition.IN_PROGRESS),
    ]
    blocked(verdict(now, live), WaitReason.DIALING, None, "morning")
    blocked(verdict(now, live, closed=True), WaitReason.DONE, None, None)
    blocked(verdict(now, closed=True), WaitReason.DONE, None, None)


def test_daily_cap_until_tomorrows_first_window() -> None:
    tries = [attempt(at(KYIV, TUESDAY, 9, 10 * i), Disposition.BUSY) for i in range(5)]
    blocked(
        verdict(at(KYIV, TUESDAY, 9, 45), tries),
        WaitReason.DAILY_CAP,
        at(KYIV, TUESDAY + timedelta(days=1), 9),
        "morning",
    )
    # the cap is reported before the centre's hours and the callback
    blocked(
        verdict(
            at(KYIV, TUESDAY, 21),
            tries,
            callback=Callback(at(KYIV, TUESDAY, 15), owner_id=7),
            staff_id=7,
        ),
        WaitReason.DAILY_CAP,
        at(KYIV, TUESDAY + timedelta(days=1), 8),  # a callback needs only the centre
        None,
    )


def test_daily_cap_counts_the_customers_local_day() -> None:
    # 23:30 Almaty on Monday is 20:30 Kyiv; Tuesday 00:30 Almaty is still Monday in Kyiv
    all_day = schedule("Europe/Kyiv", "daily 00:00-24:00")
    wide = AttemptPolicy(
        windows=(Window("all", time(0), time(23, 59)),), daily_cap=2, min_gap_minutes=0
    )
    monday = TUESDAY - timedelta(days=1)
    tries = [attempt(at(ALMATY, monday, 22)), attempt(at(ALMATY, monday, 23, 30))]
    blocked(
        verdict(at(ALMATY, monday, 23, 45), tries, tz=ALMATY, centre=all_day, policy=wide),
        WaitReason.DAILY_CAP,
        at(ALMATY, TUESDAY, 0),
        "all",
    )
    assert local_day(at(ALMATY, TUESDAY, 0, 30), ALMATY) == TUESDAY
    assert local_day(at(ALMATY, TUESDAY, 0, 30), KYIV) == monday


# ------------------------------------------------------------------------- callbacks


def test_callback_then_owner_only_then_anyone() -> None:
    answered = [attempt(at(KYIV, TUESDAY, 10), Disposition.ANSWERED)]
    callback = Callback(at(KYIV, TUESDAY, 15), owner_id=7)
    blocked(
        verdict(at(KYIV, TUESDAY, 11), answered, callback=callback, staff_id=7),
        WaitReason.CALLBACK,
        at(KYIV, TUESDAY, 15),
        "afternoon",
    )
    # others: before the callback, until the hand-over
    blocked(
        verdict(at(KYIV, TUESDAY, 11), answered, callback=callback, staff_id=8),
        WaitReason.CALLBACK,
        at(KYIV, TUESDAY, 15, 15),
        "afternoon",
    )
    now = at(KYIV, TUESDAY, 15, 5)
    dialable(verdict(now, answered, callback=callback, staff_id=7), now, "afternoon")
    for other in (8, None):
        blocked(
            verdict(now, answered, callback=callback, staff_id=other),
            WaitReason.CALLBACK_OWNED,
            at(KYIV, TUESDAY, 15, 15),
            "afternoon",
        )
    now = at(KYIV, TUESDAY, 15, 15)
    dialable(verdict(now, answered, callback=callback, staff_id=8), now, "afternoon")
    anyone = Callback(at(KYIV, TUESDAY, 15), owner_id=None)
    dialable(
        verdict(at(KYIV, TUESDAY, 15), answered, callback=anyone),
        at(KYIV, TUESDAY, 15),
        "afternoon",
    )


def test_callback_ignores_windows_and_the_gap_but_not_the_centre() -> None:
    # answered at 15:00 (afternoon used, gap until 16:00), callback agreed for 15:30
    answered = [attempt(at(KYIV, TUESDAY, 15), Disposition.ANSWERED)]
    now = at(KYIV, TUESDAY, 15, 30)
    dialable(
        verdict(now, answered, callback=Callback(now, owner_id=7), staff_id=7), now, "afternoon"
    )
    # outside every window, centre open till 22:00
    late = schedule("Europe/Kyiv", "daily 08:00-22:00")
    now = at(KYIV, TUESDAY, 21)
    dialable(
        verdict(now, answered, centre=late, callback=Callback(now, owner_id=7), staff_id=7),
        now,
        None,
    )
    # the centre closes at 20:00: the next morning at 08:00 (not the 09:00 window)
    blocked(
        verdict(now, answered, callback=Callback(now, owner_id=7), staff_id=7),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, TUESDAY + timedelta(days=1), 8),
        None,
    )


def test_a_call_at_or_after_the_callback_ends_it() -> None:
    callback = Callback(at(KYIV, TUESDAY, 15), owner_id=7)
    tries = [
        attempt(at(KYIV, TUESDAY, 10), Disposition.ANSWERED),
        attempt(at(KYIV, TUESDAY, 15, 1)),
    ]
    # back to the ordinary rules: the afternoon is used
    blocked(
        verdict(at(KYIV, TUESDAY, 16, 30), tries, callback=callback, staff_id=7),
        WaitReason.WINDOW_DONE,
        at(KYIV, TUESDAY, 17),
        "evening",
    )


# ------------------------------------------------------------------------- DST


def test_kyiv_spring_forward_windows() -> None:
    saturday, sunday = date(2026, 3, 28), date(2026, 3, 29)
    # Saturday EET (UTC+2), Sunday EEST (UTC+3): 09:00 is 07:00 UTC, then 06:00 UTC (the
    # centre opens an hour before the window: the window is the reason)
    blocked(
        verdict(at(KYIV, saturday, 21)),
        WaitReason.WINDOW_CLOSED,
        utc(2026, 3, 29, 6),
        "morning",
    )
    assert at(KYIV, sunday, 9) == utc(2026, 3, 29, 6)
    blocked(
        verdict(at(KYIV, saturday, 7)), WaitReason.WINDOW_CLOSED, utc(2026, 3, 28, 7), "morning"
    )
    # evening of the short day: 17:00 EEST = 14:00 UTC
    tries = [attempt(at(KYIV, sunday, 9, 5)), attempt(at(KYIV, sunday, 12, 5))]
    blocked(
        verdict(at(KYIV, sunday, 14), tries),
        WaitReason.WINDOW_DONE,
        utc(2026, 3, 29, 14),
        "evening",
    )


def test_kyiv_spring_forward_gap_is_elapsed_time() -> None:
    """The clock jumps 03:00 -> 04:00: 60 minutes after 02:20 is 04:20 on the wall clock."""
    night = AttemptPolicy(
        windows=(Window("late", time(1), time(2, 30)), Window("early", time(2, 30), time(8)))
    )
    sunday = date(2026, 3, 29)
    tries = [attempt(at(KYIV, sunday, 2, 20))]  # 00:20 UTC, in "late"
    blocked(
        verdict(at(KYIV, sunday, 2, 35), tries, centre=None, policy=night),
        WaitReason.GAP,
        utc(2026, 3, 29, 1, 20),
        "early",
    )
    assert utc(2026, 3, 29, 1, 20).astimezone(KYIV).time() == time(4, 20)


def test_kyiv_fall_back_windows_and_repeated_hour() -> None:
    saturday, sunday = date(2026, 10, 24), date(2026, 10, 25)
    # Saturday EEST (UTC+3) 09:00 = 06:00 UTC; Sunday EET (UTC+2) 09:00 = 07:00 UTC
    blocked(
        verdict(at(KYIV, saturday, 7)), WaitReason.WINDOW_CLOSED, utc(2026, 10, 24, 6), "morning"
    )
    blocked(
        verdict(at(KYIV, saturday, 21)), WaitReason.WINDOW_CLOSED, utc(2026, 10, 25, 7), "morning"
    )
    # the clock falls back 04:00 -> 03:00: the repeated hour is in the same window once
    night = AttemptPolicy(
        windows=(Window("night", time(3), time(4)), Window("early", time(4), time(8)))
    )
    first_0330 = at(KYIV, sunday, 3, 30)  # EEST: 00:30 UTC
    assert first_0330 == utc(2026, 10, 25, 0, 30)
    tries = [attempt(first_0330)]
    # the second 03:30 (EET, 01:30 UTC) is past the gap but still the used "night" window,
    # which runs 03:00 EEST .. 04:00 EET = 00:00 .. 02:00 UTC
    second_0330 = at(KYIV, sunday, 3, 30, fold=1)
    assert second_0330 == utc(2026, 10, 25, 1, 30)
    blocked(
        verdict(second_0330, tries, centre=None, policy=night),
        WaitReason.WINDOW_DONE,
        utc(2026, 10, 25, 2),
        "early",
    )
    # at 01:00 UTC (the second 03:00) the gap still runs (until 01:30 UTC), but the used
    # window holds the order longer, until 02:00 UTC
    blocked(
        verdict(utc(2026, 10, 25, 1), tries, centre=None, policy=night),
        WaitReason.WINDOW_DONE,
        utc(2026, 10, 25, 2),
        "early",
    )
    assert window_of(night, second_0330, KYIV) == "night"


def test_kyiv_fall_back_daily_cap_counts_a_25_hour_day() -> None:
    policy = AttemptPolicy(
        windows=(Window("all", time(0), time(23, 59)),), daily_cap=2, min_gap_minutes=0
    )
    sunday = date(2026, 10, 25)
    tries = [attempt(at(KYIV, sunday, 0, 30)), attempt(at(KYIV, sunday, 23, 0))]
    blocked(
        verdict(at(KYIV, sunday, 23, 30), tries, centre=None, policy=policy),
        WaitReason.DAILY_CAP,
        utc(2026, 10, 25, 22),  # Monday 00:00 EET
        "all",
    )


def test_new_york_switches() -> None:
    # spring 2026-03-08: Saturday 17:00 EST = 22:00 UTC, Sunday 09:00 EDT = 13:00 UTC
    blocked(
        verdict(at(NEW_YORK, date(2026, 3, 7), 20, 30), tz=NEW_YORK, centre=None),
        WaitReason.WINDOW_CLOSED,
        utc(2026, 3, 8, 13),
        "morning",
    )
    # fall 2026-11-01: Saturday 09:00 EDT = 13:00 UTC, Sunday 09:00 EST = 14:00 UTC
    blocked(
        verdict(at(NEW_YORK, date(2026, 10, 31), 21), tz=NEW_YORK, centre=None),
        WaitReason.WINDOW_CLOSED,
        utc(2026, 11, 1, 14),
        "morning",
    )
    # a gap across the spring jump: 01:30 EST + 60 min = 03:30 EDT
    night = AttemptPolicy(
        windows=(Window("n", time(1), time(1, 45)), Window("m", time(1, 45), time(6)))
    )
    tries = [attempt(at(NEW_YORK, date(2026, 3, 8), 1, 30))]
    v = verdict(
        at(NEW_YORK, date(2026, 3, 8), 1, 50), tries, tz=NEW_YORK, centre=None, policy=night
    )
    blocked(v, WaitReason.GAP, at(NEW_YORK, date(2026, 3, 8), 3, 30), "m")


# ------------------------------------------------------------------------- created since


@pytest.mark.parametrize(
    ("today", "lookback", "monday_rule", "first"),
    [
        (date(2026, 3, 10), 1, True, date(2026, 3, 9)),  # Tuesday: yesterday
        (date(2026, 3, 9), 1, True, date(2026, 3, 6)),  # Monday: from Friday
        (date(2026, 3, 9), 1, False, date(2026, 3, 8)),  # Monday, rule off: Sunday
        (date(2026, 3, 9), 5, True, date(2026, 3, 4)),  # a longer look-back wins
        (date(2026, 3, 10), 0, True, date(2026, 3, 10)),  # today only
        (date(2026, 3, 15), 1, True, date(2026, 3, 14)),  # Sunday: Saturday
    ],
)
def test_created_since(today: date, lookback: int, monday_rule: bool, first: date) -> None:
    now = at(KYIV, today, 10)
    since = created_since(now, KYIV, lookback, monday_rule)
    assert since == at(KYIV, first, 0)
    assert since.tzinfo is UTC


def test_created_since_local_day_and_dst() -> None:
    # 23:30 UTC on Sunday is already Monday 01:30 in Kyiv: from Friday
    assert created_since(utc(2026, 3, 8, 23, 30), KYIV, 1, True) == utc(2026, 3, 5, 22)
    # the Monday after the spring switch: Friday was still EET (UTC+2)
    assert created_since(at(KYIV, date(2026, 3, 30), 9), KYIV, 1, True) == utc(2026, 3, 26, 22)
    with pytest.raises(ValueError):
        created_since(utc(2026, 3, 8, 12), KYIV, -1, True)


# ------------------------------------------------------------------------- a simulated day


def simulate(
    day: date,
    tz: ZoneInfo,
    centre: Schedule | None,
    outcome: Disposition,
    policy: AttemptPolicy = POLICY,
    step: timedelta = timedelta(minutes=1),
) -> list[datetime]:
    """Step a fake clock through the customer's local day; dial whenever decide says so."""
    clock = at(tz, day, 0).astimezone(UTC)
    end = at(tz, day + timedelta(days=1), 0).astimezone(UTC)
    made: list[PastAttempt] = []
    earliest: datetime | None = None
    while clock < end:
        v = decide(policy, now=clock, customer_tz=tz, centre=centre, attempts=made)
        if v.dialable:
            # never dialable before an announced "until"
            assert earliest is None or clock >= earliest
            made.append(PastAttempt(clock, outcome.value))
            earliest = None
        else:
            assert v.until is None or v.until > clock
            earliest = v.until if earliest is None else earliest
        clock += step
    return [a.started_at for a in made]


@pytest.mark.parametrize(
    ("day", "tz", "centre"),
    [
        (TUESDAY, KYIV, KYIV_CENTRE),
        (date(2026, 3, 29), KYIV, KYIV_CENTRE),  # spring forward
        (date(2026, 10, 25), KYIV, KYIV_CENTRE),  # fall back
        (TUESDAY, ALMATY, schedule("Europe/Kyiv", "daily 05:00-20:00")),
        (date(2026, 11, 1), NEW_YORK, None),
    ],
)
def test_a_never_answering_customer_gets_three_attempts_in_three_windows(
    day: date, tz: ZoneInfo, centre: Schedule | None
) -> None:
    made = simulate(day, tz, centre, Disposition.NO_ANSWER)
    assert [window_of(POLICY, m, tz) for m in made] == ["morning", "afternoon", "evening"]
    assert [m.astimezone(tz).time() for m in made] == [time(9), time(12), time(17)]
    for moment in made:
        assert centre is None or centre.is_open(moment)
    assert all(b - a >= timedelta(minutes=60) for a, b in pairwise(made))


def test_the_centres_hours_bound_the_simulated_day() -> None:
    centre = schedule("Europe/Kyiv", "daily 10:30-17:30")
    made = simulate(TUESDAY, KYIV, centre, Disposition.NO_ANSWER)
    assert [m.astimezone(KYIV).time() for m in made] == [time(10, 30), time(12), time(17)]
    assert all(centre.is_open(m) for m in made)
    # the same customer in Almaty: the Kyiv centre's 10:30-17:30 is 13:30-20:30 there
    made = simulate(TUESDAY, ALMATY, centre, Disposition.NO_ANSWER)
    assert [m.astimezone(ALMATY).time() for m in made] == [time(13, 30), time(17)]
    assert all(centre.is_open(m) for m in made)


def test_an_always_busy_customer_stops_at_the_daily_cap() -> None:
    made = simulate(TUESDAY, KYIV, KYIV_CENTRE, Disposition.BUSY)
    assert [m.astimezone(KYIV).time() for m in made] == [
        time(9),
        time(9, 10),
        time(9, 20),
        time(9, 30),
        time(9, 40),
    ]


def test_simulated_day_with_jumps_to_until_matches_minute_steps() -> None:
    """Jumping straight to ``until`` gives the same attempts as stepping minute by minute."""
    for outcome in (Disposition.NO_ANSWER, Disposition.BUSY):
        clock = at(KYIV, TUESDAY, 0).astimezone(UTC)
        end = at(KYIV, TUESDAY + timedelta(days=1), 0).astimezone(UTC)
        made: list[PastAttempt] = []
        while clock < end:
            v = decide(POLICY, now=clock, customer_tz=KYIV, centre=KYIV_CENTRE, attempts=made)
            if v.dialable:
                made.append(PastAttempt(clock, outcome.value))
                clock += timedelta(minutes=1)
            elif v.until is None:
                break
            else:
                clock = v.until
        assert [a.started_at for a in made if a.started_at < end] == simulate(
            TUESDAY, KYIV, KYIV_CENTRE, outcome
        )


# ------------------------------------------------------------------------- properties


ZONES = [KYIV, NEW_YORK, ALMATY, ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe")]
CENTRES: list[Schedule | None] = [
    None,
    KYIV_CENTRE,
    schedule("Europe/Kyiv", "mon-fri 08:00-20:00; sat 10:00-14:00"),
    schedule("America/New_York", "daily 07:00-12:00,13:00-23:00"),
    schedule("Asia/Almaty", "mon-sat 22:00-06:00"),
    schedule("Europe/Kyiv", "wed 16:00-19:00"),  # a week between openings: the long look
]
POLICIES = [
    POLICY,
    AttemptPolicy(daily_cap=3, min_gap_minutes=90, busy_retry_minutes=3),
    AttemptPolicy.from_json(
        {
            "windows": [
                {"name": "a", "start": "00:30", "end": "02:15"},
                {"name": "b", "start": "02:15", "end": "03:30"},
                {"name": "c", "start": "08:00", "end": "23:59"},
            ],
            "min_gap_minutes": 30,
            "callback_handover_minutes": 0,
        }
    ),
]
BASES = [
    utc(2026, 3, 10, 8),
    utc(2026, 3, 8, 5),  # New York spring
    utc(2026, 3, 28, 22),  # Kyiv spring
    utc(2026, 10, 24, 23),  # Kyiv fall
    utc(2026, 11, 1, 4),  # New York fall
    utc(2026, 4, 4, 14),  # Lord Howe fall (30 minutes)
]
OUTCOMES = [
    Disposition.NO_ANSWER,
    Disposition.NO_ANSWER,
    Disposition.ANSWERED,
    Disposition.BUSY,
    Disposition.FAILED,
    Disposition.DENIED,
]


def random_case(rng: random.Random) -> dict[str, object]:
    base = rng.choice(BASES) + timedelta(minutes=rng.randrange(-36 * 60, 36 * 60))
    now = base + timedelta(seconds=rng.randrange(60))
    tries = sorted(
        (
            PastAttempt(now - timedelta(minutes=rng.randrange(1, 30 * 60)), rng.choice(OUTCOMES))
            for _ in range(rng.randrange(0, 8))
        ),
        key=lambda a: a.started_at,
    )
    callback = None
    if rng.random() < 0.3:
        callback = Callback(
            now + timedelta(minutes=rng.randrange(-600, 600)), rng.choice([None, 1, 2])
        )
    return {
        "policy": rng.choice(POLICIES),
        "now": now,
        "customer_tz": rng.choice(ZONES),
        "centre": rng.choice(CENTRES),
        "attempts": tries,
        "callback": callback,
        "staff_id": rng.choice([None, 1, 2]),
    }


def test_until_is_the_earliest_dialable_moment_for_random_histories() -> None:
    rng = random.Random(20261130)
    seen: set[WaitReason | None] = set()
    for _ in range(600):
        case = random_case(rng)
        v = decide(**case)  # type: ignore[arg-type]
        seen.add(v.reason)
        now = case["now"]
        assert isinstance(now, datetime)
        assert v.dialable is (v.reason is None)
        if v.dialable:
            assert v.until == now
            continue
        if v.until is None:
            continue
        assert now < v.until <= now + timedelta(days=HORIZON_DAYS)
        later = decide(**{**case, "now": v.until})  # type: ignore[arg-type]
        assert later.dialable, (case, v, later)
        assert later.window == v.window
        # nothing before it: the second before, and random moments in between
        probes = [v.until - timedelta(seconds=1)] + [
            now + (v.until - now) * rng.random() for _ in range(15)
        ]
        for probe in probes:
            if probe < now:
                continue
            earlier = decide(**{**case, "now": probe})  # type: ignore[arg-type]
            assert not earlier.dialable, (case, v, probe)
            # and they agree on when
            assert earlier.until == v.until, (case, v, probe, earlier)
    # the random histories reach every rule that depends on time
    assert seen >= {
        None,
        WaitReason.DAILY_CAP,
        WaitReason.CALLBACK,
        WaitReason.CALLBACK_OWNED,
        WaitReason.BUSY_RETRY,
        WaitReason.GAP,
        WaitReason.WINDOW_DONE,
        WaitReason.CENTRE_CLOSED,
        WaitReason.WINDOW_CLOSED,
    }, seen


def test_of_several_timed_rules_the_reason_is_the_one_that_holds_it_longest() -> None:
    """When only timed rules block, the reason is the one that holds the order back longest
    before ``until`` (an agent reads "window used until 17:00", not "gap until 17:00");
    a tie goes to the first in RULE_ORDER."""
    # no answer at 12:00: the gap ends at 13:00, the used afternoon only at 17:00
    tries = [attempt(at(KYIV, TUESDAY, 12))]
    blocked(
        verdict(at(KYIV, TUESDAY, 12, 1), tries),
        WaitReason.WINDOW_DONE,
        at(KYIV, TUESDAY, 17),
        "evening",
    )
    # no answer at 11:30: the used morning ends at 12:00, the gap at 12:30
    tries = [attempt(at(KYIV, TUESDAY, 11, 30))]
    blocked(
        verdict(at(KYIV, TUESDAY, 11, 45), tries),
        WaitReason.GAP,
        at(KYIV, TUESDAY, 12, 30),
        "afternoon",
    )
    # no answer at 11:00: both hold it until 12:00, the gap comes first in RULE_ORDER
    tries = [attempt(at(KYIV, TUESDAY, 11))]
    blocked(
        verdict(at(KYIV, TUESDAY, 11, 30), tries),
        WaitReason.GAP,
        at(KYIV, TUESDAY, 12),
        "afternoon",
    )
    # busy at 12:25 after a no answer at 11:30: the retry (12:35) outlasts the gap (12:30)
    tries = [
        attempt(at(KYIV, TUESDAY, 11, 30)),
        attempt(at(KYIV, TUESDAY, 12, 25), Disposition.BUSY),
    ]
    blocked(
        verdict(at(KYIV, TUESDAY, 12, 27), tries),
        WaitReason.BUSY_RETRY,
        at(KYIV, TUESDAY, 12, 35),
        "afternoon",
    )
    # the afternoon used at 12:30 and the centre closed from 14:00: the used window would let
    # go at 17:00, the centre only tomorrow at 08:00 (then the morning window at 09:00)
    short = schedule("Europe/Kyiv", "daily 08:00-14:00")
    blocked(
        verdict(at(KYIV, TUESDAY, 14, 30), [attempt(at(KYIV, TUESDAY, 12, 30))], centre=short),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, TUESDAY + timedelta(days=1), 9),
        "morning",
    )
    # a busy streak in the evening: at 19:50 only the busy retry blocks (until 19:55); at
    # 20:30 the centre (08:00) and the windows (09:00) do, and the windows open later
    streak = [attempt(at(KYIV, TUESDAY, 19, 15 + 10 * i), Disposition.BUSY) for i in range(4)]
    blocked(
        verdict(at(KYIV, TUESDAY, 19, 50), streak),
        WaitReason.BUSY_RETRY,
        at(KYIV, TUESDAY, 19, 55),
        "evening",
    )
    for centre in (KYIV_CENTRE, None):
        blocked(
            verdict(at(KYIV, TUESDAY, 20, 30), streak, centre=centre),
            WaitReason.WINDOW_CLOSED,
            at(KYIV, TUESDAY + timedelta(days=1), 9),
            "morning",
        )


def test_cap_and_callbacks_are_reported_before_timed_rules() -> None:
    """DAILY_CAP, CALLBACK and CALLBACK_OWNED keep their priority even when a timed rule
    lets go later (``until`` is still when every rule allows)."""
    tomorrow = TUESDAY + timedelta(days=1)
    streak = [attempt(at(KYIV, TUESDAY, 19, 15 + 10 * i), Disposition.BUSY) for i in range(4)]
    blocked(
        verdict(at(KYIV, TUESDAY, 19, 50), streak, policy=AttemptPolicy(daily_cap=4)),
        WaitReason.DAILY_CAP,
        at(KYIV, tomorrow, 9),
        "morning",
    )
    # the cap lets go at midnight, the centre at 08:00, the windows at 09:00
    capped = [attempt(at(KYIV, TUESDAY, 9, 10 * i), Disposition.BUSY) for i in range(5)]
    blocked(
        verdict(at(KYIV, TUESDAY, 21), capped),
        WaitReason.DAILY_CAP,
        at(KYIV, tomorrow, 9),
        "morning",
    )
    # a callback for 07:30 tomorrow: the centre (08:00) lets go later, the callback is named
    answered = [attempt(at(KYIV, TUESDAY, 10), Disposition.ANSWERED)]
    blocked(
        verdict(
            at(KYIV, TUESDAY, 21),
            answered,
            callback=Callback(at(KYIV, tomorrow, 7, 30), owner_id=7),
            staff_id=7,
        ),
        WaitReason.CALLBACK,
        at(KYIV, tomorrow, 8),
        None,
    )
    # another agent at 07:52: the owner's five minutes end at 07:55, the centre opens at 08:00
    blocked(
        verdict(
            at(KYIV, TUESDAY, 7, 52),
            callback=Callback(at(KYIV, TUESDAY, 7, 50), owner_id=7),
            staff_id=8,
            policy=AttemptPolicy(callback_handover_minutes=5),
        ),
        WaitReason.CALLBACK_OWNED,
        at(KYIV, TUESDAY, 8),
        None,
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        verdict(datetime(2026, 3, 10, 10))


def test_the_weekend_of_a_closed_centre_outweighs_the_hours_before_a_window() -> None:
    """Saturday 07:00, the centre open on weekdays only: the morning window opens at 09:00,
    but what holds the order until Monday is the closed centre."""
    weekdays = schedule("Europe/Kyiv", "mon-fri 08:00-20:00")
    saturday = date(2026, 3, 14)
    blocked(
        verdict(at(KYIV, saturday, 7), [], centre=weekdays),
        WaitReason.CENTRE_CLOSED,
        at(KYIV, saturday + timedelta(days=2), 9),
        "morning",
    )


def test_a_gap_that_runs_into_the_night_is_not_the_reason() -> None:
    """No answer at 19:30, seen at 19:45: the gap ends at 20:30, but the evening window
    closes at 20:00 and the next one opens tomorrow at 09:00; that is the reason."""
    blocked(
        verdict(at(KYIV, TUESDAY, 19, 45), [attempt(at(KYIV, TUESDAY, 19, 30))]),
        WaitReason.WINDOW_CLOSED,
        at(KYIV, TUESDAY + timedelta(days=1), 9),
        "morning",
    )
