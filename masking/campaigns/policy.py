"""When an order of a confirmation campaign may be dialed, and if not now, why and from when.

Pure: no database, no web, no Asterisk. The caller hands in the order's past attempts
(its case's call records), its agreed callback and the call centre's schedule; :func:`decide`
answers with a :class:`Verdict` (dialable now, else the rule that holds it back and the
earliest moment every rule allows).

Every rule is a set of allowed UTC spans over the next :data:`HORIZON_DAYS` days; the
verdict's reason is the first rule (in :data:`RULE_ORDER`) whose spans do not hold ``now``
(among the merely timed rules, the one that holds it longest), and ``until`` is the start
of the first span of their intersection, so the search costs a few dozen spans, never a
minute-by-minute walk. Local arithmetic goes through zoneinfo (``datetime.combine(day, t,
tz)``), so a DST day's windows sit at the right UTC instants and gaps are real elapsed
minutes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from masking.hours import Schedule, ScheduleError, parse_time
from masking.states import Disposition, WaitReason

# how far ahead ``until`` is looked for; past it the verdict says "unknown" (None)
HORIZON_DAYS = 8
FIRST_LOOK_DAYS = 2

# the order in which blocking rules are reported (the first one that blocks is the reason,
# except among the TIMED rules: see :func:`decide`)
RULE_ORDER = (
    WaitReason.DONE,
    WaitReason.DIALING,
    WaitReason.DAILY_CAP,
    WaitReason.CALLBACK,
    WaitReason.CALLBACK_OWNED,
    WaitReason.BUSY_RETRY,
    WaitReason.GAP,
    WaitReason.WINDOW_DONE,
    WaitReason.CENTRE_CLOSED,
    WaitReason.WINDOW_CLOSED,
)

# rules that only make the order wait for a moment; when several hold it, the reason is the
# one that holds it longest before ``until``: "gap until 13:00" is no use to an agent when
# the evening window opens only at 17:00
TIMED = frozenset(
    {
        WaitReason.BUSY_RETRY,
        WaitReason.GAP,
        WaitReason.WINDOW_DONE,
        WaitReason.CENTRE_CLOSED,
        WaitReason.WINDOW_CLOSED,
    }
)

MAX_MINUTES = 24 * 60
MAX_DAILY_CAP = 100
MAX_BRIDGED_SECONDS = 3600
MAX_WINDOWS = 24
MAX_WINDOW_NAME = 40  # Order.wait_detail holds it

# outcomes after which the same window is tried again after ``busy_retry_minutes``
_RETRY_SOON = frozenset({Disposition.BUSY, Disposition.FAILED})
# outcomes that use up the window they happened in
_USES_WINDOW = frozenset({Disposition.NO_ANSWER, Disposition.ANSWERED})

Span = tuple[datetime, datetime]


class PolicyError(ValueError):
    """A bad attempt policy; the message starts with the field ("windows[1].start: ...")."""


@dataclass(frozen=True)
class Window:
    """A part of the customer's local day in which one attempt is made (``[start, end)``)."""

    name: str
    start: time
    end: time


DEFAULT_WINDOWS: tuple[Window, ...] = (
    Window("morning", time(9), time(12)),
    Window("afternoon", time(12), time(17)),
    Window("evening", time(17), time(20)),
)


