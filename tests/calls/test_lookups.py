"""The call desk's cached lookups never let a change through late: a revoked visibility,
a deactivated account, a suspended or closed site is seen by the next call, whichever
process made the change (the epoch in Redis, masking.calls.lookups)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session

from masking import accounts, sites
from masking.calls.desk import MaskingCallDesk
from masking.config import Settings
from masking.refusals import Refusal
from masking.service import MaskingService
from masking.storage.models import Site, Staff
from tests.support.calls import revealed_number
from tests.support.clock import FakeClock
from tests.support.factories import World, seed_site
from tests.support.services import open_service


@pytest.fixture
def world(service: MaskingService) -> Iterator[World]:
    yield seed_site(service, pool=3, shipments=2)


@pytest.fixture
def other_process(settings: Settings, clock: FakeClock) -> Iterator[MaskingService]:
    """Another instance of the service: its own database engine and Redis connection."""
    with open_service(settings, clock) as svc:
        yield svc


def _change(service: MaskingService, how: Callable[[Session], object]) -> None:
    with service.db.session() as session:
        how(session)


def _staff(session: Session, login: str) -> Staff:
    return accounts.get_staff(session, login)


def _site(session: Session) -> Site:
    return sites.get_site(session, "pvz1")


def test_every_cached_change_is_seen_by_the_next_call(
    service: MaskingService, world: World, other_process: MaskingService
) -> None:
    vn = revealed_number(service, world)
    desk = MaskingCallDesk(service)

    def call(endpoint: str = "pvz1-desk3") -> Refusal | None:
        return desk.operator_call(endpoint=endpoint, dialed=vn, channel_id="c").deny_reason

    _change(other_process, lambda s: accounts.set_numbers_visible(_staff(s, "pvz1-emp"), True))
    assert call() is None
    _change(other_process, lambda s: accounts.set_numbers_visible(_staff(s, "pvz1-emp"), False))
    assert call() is Refusal.NOT_ALLOWED
    assert call("pvz1-desk1") is None
    now = service.clock()
    _change(other_process, lambda s: accounts.set_active(s, _staff(s, "pvz1-owner"), False, now))
    assert call("pvz1-desk1") is Refusal.NOT_ALLOWED
    assert call("pvz1-desk2") is None
    _change(other_process, lambda s: sites.suspend(_site(s), reason="audit", by="admin"))
    assert call("pvz1-desk2") is Refusal.SUSPENDED
    _change(other_process, lambda s: sites.resume(_site(s)))
    assert call("pvz1-desk2") is None
    _change(other_process, lambda s: sites.set_hours(s, _site(s), "daily 22:00-23:00"))
    assert call("pvz1-desk2") is Refusal.CLOSED
    _change(other_process, lambda s: sites.set_hours(s, _site(s), "daily 00:00-24:00"))
    assert call("pvz1-desk2") is None
    today = service.clock().date()
    _change(other_process, lambda s: sites.add_exception(s, _site(s), today, []))
    assert call("pvz1-desk2") is Refusal.CLOSED


def test_a_change_from_another_os_process_is_seen(
    service: MaskingService, world: World, settings: Settings
) -> None:
    vn = revealed_number(service, world)
    desk = MaskingCallDesk(service)
    assert desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c").action == "dial"
    script = (
        "from masking.config import load_settings; from masking.service import MaskingService;"
        "from masking import sites; import sys\n"
        f"s = MaskingService.from_settings(load_settings(var_dir={str(settings.var_dir)!r},"
        f" database_url={settings.effective_database_url!r}, redis_url={settings.redis_url!r},"
        f" redis_prefix={settings.redis_prefix!r}))\n"
        "with s.db.session() as session:\n"
        "    sites.suspend(sites.get_site(session, 'pvz1'), reason='audit', by='cli')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, env=os.environ.copy())
    decision = desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c")
    assert decision.deny_reason is Refusal.SUSPENDED


def test_a_revocation_under_load_stops_every_later_call(
    service: MaskingService, world: World, other_process: MaskingService
) -> None:
    """Eight threads place calls non-stop; the owner's account is switched off by another
    instance. Every call that started after the switch-off returned is denied."""
    vn = revealed_number(service, world)
    desk = MaskingCallDesk(service)
    stop = threading.Event()
    outcomes: list[tuple[int, str]] = []  # (sequence number at start, action)
    sequence = iter(range(10**9))
    changed_at: list[int] = []
    lock = threading.Lock()

    def place_calls() -> None:
        while not stop.is_set():
            with lock:
                started = next(sequence)
            decision = desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c")
            with lock:
                outcomes.append((started, decision.action))

    threads = [threading.Thread(target=place_calls) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        while sum(1 for _, action in outcomes if action == "dial") < 40:
            time.sleep(0.01)
        now = service.clock()
        _change(
            other_process, lambda s: accounts.set_active(s, _staff(s, "pvz1-owner"), False, now)
        )
        with lock:
            changed_at.append(next(sequence))
        while len([o for o in outcomes if o[0] > changed_at[0]]) < 40:
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    later = [action for started, action in outcomes if started > changed_at[0]]
    assert later and set(later) == {"deny"}
    assert any(action == "dial" for started, action in outcomes if started < changed_at[0])


def test_a_redis_restart_drops_the_cache(
    service: MaskingService, world: World, other_process: MaskingService
) -> None:
    """The epoch key is gone (Redis restarted empty): the next call re-reads everything."""
    vn = revealed_number(service, world)
    desk = MaskingCallDesk(service)
    assert desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c").action == "dial"
    reloads = desk.lookups.reloads
    service.pool.redis.delete(service.config_epoch.key)
    assert desk.operator_call(endpoint="pvz1-desk1", dialed=vn, channel_id="c").action == "dial"
    assert desk.lookups.reloads == reloads + 1
