"""Events for the upstream system, written in the same transaction as the change they
report (so a rolled-back change never leaves an event behind) and delivered later, at
least once, identified by the event id."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from masking import metrics
from masking.numbers.phones import redact_numbers
from masking.service import MaskingService
from masking.storage.models import Case, OutboxEvent, new_id

log = logging.getLogger("masking.cases.outbox")

CASE_STATUS_CHANGED = "case.status_changed"


def case_payload(case: Case) -> dict[str, Any]:
    """What the upstream system learns about a case: never the customer's number."""
    return {
        "case_id": case.id,
        "kind": case.kind,
        "source": case.source,
        "external_ref": case.external_ref,
        "topic": case.topic,
        "status": case.status,
        "closed_automatically": case.closed_automatically,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }


def enqueue(
    session: Session, case: Case, event_type: str, at: datetime, **extra: Any
) -> OutboxEvent:
    """Queue an event about ``case`` in the caller's transaction, due at once (``at``: the
    service's clock)."""
    event_id = new_id()
    event = OutboxEvent(
        id=event_id,
        case_id=case.id,
        type=event_type,
        payload={"event_id": event_id, "type": event_type, **case_payload(case), **extra},
        created_at=at,
        next_attempt_at=at,
    )
    session.add(event)
    return event


LEASE = timedelta(minutes=5)  # a claimed event is not due again before this (sender died)
FIRST_RETRY = 30.0  # seconds after the first failure, doubling
LAST_RETRY = 3600.0
JITTER = 0.1  # up to 10 % later, so that failed events do not come back in step
MAX_ERROR = 200


@dataclass(frozen=True)
class OutgoingEvent:
    """What a sender gets: a copy of the row, detached from any session."""

    id: str
    type: str
    payload: dict[str, Any]
    attempt: int  # 1 for the first try


class DeliveryFailed(Exception):
    """The receiver did not take the event (the message is short and has no customer data)."""


Send = Callable[[OutgoingEvent], None]  # returns: delivered; raises: try again later


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def retry_delay(attempt: int, rand: Callable[[], float] = random.random) -> timedelta:
    """How long after failed try number ``attempt`` (1, 2, ...) the next one is due."""
    base = min(FIRST_RETRY * 2 ** max(attempt - 1, 0), LAST_RETRY)
    return timedelta(seconds=base * (1 + JITTER * rand()))


def short_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return redact_numbers(" ".join(text.split()))[:MAX_ERROR]


def _claim(service: MaskingService) -> OutgoingEvent | None:
    """Take the oldest due event for one try: its due time moves a lease ahead inside a
    short transaction, so no other deliverer takes it while it is being sent. PostgreSQL
    skips rows another deliverer holds; the conditional update also settles the race on
    SQLite, whose plain SELECT takes no lock."""
    now = service.clock()
    with service.db.session() as session:
        event = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.next_attempt_at <= now)
            .order_by(OutboxEvent.next_attempt_at, OutboxEvent.created_at, OutboxEvent.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if event is None:
            return None
        taken = session.execute(
            update(OutboxEvent)
            .where(
                OutboxEvent.id == event.id,
                OutboxEvent.delivered_at.is_(None),
                OutboxEvent.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return OutgoingEvent(event.id, event.type, dict(event.payload), event.attempts + 1)


def _record(service: MaskingService, event: OutgoingEvent, error: str | None) -> None:
    now = service.clock()
    values: dict[str, Any] = {"attempts": event.attempt, "last_error": error}
    if error is None:
        values["delivered_at"] = now
    else:
        values["next_attempt_at"] = now + retry_delay(event.attempt)
    with service.db.session() as session:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event.id, OutboxEvent.delivered_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def deliver_due(
    service: MaskingService, send: Send, *, limit: int = 50, give_up_after: int = 3
) -> DeliveryReport:
    """Send the due events, oldest first, at most ``limit`` of them; each is claimed,
    sent outside any transaction, then marked delivered or due again after a backoff.
    After ``give_up_after`` failures in a row (the receiver is down) the round ends, so
    that the other timers are not held up by timeouts; the rest stay due."""
    report = DeliveryReport()
    in_a_row = 0
    while len(report.delivered) + len(report.failed) < limit and in_a_row < give_up_after:
        event = _claim(service)
        if event is None:
            break
        try:
            send(event)
        except Exception as exc:
            error = short_error(exc)
            _record(service, event, error)
            report.failed.append(event.id)
            metrics.outbox_delivery(False)
            in_a_row += 1
            log.warning(
                "event %s (%s) not delivered, try %d: %s",
                event.id,
                event.type,
                event.attempt,
                error,
            )
        else:
            _record(service, event, None)
            report.delivered.append(event.id)
            metrics.outbox_delivery(True)
            in_a_row = 0
    return report
