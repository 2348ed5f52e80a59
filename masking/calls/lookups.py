"""What the call desk looks up on every call, cached per process, dropped on any change.

A decision used to read the caller's staff row, its site (and the site's schedule and
exceptions), and the open case of the shipment from the database: rows that change a few
times a day, read hundreds of times a second. They are cached here, and the cache is
only as old as the last change anywhere:

* every commit that changes a cached kind of row (staff, sites, site exceptions, pool
  numbers, a case opened, closed or moved; :mod:`masking.storage.hooks`) sets a new
  random *epoch* token in Redis (``<prefix>cfg:epoch``), from whichever process, worker
  or instance made it;
* every decision reads the token first (one round trip, like the binding lookup that
  follows) and drops the whole cache when it differs from the one the cache was filled
  under, is missing (Redis restarted: a new token is set) or cannot be read (then the
  decision fails closed: it needs Redis for the binding anyway);
* a backstop: entries older than ``MAX_AGE`` are reloaded whatever the token says (a
  change made by hand in the database, a bump lost with an unreachable Redis).

A revoked visibility, a suspension, a closed site: the next decision after the commit
sees it. Bindings are not cached here: they live in Redis (:mod:`masking.numbers.pool`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from masking.campaigns import worklist
from masking.cases.lifecycle import open_case_of_shipment
from masking.epoch import ConfigEpoch
from masking.hours import Schedule
from masking.numbers.pool import PoolUnavailable
from masking.sites import schedule_of
from masking.storage.models import Site, Staff, VirtualNumber

MAX_AGE = 30.0  # seconds: the backstop for changes that bumped no epoch


@dataclass(frozen=True)
class SiteView:
    """A site as a call sees it: the (detached, read-only) row and its schedule."""

    site: Site
    schedule: Schedule


@dataclass(frozen=True)
class OpenCase:
    case_id: str
    order_id: int | None  # the order a confirmation case is about


Loader = Callable[[], Session]


class CallLookups:
    """The per-process cache of the call desk; thread-safe (decisions run in threads)."""

    def __init__(self, epoch: ConfigEpoch, clock: Callable[[], float] = time.monotonic) -> None:
        self.epoch = epoch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._filled_at = 0.0
        self._staff: dict[str, Staff | None] = {}
        self._sites: dict[int, SiteView | None] = {}
        self._numbers: dict[str, str | None] = {}
        self._cases: dict[int, OpenCase | None] = {}
        self.reloads = 0  # how many times the cache was dropped (tests, benchmark)

    def refresh(self) -> None:
        """Call once per decision, first: drops everything if anything changed. Without
        Redis the cache is dropped and refilled from the database by this decision, and
        dropped again by the next one (its binding lookup fails closed anyway)."""
        try:
            token = self.epoch.read()
        except PoolUnavailable:
            self.clear()
            return
        now = self._clock()
        with self._lock:
            if token != self._token or now - self._filled_at > MAX_AGE:
                self._drop()
                self._token = token
                self._filled_at = now

    def clear(self) -> None:
        with self._lock:
            self._drop()
            self._token = None

    def _drop(self) -> None:
        self._staff, self._sites, self._numbers, self._cases = {}, {}, {}, {}
        self.reloads += 1

    # ---- the lookups ---------------------------------------------------------------
    def staff_at(self, endpoint: str, session: Loader) -> Staff | None:
        """The staff member whose desk phone is ``endpoint`` (None: nobody's)."""
        cached = self._staff
        if endpoint in cached:
            return cached[endpoint]
        s = session()
        staff = s.scalar(select(Staff).where(Staff.sip_endpoint == endpoint))
        if staff is not None:
            s.expunge(staff)
        cached[endpoint] = staff
        return staff

    def site(self, site_id: int, session: Loader) -> SiteView | None:
        cached = self._sites
        if site_id in cached:
            return cached[site_id]
        s = session()
        site = s.scalar(
            select(Site).where(Site.id == site_id).options(selectinload(Site.exceptions))
        )
        view = None
        if site is not None:
            view = SiteView(site, schedule_of(site))
            s.expunge(site)
        cached[site_id] = view
        return view

    def number_region(self, number: str, session: Loader) -> str | None:
        """The region of a pool number (None: not ours)."""
        cached = self._numbers
        if number in cached:
            return cached[number]
        vn = session().get(VirtualNumber, number)
        region = vn.region if vn is not None else None
        cached[number] = region
        return region

    def open_case(self, shipment_id: int, session: Loader) -> OpenCase | None:
        """The open case a call about this shipment is an attempt of (None: none)."""
        cached = self._cases
        if shipment_id in cached:
            return cached[shipment_id]
        s = session()
        case_id = open_case_of_shipment(s, shipment_id)
        found = None
        if case_id is not None:
            found = OpenCase(case_id, worklist.order_to_claim(s, case_id))
        cached[shipment_id] = found
        return found
