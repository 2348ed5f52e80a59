"""``masking reveal``, ``masking bindings``, ``masking reasons``: temporary numbers from the
command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy import select

from masking import accounts, sites
from masking.cli.common import (
    JsonOpt,
    emit,
    service_scope,
    session_scope,
)
from masking.numbers import bindings
from masking.numbers.phones import mask_number
from masking.reveal import reveal_number
from masking.storage.models import Binding, Reason, Site


def reveal(
    shipment: str,
    staff: Annotated[str, typer.Option(help="Login of the staff member")],
    reason: Annotated[str, typer.Option(help="Reason code (see 'masking reasons')")],
    as_json: JsonOpt = False,
) -> None:
    """Give a staff member the shipment's temporary number (audited)."""
    with service_scope() as service:
        with service.db.session() as session:
            staff_id = accounts.get_staff(session, staff).id
        result = reveal_number(service, staff_id=staff_id, shipment_number=shipment, reason=reason)
    row = {
        "shipment": result.shipment_number,
        "virtual_number": result.virtual_number,
        "expires_at": result.expires_at.isoformat(),
        "reason": result.reason,
        "new": result.new,
        "binding_id": result.binding_id,
    }
    if as_json:
        typer.echo(json.dumps(row))
    else:
        typer.echo(f"{result.virtual_number} (until {result.expires_at:%Y-%m-%d %H:%M} UTC)")


def list_bindings(site: str | None = None, as_json: JsonOpt = False) -> None:
    """List live bindings (customer numbers masked)."""
    with service_scope() as service:
        site_id = None
        if site:
            with service.db.session() as session:
                site_id = sites.get_site(session, site).id
        live: list[Binding] = bindings.live_bindings(service, site_id)
        with service.db.session() as session:
            codes = {row[0]: row[1] for row in session.execute(select(Site.id, Site.code))}
    rows = [
        {
            "id": b.id,
            "site": codes.get(b.site_id),
            "virtual_number": b.virtual_number,
            "customer": mask_number(b.customer_phone),
            "reason": b.reason_code,
            "expires_at": b.expires_at.isoformat(),
        }
        for b in live
    ]
    emit(rows, as_json, "Live bindings")


def list_reasons(as_json: JsonOpt = False) -> None:
    """Reason codes allowed at reveal."""
    with session_scope() as session:
        rows = [
            {"code": r.code, "kind": r.kind, "active": r.active, "title": r.title_en}
            for r in session.scalars(select(Reason).order_by(Reason.kind, Reason.code))
        ]
    emit(rows, as_json, "Reasons")
