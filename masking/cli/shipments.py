"""``masking shipment ...``: shipments and their customers' numbers."""

from __future__ import annotations

from pathlib import Path

import typer

from masking import shipments, sites
from masking.cli.common import (
    err,
    read_text,
    session_scope,
)
from masking.numbers.phones import mask_number

shipment_app = typer.Typer(no_args_is_help=True, help="Shipments and their customers.")


@shipment_app.command("import")
def shipment_import(site: str, path: Path) -> None:
    """Import a CSV (shipment,phone[,status]); a bad row aborts with its line number."""
    from rich.progress import Progress

    text = read_text(path)
    total = max(text.count("\n") - 1, 1)
    with Progress(console=err, transient=True, disable=total < 2000) as progress:
        task = progress.add_task("checking rows", total=total)
        with session_scope() as session:
            report = shipments.import_shipments(
                session,
                sites.get_site(session, site),
                text,
                progress=lambda n: progress.advance(task, n),
            )
    typer.echo(f"{report.added} shipments added, {report.skipped} updated")


@shipment_app.command("add")
def shipment_add(site: str, number: str, phone: str) -> None:
    with session_scope() as session:
        shipment = shipments.add_shipment(session, sites.get_site(session, site), number, phone)
        typer.echo(f"shipment {number} for {mask_number(shipment.customer_phone)}")
