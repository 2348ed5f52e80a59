"""``masking shipment ...``: shipments and their customers' numbers."""

from __future__ import annotations

from pathlib import Path

import typer

from masking import shipments
from masking.cli.common import (
    err,
    read_text,
    service_scope,
)
from masking.numbers.phones import mask_number

shipment_app = typer.Typer(no_args_is_help=True, help="Shipments and their customers.")


@shipment_app.command("import")
def shipment_import(site: str, path: Path) -> None:
    """Import a CSV (shipment,phone[,status]); a bad row aborts with its line number.
    A changed phone revokes the shipment's live temporary number."""
    from rich.progress import Progress

    text = read_text(path)
    total = max(text.count("\n") - 1, 1)
    with Progress(console=err, transient=True, disable=total < 2000) as progress:
        task = progress.add_task("checking rows", total=total)
        with service_scope() as service:
            report = shipments.import_for_site(
                service, site, text, progress=lambda n: progress.advance(task, n)
            )
    typer.echo(f"{report.added} shipments added, {report.skipped} updated")


@shipment_app.command("add")
def shipment_add(site: str, number: str, phone: str) -> None:
    """Add a shipment, or correct its phone (revoking its live temporary number)."""
    with service_scope() as service:
        shipment = shipments.add_for_site(service, site, number, phone)
        typer.echo(f"shipment {number} for {mask_number(shipment.customer_phone)}")
