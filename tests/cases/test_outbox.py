"""Case events out: the outbox delivers every event of a committed change to a real
local HTTP receiver, signed, at least once by its id; retries with backoff; survives a
restart; two deliverers at once send each event once; a rolled-back change sends nothing.
And the settings that switch the webhook on."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from masking.cases import lifecycle, outbox
from masking.cases.outbox import DeliveryFailed, OutgoingEvent, deliver_due, retry_delay
from masking.cases.webhook import WebhookSender, sender_from_settings
from masking.config import ConfigError, Settings, get_settings, load_settings
from masking.service import MaskingService
from masking.states import CaseKind, CaseStatus
from masking.storage.models import Case, OutboxEvent, Shipment
from tests.support.cli import invoke, use_environment
from tests.support.clock import FakeClock
from tests.support.environment import free_tcp_port
from tests.support.factories import World, seed_site
from tests.support.services import open_service
from tests.support.webhook import SECRET, receiver


def open_cases(service: MaskingService, world: World, count: int) -> list[str]:
    """``count`` new appeals, each taken by the employee: one status event each."""
    ids = []
    with service.db.session() as session:
        shipments = session.scalars(
            select(Shipment.id).where(Shipment.site_id == world.site_id).order_by(Shipment.id)
        ).all()
        for i, shipment_id in enumerate(shipments[:count]):
            case = Case(
                kind=CaseKind.APPEAL,
                site_id=world.site_id,
                source="market",
                external_ref=f"A-{i}",
                shipment_id=shipment_id,
                topic="delivery_question",
                status=CaseStatus.NEW,
                received_at=service.clock(),
            )
            session.add(case)
            session.flush()
            ids.append(case.id)
    for case_id in ids:
        lifecycle.take(service, case_id, world.employee_id)
    return ids


def events(service: MaskingService) -> list[OutboxEvent]:
    with service.db.session() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)))


def test_every_event_reaches_the_receiver_signed(service: MaskingService) -> None:
    world = seed_site(service, shipments=3)
    case_ids = open_cases(service, world, 3)
    with receiver() as rec:
        report = deliver_due(service, WebhookSender(rec.url, SECRET))
        again = deliver_due(service, WebhookSender(rec.url, SECRET))
    assert len(report.delivered) == 3 and not report.failed
    assert not again.delivered and not again.failed
    assert sorted(rec.accepted_ids()) == sorted(report.delivered)
    for got in rec.received:
        assert got.signed_with(SECRET)
        assert not got.signed_with(SECRET + "x")
        assert got.headers["X-Masking-Event-Type"] == outbox.CASE_STATUS_CHANGED
        assert got.headers["Content-Type"] == "application/json"
        assert got.payload["event_id"] == got.event_id
        assert got.payload["status"] == CaseStatus.IN_PROGRESS
        assert got.payload["previous_status"] == CaseStatus.NEW
        assert "+7916" not in got.body.decode()  # the customer's number never goes out
    assert {got.payload["case_id"] for got in rec.received} == set(case_ids)
    stored = events(service)
    assert all(e.delivered_at == service.clock() and e.attempts == 1 for e in stored)


def test_retries_with_backoff_until_the_receiver_accepts(
    service: MaskingService, clock: FakeClock
) -> None:
    world = seed_site(service, shipments=1)
    open_cases(service, world, 1)
    with receiver(statuses=[500, 500]) as rec:
        send = WebhookSender(rec.url, SECRET)
        first = deliver_due(service, send)
        [event] = events(service)
        assert first.failed == [event.id] and event.attempts == 1
        assert event.last_error == "HTTP 500" and event.delivered_at is None
        wait = event.next_attempt_at - clock.now
        assert timedelta(seconds=30) <= wait <= timedelta(seconds=33)

        assert deliver_due(service, send).failed == []  # not due yet
        clock.advance(seconds=29)
        assert deliver_due(service, send).failed == []
        clock.advance(seconds=5)
        assert deliver_due(service, send).failed == [event.id]  # the second 500
        [event] = events(service)
        assert event.attempts == 2
        assert timedelta(seconds=60) <= event.next_attempt_at - clock.now <= timedelta(seconds=66)

        clock.advance(seconds=59)
        assert deliver_due(service, send).delivered == []
        clock.advance(seconds=8)
        assert deliver_due(service, send).delivered == [event.id]
    [event] = events(service)
    assert event.attempts == 3 and event.delivered_at == clock.now and event.last_error is None
    assert [r.event_id for r in rec.received] == [event.id] * 3  # the same id every try
    assert rec.accepted_ids() == [event.id]


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n, lambda: 0.0).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]
    assert retry_delay(1, lambda: 1.0) == timedelta(seconds=33)


def test_a_rolled_back_change_sends_nothing(service: MaskingService) -> None:
    world = seed_site(service, shipments=1)
    [case_id] = open_cases(service, world, 1)
    deliver_due(service, lambda event: None)
    with pytest.raises(RuntimeError), service.db.session() as session:
        case = lifecycle.locked_case(session, case_id)
        outbox.enqueue(
            session, case, outbox.CASE_STATUS_CHANGED, service.clock(), previous_status="x"
        )
        session.flush()
        raise RuntimeError("the change failed after the event was written")
    sent: list[OutgoingEvent] = []
    assert deliver_due(service, sent.append).delivered == []
    assert sent == [] and len(events(service)) == 1


def test_a_failed_send_keeps_no_customer_digits(service: MaskingService) -> None:
    world = seed_site(service, shipments=1)
    open_cases(service, world, 1)

    def send(event: OutgoingEvent) -> None:
        raise DeliveryFailed("receiver said: unknown customer +79161234567 " + "x" * 500)

    deliver_due(service, send)
    [event] = events(service)
    assert event.last_error is not None and "1234567" not in event.last_error
    assert len(event.last_error) <= outbox.MAX_ERROR


def test_a_down_receiver_ends_the_round_early(service: MaskingService) -> None:
    world = seed_site(service, shipments=5)
    open_cases(service, world, 5)
    tries: list[str] = []

    def send(event: OutgoingEvent) -> None:
        tries.append(event.id)
        raise DeliveryFailed("timeout")

    report = deliver_due(service, send)
    assert len(report.failed) == len(tries) == 3  # the other two wait for the next round
    assert sum(e.attempts == 0 for e in events(service)) == 2


def test_delivery_survives_a_restart(settings: Settings, clock: FakeClock) -> None:
    with open_service(settings, clock) as first:
        world = seed_site(first, shipments=2)
        open_cases(first, world, 2)

        def refused(event: OutgoingEvent) -> None:
            raise DeliveryFailed("HTTP 503")

        assert len(deliver_due(first, refused).failed) == 2
    clock.advance(minutes=2)
    with open_service(settings, clock) as second, receiver() as rec:
        report = deliver_due(second, WebhookSender(rec.url, SECRET))
        assert len(report.delivered) == 2
        assert all(e.delivered_at and e.attempts == 2 for e in events(second))
    assert sorted(rec.accepted_ids()) == sorted(report.delivered)


def test_two_deliverers_at_once_send_each_event_once(settings: Settings, clock: FakeClock) -> None:
    with open_service(settings, clock) as one, open_service(settings, clock) as two:
        world = seed_site(one, shipments=30)
        open_cases(one, world, 30)
        with receiver(delay=0.01) as rec:
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def run(service: MaskingService) -> None:
                try:
                    barrier.wait(5)
                    deliver_due(service, WebhookSender(rec.url, SECRET))
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(s,)) for s in (one, two)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        assert not errors
        ids = rec.accepted_ids()
        assert len(ids) == len(set(ids)) == 30
        assert all(e.delivered_at is not None for e in events(one))


def test_the_sender_fails_on_timeout_refusal_and_redirect() -> None:
    event = OutgoingEvent("e1", outbox.CASE_STATUS_CHANGED, {"event_id": "e1"}, 1)
    with receiver(delay=1.0) as slow, pytest.raises(DeliveryFailed, match="timeout"):
        WebhookSender(slow.url, SECRET, timeout=0.2)(event)
    with pytest.raises(DeliveryFailed, match="refused"):
        WebhookSender(f"http://127.0.0.1:{free_tcp_port()}/", SECRET)(event)
    with receiver(statuses=[302]) as moved, pytest.raises(DeliveryFailed, match="HTTP 302"):
        WebhookSender(moved.url, SECRET)(event)


def test_the_webhook_needs_a_long_secret(tmp_path: Path) -> None:
    url = "https://upstream.example/hooks"
    for secret in ("", "s" * 31):
        with pytest.raises(ConfigError) as info:
            load_settings(webhook_url=url, webhook_secret=secret)
        message = str(info.value)
        assert message.startswith("MASKING_WEBHOOK_SECRET:") and "\n" not in message
    with pytest.raises(ConfigError, match=r"MASKING_WEBHOOK_URL: .*http"):
        load_settings(webhook_url="file:///etc/passwd", webhook_secret="s" * 32)
    assert sender_from_settings(load_settings()) is None  # no URL: events stay queued
    sender = sender_from_settings(load_settings(webhook_url=url, webhook_secret="s" * 32))
    assert sender is not None and sender.url == url


def test_config_hides_the_webhook_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_environment(
        monkeypatch,
        var_dir=str(tmp_path / "var"),
        webhook_url="https://upstream.example/hooks?token=hunter2",
        webhook_secret="w" * 40,
    )
    try:
        code, out = invoke("config")
    finally:
        get_settings.cache_clear()  # the next test reads its own environment
    assert code == 0, out
    assert "www" not in out and "hunter2" not in out
    assert '"webhook_secret": "***"' in out