def _whole(data: Mapping[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = data.get(name, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"{name}: a whole number from {low} to {high}")
    return value


def _windows(value: Any) -> tuple[Window, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise PolicyError('windows: a list of {"name", "start": "HH:MM", "end": "HH:MM"}')
    if len(value) > MAX_WINDOWS:
        raise PolicyError(f"windows: at most {MAX_WINDOWS}")
    windows: list[Window] = []
    for index, item in enumerate(value):
        field = f"windows[{index}]"
        if not isinstance(item, Mapping):
            raise PolicyError(f'{field}: an object {{"name", "start": "HH:MM", "end": "HH:MM"}}')
        unknown = set(item) - {"name", "start", "end"}
        if unknown:
            raise PolicyError(f"{field}.{sorted(unknown)[0]}: unknown field")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_WINDOW_NAME:
            raise PolicyError(f"{field}.name: 1 to {MAX_WINDOW_NAME} characters")
        name = name.strip()
        if any(w.name == name for w in windows):
            raise PolicyError(f"{field}.name: {name!r} is used twice")
        bounds: list[time] = []
        for key in ("start", "end"):
            text = item.get(key)
            if not isinstance(text, str):
                raise PolicyError(f"{field}.{key}: HH:MM")
            try:
                parsed = parse_time(text)
            except ScheduleError:
                raise PolicyError(f"{field}.{key}: bad time {text!r}: use HH:MM") from None
            assert parsed is not None  # 24:00 is refused by parse_time without allow_24
            bounds.append(parsed)
        start, end = bounds
        if end <= start:
            raise PolicyError(f"{field}.end: must be after its start (windows stay in one day)")
        if windows and start < windows[-1].end:
            raise PolicyError(
                f"{field}.start: windows must be in order and not overlap "
                f"({name} starts before {windows[-1].name} ends)"
            )
        windows.append(Window(name, start, end))
    return tuple(windows)


@dataclass(frozen=True)
class AttemptPolicy:
    """A campaign's attempt policy (``Campaign.policy``); the defaults are seed 003's."""

    windows: tuple[Window, ...] = DEFAULT_WINDOWS
    min_gap_minutes: int = 60  # between any two attempts
    daily_cap: int = 5  # attempts per customer-local day
    busy_retry_minutes: int = 10  # busy / failed: again after this, same window (not the gap)
    callback_handover_minutes: int = 15  # a due callback is its agent's this long, then anyone's
    min_bridged_seconds: int = 10  # "confirmed" needs an answered call this long

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> AttemptPolicy:
        """The policy stored as JSON (missing fields: the defaults); raises
        :class:`PolicyError` naming the first bad field."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise PolicyError("policy: an object")
        known = {
            "windows",
            "min_gap_minutes",
            "daily_cap",
            "busy_retry_minutes",
            "callback_handover_minutes",
            "min_bridged_seconds",
        }
        unknown = set(data) - known
        if unknown:
            raise PolicyError(f"{sorted(unknown)[0]}: unknown field")
        defaults = cls()
        return cls(
            windows=_windows(data["windows"]) if "windows" in data else defaults.windows,
            min_gap_minutes=_whole(
                data, "min_gap_minutes", 0, MAX_MINUTES, defaults.min_gap_minutes
            ),
            daily_cap=_whole(data, "daily_cap", 1, MAX_DAILY_CAP, defaults.daily_cap),
            busy_retry_minutes=_whole(
                data, "busy_retry_minutes", 0, MAX_MINUTES, defaults.busy_retry_minutes
            ),
            callback_handover_minutes=_whole(
                data,
                "callback_handover_minutes",
                0,
                MAX_MINUTES,
                defaults.callback_handover_minutes,
            ),
            min_bridged_seconds=_whole(
                data, "min_bridged_seconds", 0, MAX_BRIDGED_SECONDS, defaults.min_bridged_seconds
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """Every field, in the form :meth:`from_json` reads."""
        return {
            "windows": [
                {"name": w.name, "start": w.start.strftime("%H:%M"), "end": w.end.strftime("%H:%M")}
                for w in self.windows
            ],
            "min_gap_minutes": self.min_gap_minutes,
            "daily_cap": self.daily_cap,
            "busy_retry_minutes": self.busy_retry_minutes,
            "callback_handover_minutes": self.callback_handover_minutes,
            "min_bridged_seconds": self.min_bridged_seconds,
        }


@dataclass(frozen=True)
class PastAttempt:
    """A call about the order: when it started and how it ended (a :class:`Disposition`
    value; ``in_progress`` while it is under way; ``denied`` calls never reached anyone and
    are ignored)."""

    started_at: datetime
    disposition: str


@dataclass(frozen=True)
class Callback:
    """A callback agreed with the customer, owned by the agent who agreed it (None: anyone)."""

    at: datetime
    owner_id: int | None


@dataclass(frozen=True)
class Verdict:
    dialable: bool
    reason: WaitReason | None  # None when dialable
    # UTC: from when it is dialable (``now`` when it is; None: never, or not within the
    # horizon, or unknown: a call under way)
    until: datetime | None
    window: str | None  # the window it is / will be dialed in ("evening"); None: outside one


# ---------------------------------------------------------------- span arithmetic (UTC)


def _normalize(spans: list[Span]) -> list[Span]:
    """Sorted, non-empty, merged (touching spans join)."""
    result: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """Both normalized."""
    result: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def _subtract(a: list[Span], b: list[Span]) -> list[Span]:
    """``a`` without ``b`` (``a`` normalized)."""
    cut = _normalize(b)
    result: list[Span] = []
    for start, end in a:
        cursor = start
        for b_start, b_end in cut:
            if b_end <= cursor or b_start >= end:
                continue
            if b_start > cursor:
                result.append((cursor, b_start))
            cursor = max(cursor, b_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def _holds(spans: list[Span], moment: datetime) -> bool:
    return any(start <= moment < end for start, end in spans)


# ---------------------------------------------------------------- local time


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(UTC)


@lru_cache(maxsize=8192)
def _at(day: date, at: time | None, tz: ZoneInfo) -> datetime:
    """``day`` at ``at`` on the wall clock of ``tz``, in UTC (``None``: 24:00)."""
    if at is None:
        return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return datetime.combine(day, at, tz).astimezone(UTC)


def _window_spans(
    policy: AttemptPolicy, tz: ZoneInfo, first_day: date, days: int
) -> list[tuple[datetime, datetime, str]]:
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for window in policy.windows:
            start, end = _at(day, window.start, tz), _at(day, window.end, tz)
            if start < end:
                result.append((start, end, window.name))
    return result


def window_of(policy: AttemptPolicy, moment: datetime, customer_tz: ZoneInfo) -> str | None:
    """The name of the window ``moment`` falls in on the customer's clock, else None (for
    the day report: "three attempts in three windows")."""
    moment = _utc(moment)
    day = moment.astimezone(customer_tz).date()
    for start, end, name in _window_spans(policy, customer_tz, day - timedelta(days=1), 3):
        if start <= moment < end:
            return name
    return None


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The date of ``moment`` on the wall clock of ``tz`` (the day the daily cap counts)."""
    return _utc(moment).astimezone(tz).date()


# ---------------------------------------------------------------- the rules


def _rules(
    policy: AttemptPolicy,
    now: datetime,
    customer_tz: ZoneInfo,
    centre: Schedule | None,
    ended: list[PastAttempt],
    callback: Callback | None,
    staff_id: int | None,
    horizon_days: int,
) -> list[tuple[WaitReason, list[Span]]]:
    """Each rule that applies, in :data:`RULE_ORDER`, with the spans of the horizon it
    allows (normalized, clipped to ``[now, now + horizon_days)``)."""
    horizon_end = now + timedelta(days=horizon_days)
    everything: list[Span] = [(now, horizon_end)]

    def from_(moment: datetime) -> list[Span]:
        return [(max(now, moment), horizon_end)] if moment < horizon_end else []

    # customer-local days that touch the horizon (one more each side: DST, windows)
    first_day = now.astimezone(customer_tz).date() - timedelta(days=1)
    days = (horizon_end.astimezone(customer_tz).date() - first_day).days + 2
    rules: list[tuple[WaitReason, list[Span]]] = []

    per_day = Counter(a.started_at.astimezone(customer_tz).date() for a in ended)
    capped = [
        (_at(day, time(0), customer_tz), _at(day, None, customer_tz))
        for day, count in per_day.items()
        if count >= policy.daily_cap
    ]
    rules.append((WaitReason.DAILY_CAP, _subtract(everything, capped)))
    windows = _window_spans(policy, customer_tz, first_day, days)

    # a callback stands until a call is made at or after its time
    if callback is not None and any(a.started_at >= callback.at for a in ended):
        callback = None
    if callback is not None:
        rules.append((WaitReason.CALLBACK, from_(callback.at)))
        if callback.owner_id is not None and staff_id != callback.owner_id:
            handover = callback.at + timedelta(minutes=policy.callback_handover_minutes)
            rules.append(
                (WaitReason.CALLBACK_OWNED, _subtract(everything, [(callback.at, handover)]))
            )
        # a due callback needs the centre open, not a window; the agreed time wins over the
        # gap, the busy retry and the windows already used
    else:
        last = ended[-1] if ended else None
        if last is not None and last.disposition in _RETRY_SOON:
            retry = last.started_at + timedelta(minutes=policy.busy_retry_minutes)
            rules.append((WaitReason.BUSY_RETRY, from_(retry)))
        # the gap runs from the last attempt that was not busy / failed (those retry sooner)
        gapped = [a for a in ended if a.disposition not in _RETRY_SOON]
        if gapped:
            gap_end = gapped[-1].started_at + timedelta(minutes=policy.min_gap_minutes)
            rules.append((WaitReason.GAP, from_(gap_end)))
        used = [
            (start, end)
            for start, end, _ in windows
            if any(start <= a.started_at < end for a in ended if a.disposition in _USES_WINDOW)
        ]
        if used:
            rules.append((WaitReason.WINDOW_DONE, _subtract(everything, used)))

    if centre is not None:
        centre_first = now.astimezone(centre.tz).date() - timedelta(days=1)
        centre_days = (horizon_end.astimezone(centre.tz).date() - centre_first).days + 2
        open_ = _normalize(list(centre.open_spans(centre_first, centre_days)))
        rules.append((WaitReason.CENTRE_CLOSED, _intersect(everything, open_)))
    if callback is None:
        in_windows = _normalize([(start, end) for start, end, _ in windows])
        rules.append((WaitReason.WINDOW_CLOSED, _intersect(everything, in_windows)))
    return rules


def decide(
    policy: AttemptPolicy,
    *,
    now: datetime,
    customer_tz: ZoneInfo,
    centre: Schedule | None,
    attempts: Sequence[PastAttempt],
    callback: Callback | None = None,
    staff_id: int | None = None,
    closed: bool = False,
) -> Verdict:
    """May the order be dialed at ``now`` (by ``staff_id``, for an owned callback), and if
    not, the first rule of :data:`RULE_ORDER` that blocks it (of several :data:`TIMED`
    ones, the one that holds it back longest before ``until``) and the earliest moment
    (UTC) every rule allows, assuming no call is made meanwhile.

    ``closed``: the order is confirmed or its case closed. ``centre``: the site's schedule
    (None: always open). ``staff_id`` None is nobody in particular: not a callback's owner.
    """
    now = _utc(now)
    if closed:
        return Verdict(False, WaitReason.DONE, None, None)
    real = [
        PastAttempt(_utc(a.started_at), a.disposition)
        for a in attempts
        if a.disposition != Disposition.DENIED
    ]
    live = [a.started_at for a in real if a.disposition == Disposition.IN_PROGRESS]
    if live:
        return Verdict(False, WaitReason.DIALING, None, window_of(policy, max(live), customer_tz))
    ended = sorted(real, key=lambda a: a.started_at)
    if callback is not None:
        callback = Callback(_utc(callback.at), callback.owner_id)

    # a short horizon first (nearly always enough), the full one only when it finds nothing;
    # whether ``now`` is allowed does not depend on how far ahead the spans go
    reason: WaitReason | None = None
    until: datetime | None = None
    for days in (FIRST_LOOK_DAYS, HORIZON_DAYS):
        rules = _rules(policy, now, customer_tz, centre, ended, callback, staff_id, days)
        blocking = [(r, allowed) for r, allowed in rules if not _holds(allowed, now)]
        if days == FIRST_LOOK_DAYS:
            reason = blocking[0][0] if blocking else None
        allowed: list[Span] = [(now, now + timedelta(days=days))]
        for _, spans in rules:
            allowed = _intersect(allowed, spans)
        if allowed:
            until = allowed[0][0]
            if reason in TIMED:
                reason = _binding(rules, now, until)
            break
    if reason is None:
        return Verdict(True, None, now, window_of(policy, now, customer_tz))
    window = window_of(policy, until, customer_tz) if until is not None else None
    return Verdict(False, reason, until, window)


def _binding(
    rules: list[tuple[WaitReason, list[Span]]], now: datetime, until: datetime
) -> WaitReason:
    """Of the timed rules, the one that holds the order back longest between ``now`` and
    ``until`` (blocked time, not first release: a weekend of a closed centre outweighs the
    two hours before Saturday's window); ties in :data:`RULE_ORDER`."""
    best: tuple[timedelta, int, WaitReason] | None = None
    for reason, spans in rules:
        if reason not in TIMED:
            continue
        allowed = sum(
            (min(end, until) - max(start, now) for start, end in spans if start < until),
            timedelta(0),
        )
        blocked = (until - now) - allowed
        rank = -RULE_ORDER.index(reason)
        if blocked > timedelta(0) and (best is None or (blocked, rank) > best[:2]):
            best = (blocked, rank, reason)
    assert best is not None
    return best[2]


def created_since(
    now: datetime, tz: ZoneInfo, lookback_days: int, monday_from_friday: bool
) -> datetime:
    """The start (UTC) of the local day ``lookback_days`` before today in ``tz``; on a
    Monday with ``monday_from_friday``, at the latest the start of the previous Friday
    (seed 003: "on Monday we process all orders made from Friday to Monday inclusive")."""
    if lookback_days < 0:
        raise ValueError("lookback_days must not be negative")
    today = _utc(now).astimezone(tz).date()
    first = today - timedelta(days=lookback_days)
    if monday_from_friday and today.weekday() == 0:
        first = min(first, today - timedelta(days=3))
    return _at(first, time(0), tz)
