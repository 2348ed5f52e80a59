"""Working hours: weekly schedule in the site's IANA zone, with dated exceptions.

An interval whose end is not after its start crosses midnight ("22:00"-"02:00" on Friday
runs into Saturday morning). "24:00" is accepted as an end. Comparisons are made on the
site's wall clock, so DST days need no special casing: on the night the clock jumps, the
hours that do not exist are simply never "now".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Interval:
    start: time
    end: time | None  # None means 24:00

    @property
    def crosses_midnight(self) -> bool:
        return self.end is not None and self.end <= self.start

    def text(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


def parse_time(value: str, *, allow_24: bool = False) -> time | None:
    match = _TIME.match(value.strip())
    if not match:
        raise ScheduleError(f"bad time {value!r}: use HH:MM")
    hour, minute = int(match[1]), int(match[2])
    if hour == 24:
        if minute or not allow_24:
            raise ScheduleError(f"bad time {value!r}: 24:00 is only allowed as an end")
        return None
    return time(hour, minute)


def parse_interval(pair: Any) -> Interval:
    if isinstance(pair, str):
        pair = pair.split("-")
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise ScheduleError(f"bad interval {pair!r}: use ['HH:MM', 'HH:MM'] or 'HH:MM-HH:MM'")
    start = parse_time(str(pair[0]))
    end = parse_time(str(pair[1]), allow_24=True)
    assert start is not None
    if end == start:
        raise ScheduleError(f"bad interval {pair!r}: start equals end")
    return Interval(start, end)


def parse_weekly_text(text: str) -> dict[str, list[list[str]]]:
    """``"mon-fri 09:00-21:00; sat 10:00-18:00,19:00-20:00"`` -> the stored JSON form."""
    result: dict[str, list[list[str]]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            days_text, intervals_text = part.split(None, 1)
        except ValueError:
            raise ScheduleError(f"bad schedule part {part!r}: use 'mon-fri 09:00-21:00'") from None
        days = _parse_days(days_text)
        intervals = [parse_interval(i.strip()) for i in intervals_text.split(",")]
        for day in days:
            result.setdefault(day, []).extend([i.text().split("-") for i in intervals])
    return result


def weekly_text(weekly: dict[str, Any]) -> str:
    """The stored JSON form back as text that :func:`parse_weekly_text` reads."""
    return "; ".join(
        f"{day} " + ",".join("-".join(i) for i in intervals)
        for day, intervals in weekly.items()
        if intervals
    )


def _parse_days(text: str) -> list[str]:
    days: list[str] = []
    for chunk in text.lower().split(","):
        if "-" in chunk:
            first, last = chunk.split("-", 1)
            if first not in DAYS or last not in DAYS:
                raise ScheduleError(f"bad day range {chunk!r}: use mon..sun")
            a, b = DAYS.index(first), DAYS.index(last)
            days.extend(DAYS[a : b + 1] if a <= b else DAYS[a:] + DAYS[: b + 1])
        elif chunk in DAYS:
            days.append(chunk)
        elif chunk == "daily":
            days.extend(DAYS)
        else:
            raise ScheduleError(f"bad day {chunk!r}: use mon..sun or daily")
    return days


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown IANA time zone {name!r}") from None


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    weekly: dict[int, tuple[Interval, ...]]
    exceptions: dict[date, tuple[Interval, ...]] = field(default_factory=dict)

    @classmethod
    def from_data(
        cls, tz_name: str, weekly: dict[str, Any], exceptions: dict[date, list[Any]] | None = None
    ) -> Schedule:
        parsed: dict[int, tuple[Interval, ...]] = {}
        for day, intervals in (weekly or {}).items():
            if day not in DAYS:
                raise ScheduleError(f"bad day {day!r}: use mon..sun")
            parsed[DAYS.index(day)] = tuple(parse_interval(i) for i in intervals or [])
        exc = {d: tuple(parse_interval(i) for i in v) for d, v in (exceptions or {}).items()}
        return cls(zone(tz_name), parsed, exc)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), ())

    def is_open(self, now: datetime) -> bool:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        local = now.astimezone(self.tz)
        today, clock = local.date(), local.time().replace(tzinfo=None)
        for interval in self.intervals_on(today):
            if interval.crosses_midnight:
                if clock >= interval.start:
                    return True
            elif interval.start <= clock and (interval.end is None or clock < interval.end):
                return True
        for interval in self.intervals_on(today - timedelta(days=1)):
            if interval.crosses_midnight and interval.end is not None and clock < interval.end:
                return True
        return False

    def next_opening(self, now: datetime, horizon_days: int = 14) -> datetime | None:
        """The next moment (site-local, aware) the site opens, or None within the horizon."""
        local = now.astimezone(self.tz)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            for interval in sorted(self.intervals_on(day), key=lambda i: i.start):
                start = datetime.combine(day, interval.start, self.tz)
                if start > local:
                    return start
        return None

    def open_spans(self, first_day: date, days: int) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals of ``days`` local days from ``first_day``, as UTC (start, end),
        in order of their start (they may overlap: one crossing midnight, the next day's).
        Each end is turned into UTC on its own, so a DST night is as long as it really is."""
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for interval in sorted(self.intervals_on(day), key=lambda i: i.start):
                end_day = day + timedelta(days=1) if interval.crosses_midnight else day
                yield (
                    wall_clock(day, interval.start, self.tz),
                    wall_clock(end_day, interval.end, self.tz),
                )

    def describe(self, day: date) -> str:
        intervals = self.intervals_on(day)
        return ", ".join(i.text() for i in intervals) if intervals else "closed"


def wall_clock(day: date, at: time | None, tz: ZoneInfo) -> datetime:
    """``day`` at ``at`` on the wall clock of ``tz``, in UTC (``None``: 24:00, the next
    day's midnight)."""
    if at is None:
        return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return datetime.combine(day, at, tz).astimezone(UTC)
