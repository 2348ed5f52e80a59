"""Call records, and an operator call placed through the real call desk."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from masking.calls.desk import MaskingCallDesk
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.models import CallRecord
from tests.support.factories import World

REASON = "postpaid_payment_failed"


def revealed_number(service: MaskingService, world: World, shipment: str = "PVZ1-00000") -> str:
    """The site owner reveals the shipment's temporary number."""
    return reveal_number(
        service, staff_id=world.owner_id, shipment_number=shipment, reason=REASON
    ).virtual_number


def operator_call(
    service: MaskingService, world: World, shipment: str = "PVZ1-00000", channel: str = ""
) -> str:
    """The owner's desk phone (pvz1-desk1) dials the shipment's temporary number and the
    desk says dial: the call's id."""
    vn = revealed_number(service, world, shipment)
    decision = MaskingCallDesk(service).operator_call(
        endpoint="pvz1-desk1", dialed=vn, channel_id=channel or f"1700000000.{shipment[-1]}"
    )
    assert decision.action == "dial"
    return decision.call_id


def call_record(service: MaskingService, call_id: str) -> CallRecord:
    with service.db.session() as session:
        record = session.get(CallRecord, call_id)
        assert record is not None
        return record


def call_records(service: MaskingService) -> list[CallRecord]:
    with service.db.session() as session:
        return list(session.scalars(select(CallRecord).order_by(CallRecord.started_at)))


def write_recording(service: MaskingService, call_id: str, size: int) -> Path:
    """A file of ``size`` bytes where the call's recording belongs."""
    rel = call_record(service, call_id).recording_file
    assert rel
    path = service.settings.effective_recordings_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    return path
