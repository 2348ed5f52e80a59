"""Admission control: refuse at once what could not be decided before the deadline.

A burst (a shift starting, a campaign pass, a carrier re-delivering after an outage)
brings more requests than the service decides in ``request_timeout``. Without this, the
last ones wait for the deadline and are denied "unavailable" after keeping Asterisk
waiting. Here a new request is admitted only if the decisions already in flight can be
made, at the rate the server has just shown, within ``max_wait`` seconds; otherwise it is
answered ``busy`` at once (a distinct prompt, then SIP busy: the phone may redial).

In flight: from a complete request until its decision is made (queued or deciding; not
the answer to Asterisk, whose speed is Asterisk's). The rate: decisions made in the last
``window`` seconds; by Little's law, in flight / rate is the wait a new request would
have. Before any decision was made (a cold start into a burst), up to ``cold_limit`` are
admitted. The rate just seen measures demand, not capacity: after a quiet second (one
decision), it would refuse the second of two calls arriving together. So up to
``floor`` in flight are always admitted: a number any deployment decides well within
``max_wait`` (50 at the ~375 decisions/s one core makes is 0.13 s). Runs on the event
loop only (no locks).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Admission:
    def __init__(
        self,
        max_wait: float,
        *,
        window: float = 1.0,
        cold_limit: int = 200,
        floor: int = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_wait = max_wait
        self.window = window
        self.cold_limit = cold_limit
        self.floor = floor
        self._clock = clock
        self._answered: deque[float] = deque()
        self.in_flight = 0
        self.refused = 0

    def rate(self) -> float:
        """Decisions made per second over the last window."""
        now = self._clock()
        answered = self._answered
        while answered and now - answered[0] > self.window:
            answered.popleft()
        return len(answered) / self.window

    def enter(self) -> bool:
        """A complete request arrived: True to decide it (then :meth:`leave` once it is
        decided), False to answer busy."""
        if self.in_flight >= max(self.floor, 1):  # an idle server always admits
            rate = self.rate()
            limit = self.cold_limit if rate == 0 else max(rate * self.max_wait, self.floor)
            if self.in_flight >= limit:
                self.refused += 1
                return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1
        self._answered.append(self._clock())
