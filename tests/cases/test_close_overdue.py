"""The SLA timer: open appeals past their limit become Not resolved, once, even when two
instances run it together, and everything that fell due during an outage on the next run."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from masking.cases import appeals, lifecycle
from masking.config import Settings
from masking.service import MaskingService
from masking.states import CaseStatus
from masking.storage.models import Case, CaseEvent, OutboxEvent
from tests.support.appeals import call, receive
from tests.support.clock import FakeClock
from tests.support.factories import seed_site
from tests.support.services import open_service


def status_events(service: MaskingService) -> Counter[str]:
    with service.db.session() as session:
        return Counter(
            session.scalars(select(CaseEvent.case_id).where(CaseEvent.action == "status"))
        )


def outbox_events(service: MaskingService) -> Counter[str | None]:
    with service.db.session() as session:
        return Counter(session.scalars(select(OutboxEvent.case_id)))


def test_two_instances_close_each_case_once(
    service: MaskingService, settings: Settings, clock: FakeClock
) -> None:
    seed_site(service, shipments=1)
    ids = [receive(service, f"A-{i}") for i in range(8)]
    clock.advance(hours=24)
    results: list[list[str]] = []
    barrier = threading.Barrier(2)

    def run(instance: MaskingService) -> None:
        barrier.wait()
        results.append(appeals.close_overdue(instance, clock.now))

    with open_service(settings, clock) as other:
        threads = [threading.Thread(target=run, args=(s,)) for s in (service, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(results) == 2
    assert sorted(results[0] + results[1]) == sorted(ids)
    assert status_events(service) == Counter(ids)
    assert outbox_events(service) == Counter(ids)
    with service.db.session() as session:
        cases = session.scalars(select(Case)).all()
        assert {(c.status, c.closed_automatically, c.closed_at) for c in cases} == {
            (CaseStatus.NOT_RESOLVED, True, clock.now)
        }
        event = session.scalars(select(OutboxEvent)).first()
        assert event is not None
        assert event.payload["status"] == CaseStatus.NOT_RESOLVED
        assert event.payload["closed_automatically"] is True
    assert appeals.close_overdue(service, clock.now) == []


def test_only_open_and_due_appeals_close(service: MaskingService, clock: FakeClock) -> None:
    world = seed_site(service, shipments=1)
    due, taken, resolved = (receive(service, ref) for ref in ("A-1", "A-2", "A-3"))
    lifecycle.take(service, taken, world.manager_id)
    call(service, resolved, clock.now)
    lifecycle.change_status(service, resolved, world.manager_id, "resolved", "Sorted out")
    clock.advance(hours=1)
    later = receive(service, "A-4")
    clock.advance(hours=23)
    assert sorted(appeals.close_overdue(service, clock.now)) == sorted([due, taken])
    with service.db.session() as session:
        status = {i: s for i, s in session.execute(select(Case.id, Case.status))}
    assert status[resolved] == CaseStatus.RESOLVED
    assert status[later] == CaseStatus.NEW
    clock.advance(hours=1)
    assert appeals.close_overdue(service, clock.now) == [later]


def test_catch_up_after_an_outage(service: MaskingService, clock: FakeClock) -> None:
    seed_site(service, shipments=1)
    first = receive(service, "A-1")
    clock.advance(hours=2)
    second = receive(service, "A-2")
    clock.advance(hours=10)
    not_yet = receive(service, "A-3")
    # the timer last ran just before the first limit; then 3 hours without the service
    clock.advance(hours=12, seconds=-1)
    assert appeals.close_overdue(service, clock.now) == []
    clock.advance(hours=3, seconds=1)
    assert appeals.close_overdue(service, clock.now) == [first, second]
    with service.db.session() as session:
        assert session.get(Case, not_yet).status == CaseStatus.NEW  # type: ignore[union-attr]
    assert status_events(service) == Counter([first, second])
