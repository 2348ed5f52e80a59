"""Appeals for the case tests: one received through the domain, and a call attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from masking.cases import appeals, lifecycle
from masking.service import MaskingService
from masking.states import Direction, Disposition
from masking.storage.models import CallRecord, Case


def fields(service: MaskingService, ref: str, **overrides: Any) -> dict[str, Any]:
    """The arguments of appeal ``ref`` (source ``market``) about the seeded shipment
    PVZ1-00000 of pvz1, received now."""
    values: dict[str, Any] = {
        "site_code": "pvz1",
        "source": "market",
        "external_ref": ref,
        "topic": "delivery_question",
        "channel": "chat",
        "order_ref": "PVZ1-00000",
        "customer_phone": None,
        "text": "Where is my parcel?",
        "received_at": service.clock(),
    }
    values.update(overrides)
    return values


def receive(service: MaskingService, ref: str, **overrides: Any) -> str:
    """Receive :func:`fields`; returns the case id."""
    return appeals.receive_appeal(service, **fields(service, ref, **overrides)).case_id


def call(
    service: MaskingService,
    case_id: str,
    at: datetime,
    disposition: str = Disposition.ANSWERED,
    seconds: int | None = 30,
    **record: Any,
) -> None:
    """A call about the case started at ``at`` and ended as ``disposition`` (``record``:
    more columns of its call record)."""
    with service.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        session.add(
            CallRecord(
                direction=Direction.CLICK2CALL,
                site_id=case.site_id,
                shipment_id=case.shipment_id,
                case_id=case_id,
                started_at=at,
                disposition=disposition,
                bridged_seconds=seconds,
                **record,
            )
        )
        session.flush()
        lifecycle.attempt_started(session, case_id, at)


def api_body(ref: str, **overrides: Any) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/appeals`` for appeal ``ref`` about the seeded order
    PVZ1-00000 (its customer's number is known, so none is sent)."""
    body: dict[str, Any] = {
        "source": "market",
        "appeal_id": ref,
        "type": "delivery_question",
        "channel": "chat",
        "order": "PVZ1-00000",
        "text": "Where is my parcel?",
    }
    body.update(overrides)
    return body
