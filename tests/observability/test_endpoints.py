"""/healthz, /readyz and /metrics of the HTTP app on the real service (Redis and SQLite /
PostgreSQL): readiness names what is down and nothing secret, the optional bearer token of
/metrics, and the gauges read from the database at scrape time (pool per region, pool
exhaustion, the webhook outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from masking import redis_client
from masking.cases import outbox
from masking.config import Settings
from masking.monitoring import Readiness
from masking.numbers.pool import LivePool
from masking.refusals import Refusal, Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.db import Database
from masking.storage.models import Case, OutboxEvent
from masking.web import create_app
from tests.support import appeals
from tests.support.clock import FakeClock
from tests.support.environment import free_tcp_port
from tests.support.factories import seed_site
from tests.support.metrics import Samples, samples, value

TOKEN = "t" * 24


def pool_at(settings: Settings, url: str) -> LivePool:
    return LivePool(redis_client.connect(settings.model_copy(update={"redis_url": url})))


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


@pytest.fixture
def client(service: MaskingService) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as test_client:
        yield test_client


def test_healthz_answers_without_asking_anything(settings: Settings, clock: FakeClock) -> None:
    """Alive even when the database and Redis are not: liveness is the process only."""
    dead = MaskingService(
        settings,
        Database(f"postgresql+psycopg://nobody:pw@127.0.0.1:{free_tcp_port()}/none"),
        pool_at(settings, f"redis://127.0.0.1:{free_tcp_port()}/0"),
        clock,
    )
    with TestClient(create_app(dead)) as client:
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_ready_when_the_database_and_redis_answer(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_names_what_is_down_and_no_secret(settings: Settings, clock: FakeClock) -> None:
    """Redis behind a URL with a password, nobody listening; AMI not connected: 503, the
    body names both, with an exception type, never the URL or the password."""
    service = MaskingService(
        settings,
        Database(settings.effective_database_url),
        pool_at(settings, f"redis://:hunter2secret@127.0.0.1:{free_tcp_port()}/0"),
        clock,
    )
    readiness = Readiness.of(service, ami_connected=lambda: False)
    with TestClient(create_app(service, readiness=readiness)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"] == {"database": "ok", "redis": "down", "ami": "down"}
    assert body["errors"] == {"redis": "ConnectionError", "ami": "not connected"}
    assert "hunter2" not in response.text and "127.0.0.1" not in response.text
    service.close()


async def test_a_hanging_check_is_down_after_the_deadline_and_not_run_twice() -> None:
    import threading

    release = threading.Event()
    calls: list[int] = []

    def hangs() -> None:
        calls.append(1)
        release.wait(5)

    readiness = Readiness({"database": hangs}, timeout=0.1)
    try:
        first = await readiness.probe()
        second = await readiness.probe()  # the first one's check still hangs
    finally:
        release.set()
    assert first.errors == {"database": "timeout"} == second.errors
    assert len(calls) == 1


def test_metrics_asks_for_the_token_when_one_is_set(
    service: MaskingService, settings: Settings
) -> None:
    guarded = MaskingService(
        settings.model_copy(update={"metrics_token": TOKEN}),
        service.db,
        service.pool,
        service.clock,
    )
    with TestClient(create_app(guarded)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 24})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert scrape(client, Authorization=f"Bearer {TOKEN}")
        # the probes stay open: orchestrators send no credentials
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_pool_gauges_and_the_exhaustion_counter(
    service: MaskingService, client: TestClient
) -> None:
    world = seed_site(service, pool=2, shipments=3)
    before = scrape(client)
    assert value(before, "masking_pool_numbers", region="RU") == 2
    assert value(before, "masking_pool_free_numbers", region="RU") == 2
    assert value(before, "masking_pool_headroom", region="RU") == 2
    for i in range(2):
        reveal_number(
            service,
            staff_id=world.owner_id,
            shipment_number=f"PVZ1-{i:05d}",
            reason="item_found_later",
        )
    with pytest.raises(Refused) as refused:
        reveal_number(
            service,
            staff_id=world.owner_id,
            shipment_number="PVZ1-00002",
            reason="item_found_later",
        )
    assert refused.value.reason is Refusal.POOL_EXHAUSTED
    after = scrape(client)
    assert value(after, "masking_pool_free_numbers", region="RU") == 0
    assert value(after, "masking_pool_headroom", region="RU") == 0
    exhausted = ("masking_pool_exhausted_total", frozenset({("region", "RU")}))
    assert after[exhausted] - before.get(exhausted, 0) == 1
    assert value(after, "masking_dependency_up", dependency="database") == 1
    assert value(after, "masking_dependency_up", dependency="redis") == 1


def test_outbox_backlog_and_how_long_the_oldest_due_event_waited(
    service: MaskingService, client: TestClient, clock: FakeClock
) -> None:
    seed_site(service, shipments=1)
    case_id = appeals.receive(service, f"ref-{uuid.uuid4().hex[:6]}")
    with service.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        for _ in range(2):
            outbox.enqueue(session, case, outbox.CASE_STATUS_CHANGED, clock())
    with service.db.session() as session:
        pending = session.query(OutboxEvent).filter(OutboxEvent.delivered_at.is_(None)).count()
    assert pending >= 2
    clock.advance(seconds=90)
    found = scrape(client)
    assert value(found, "masking_outbox_pending") == pending
    assert value(found, "masking_outbox_oldest_due_seconds") >= 90
    report = outbox.deliver_due(service, lambda event: None, limit=1000)
    assert len(report.delivered) == pending
    drained = scrape(client)
    assert value(drained, "masking_outbox_pending") == 0
    assert value(drained, "masking_outbox_oldest_due_seconds") == 0
    delivered = ("masking_outbox_deliveries_total", frozenset({("result", "delivered")}))
    assert drained[delivered] - found.get(delivered, 0) == pending


def test_a_database_that_stops_answering_leaves_its_gauges_out(
    settings: Settings, clock: FakeClock
) -> None:
    service = MaskingService(
        settings,
        Database(f"postgresql+psycopg://nobody:pw@127.0.0.1:{free_tcp_port()}/none"),
        LivePool(redis_client.connect(settings), settings.redis_prefix),
        clock,
    )
    with TestClient(create_app(service)) as client:
        found = scrape(client)
    assert value(found, "masking_dependency_up", dependency="database") == 0
    assert value(found, "masking_dependency_up", dependency="redis") == 1
    assert not any(name.startswith("masking_outbox_pending") for name, _ in found)
    service.close()


def test_the_probes_are_not_in_the_api_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)
