"""Shipments (orders) and their customers' numbers, imported from the upstream system."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.numbers.phones import InvalidPhoneNumber, normalize
from masking.shapes import SHIPMENT_RE, AdminError, ImportReport, read_csv_column
from masking.storage.models import Shipment, Site


def import_shipments(
    session: Session, site: Site, text: str, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """CSV with columns ``shipment,phone[,status]``. All rows are validated before any is
    written; the first bad row aborts the import with its line number."""
    rows = read_csv_column(text, "shipment")
    if rows and "phone" not in rows[0][1]:
        raise AdminError("csv: the header must contain a 'phone' column")
    seen: dict[str, tuple[str, str]] = {}
    for line, row in rows:
        number = (row.get("shipment") or "").strip()
        if not SHIPMENT_RE.match(number):
            raise AdminError(f"line {line}: shipment must be 1-64 letters, digits, '-' or '_'")
        try:
            phone = normalize(row.get("phone") or "", site.phone_region, field=f"line {line}")
        except InvalidPhoneNumber as exc:
            raise AdminError(str(exc)) from None
        if number in seen:
            raise AdminError(f"line {line}: shipment {number} appears twice in the file")
        seen[number] = (phone, (row.get("status") or "at_pickup_point").strip()[:40])
        if progress and line % 500 == 0:
            progress(500)
    existing = {
        s.external_number: s
        for s in session.scalars(
            select(Shipment).where(
                Shipment.site_id == site.id, Shipment.external_number.in_(list(seen))
            )
        )
    }
    added = 0
    for number, (phone, status) in seen.items():
        if number in existing:
            existing[number].customer_phone = phone
            existing[number].status = status
        else:
            session.add(
                Shipment(
                    site_id=site.id, external_number=number, customer_phone=phone, status=status
                )
            )
            added += 1
    session.flush()
    return ImportReport(added=added, skipped=len(seen) - added)


def add_shipment(
    session: Session, site: Site, number: str, phone: str, status: str = "at_pickup_point"
) -> Shipment:
    text = f"shipment,phone,status\n{number},{phone},{status}\n"
    import_shipments(session, site, text)
    shipment = session.scalar(
        select(Shipment).where(Shipment.site_id == site.id, Shipment.external_number == number)
    )
    assert shipment is not None
    return shipment
