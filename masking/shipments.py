"""Shipments (orders) and their customers' numbers, imported from the upstream system.

A re-import that changes a shipment's phone corrects a mistake: the live binding of the
shipment still leads to the old number, so it is revoked (database and live pool) and a
new reveal binds the new number. That needs the live pool: :func:`import_for_site` and
:func:`add_for_site` take the service; the session-level :func:`import_shipments` and
:func:`add_shipment` (seeding, tests) refuse such a correction rather than leave the
live pool behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.numbers.phones import InvalidPhoneNumber, mask_number, normalize
from masking.service import MaskingService
from masking.shapes import SHIPMENT_RE, AdminError, ImportReport, read_csv_column
from masking.sites import get_site
from masking.storage.models import Binding, Shipment, Site, utcnow

log = logging.getLogger("masking.shipments")

DEFAULT_STATUS = "at_pickup_point"


def _stage(
    session: Session,
    site: Site,
    text: str,
    progress: Callable[[int], None] | None,
    now: datetime | None,
) -> tuple[ImportReport, list[Binding]]:
    """Validate every row, then write them; a changed phone revokes the shipment's live
    bindings in the database (without ``now``: every binding not revoked yet). Returns the
    report and the revoked bindings."""
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
        seen[number] = (phone, (row.get("status") or DEFAULT_STATUS).strip()[:40])
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
    corrected: list[int] = []
    for number, (phone, status) in seen.items():
        if number in existing:
            if existing[number].customer_phone != phone:
                corrected.append(existing[number].id)
            existing[number].customer_phone = phone
            existing[number].status = status
        else:
            session.add(
                Shipment(
                    site_id=site.id, external_number=number, customer_phone=phone, status=status
                )
            )
            added += 1
    revoked: list[Binding] = []
    if corrected:
        live = Binding.live_at(now) if now is not None else Binding.revoked_at.is_(None)
        revoked = list(
            session.scalars(select(Binding).where(Binding.shipment_id.in_(corrected), live))
        )
        for binding in revoked:
            binding.revoked_at = now or utcnow()
    session.flush()
    return ImportReport(added=added, skipped=len(seen) - added), revoked


def _one_row(number: str, phone: str, status: str) -> str:
    return f"shipment,phone,status\n{number},{phone},{status}\n"


def _shipment(session: Session, site: Site, number: str) -> Shipment:
    shipment = session.scalar(
        select(Shipment).where(Shipment.site_id == site.id, Shipment.external_number == number)
    )
    assert shipment is not None
    return shipment


def import_shipments(
    session: Session, site: Site, text: str, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """CSV with columns ``shipment,phone[,status]``. All rows are validated before any is
    written; the first bad row aborts the import with its line number. Session-level,
    without the service's clock: a phone correction of a shipment with any binding not
    revoked is refused (use :func:`import_for_site`)."""
    report, revoked = _stage(session, site, text, progress, None)
    if revoked:
        raise AdminError(
            "a corrected phone belongs to a shipment with a live temporary number: "
            "import it with the service ('masking shipment import') to revoke that number"
        )
    return report


def add_shipment(
    session: Session, site: Site, number: str, phone: str, status: str = DEFAULT_STATUS
) -> Shipment:
    import_shipments(session, site, _one_row(number, phone, status))
    return _shipment(session, site, number)


def import_for_site(
    service: MaskingService,
    site_code: str,
    text: str,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """:func:`import_shipments` that also corrects phones: the live binding of a shipment
    whose phone changed is revoked in the database and released from the live pool
    (the old customer keeps the cool-off of its number), and logged, masked."""
    with service.db.session() as session:
        report, _ = _import_and_revoke(service, session, site_code, text, progress)
    return report


def add_for_site(
    service: MaskingService,
    site_code: str,
    number: str,
    phone: str,
    status: str = DEFAULT_STATUS,
) -> Shipment:
    with service.db.session() as session:
        _, site = _import_and_revoke(
            service, session, site_code, _one_row(number, phone, status), None
        )
        return _shipment(session, site, number)


def _import_and_revoke(
    service: MaskingService,
    session: Session,
    site_code: str,
    text: str,
    progress: Callable[[int], None] | None,
) -> tuple[ImportReport, Site]:
    site = get_site(session, site_code)
    report, revoked = _stage(session, site, text, progress, service.clock())
    # before the commit: if Redis cannot forget the binding, nothing is written and the
    # old number keeps working until the import is retried
    for binding in revoked:
        service.pool.release(binding.id)
        log.info(
            "site %s shipment %s: phone corrected, now %s; revoked binding %s "
            "(temporary number %s, was for %s)",
            site.code,
            binding.shipment.external_number,
            mask_number(binding.shipment.customer_phone),
            binding.id,
            binding.virtual_number,
            mask_number(binding.customer_phone),
        )
    return report, site
