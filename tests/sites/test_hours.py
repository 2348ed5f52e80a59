"""Opening hours: weekly schedules, exceptions, time zones and DST, the next opening."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from masking.hours import Schedule, ScheduleError, parse_weekly_text

MSK = "Europe/Moscow"  # UTC+3, no DST
BERLIN = "Europe/Berlin"  # DST: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sched(text: str, tz: str = MSK, exceptions: dict | None = None) -> Schedule:
    return Schedule.from_data(tz, parse_weekly_text(text), exceptions)


class TestHours:
    def test_weekday_interval(self) -> None:
        s = sched("mon-fri 09:00-21:00")
        assert s.is_open(utc(2026, 11, 18, 6, 0))  # Wed 09:00 MSK
        assert not s.is_open(utc(2026, 11, 18, 5, 59))
        assert not s.is_open(utc(2026, 11, 18, 18, 0))  # 21:00 MSK: closed at the end
        assert not s.is_open(utc(2026, 11, 21, 9, 0))  # Saturday

    def test_crossing_midnight(self) -> None:
        s = sched("fri 22:00-02:00")
        assert s.is_open(utc(2026, 11, 20, 19, 30))  # Fri 22:30
        assert s.is_open(utc(2026, 11, 20, 22, 59))  # Sat 01:59
        assert not s.is_open(utc(2026, 11, 20, 23, 0))  # Sat 02:00
        assert not s.is_open(utc(2026, 11, 19, 22, 0))  # Fri 01:00: Thursday had nothing

    def test_until_midnight(self) -> None:
        s = sched("daily 10:00-24:00")
        assert s.is_open(utc(2026, 11, 18, 20, 59))  # 23:59
        assert not s.is_open(utc(2026, 11, 18, 21, 0))  # 00:00

    def test_exceptions(self) -> None:
        holiday = {date(2026, 11, 4): []}
        short = {date(2026, 12, 31): [["09:00", "15:00"]]}
        s = sched("daily 09:00-21:00", exceptions={**holiday, **short})
        assert not s.is_open(utc(2026, 11, 4, 9, 0))  # national holiday, noon
        assert s.is_open(utc(2026, 11, 5, 9, 0))
        assert s.is_open(utc(2026, 12, 31, 11, 59))  # 14:59
        assert not s.is_open(utc(2026, 12, 31, 12, 0))  # 15:00

    def test_dst_spring_forward(self) -> None:
        s = sched("sun 02:30-03:30", tz=BERLIN)
        # 2026-03-29: 02:00 local jumps to 03:00 (01:00 UTC)
        assert s.is_open(utc(2026, 3, 29, 1, 15))  # 03:15 CEST
        assert not s.is_open(utc(2026, 3, 29, 1, 30))  # 03:30 CEST
        assert not s.is_open(utc(2026, 3, 29, 0, 59))  # 01:59 CET

    def test_dst_fall_back_local_clock(self) -> None:
        s = sched("sun 09:00-18:00", tz=BERLIN)
        assert s.is_open(utc(2026, 10, 25, 8, 0))  # 09:00 CET (UTC+1)
        assert not s.is_open(utc(2026, 10, 25, 7, 59))
        assert s.is_open(utc(2026, 10, 18, 7, 0))  # 09:00 CEST a week before (UTC+2)

    def test_next_opening(self) -> None:
        s = sched("mon-fri 09:00-21:00")
        opening = s.next_opening(utc(2026, 11, 20, 19, 0))  # Fri 22:00
        assert opening is not None
        assert (opening.weekday(), opening.hour, opening.minute) == (0, 9, 0)
        assert sched("").next_opening(utc(2026, 11, 20, 19, 0)) is None

    @pytest.mark.parametrize(
        "bad",
        [
            "mon 9-5",
            "xyz 09:00-10:00",
            "mon 25:00-26:00",
            "mon 10:00-10:00",
            "mon",
            "mon 24:00-10:00",
        ],
    )
    def test_bad_schedules(self, bad: str) -> None:
        with pytest.raises(ScheduleError):
            sched(bad)

    def test_bad_zone(self) -> None:
        with pytest.raises(ScheduleError, match="time zone"):
            Schedule.from_data("Mars/Olympus", {})

    def test_naive_now_rejected(self) -> None:
        with pytest.raises(ValueError):
            sched("daily 09:00-21:00").is_open(datetime(2026, 1, 1))
