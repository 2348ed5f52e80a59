"""``masking recordings ...``: list recordings and apply the retention policy.

Registered in :mod:`masking.cli` with
``app.add_typer(recordings_app, name="recordings")``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from masking import recordings as rec
from masking.config import ConfigError, get_settings
from masking.service import Masking

recordings_app = typer.Typer(
    no_args_is_help=True, help="Call recordings: list them, delete old ones (retention)."
)
out = Console()
err = Console(stderr=True, soft_wrap=True)


def _service() -> Masking:
    try:
        return Masking.from_settings(get_settings())
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _site_id(service: Masking, code: str | None) -> int | None:
    if code is None:
        return None
    from masking import admin

    with service.db.session() as session:
        try:
            return admin.get_site(session, code).id
        except admin.AdminError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None


@recordings_app.command("list")
def list_cmd(
    site: Annotated[str | None, typer.Option(help="Only this site (code)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Calls that have a recording on disk, newest first."""
    service = _service()
    rows = rec.list_recordings(service, site_id=_site_id(service, site), limit=limit)
    data = [
        {
            "call_id": r.id,
            "started_at": r.started_at.isoformat(),
            "site_id": r.site_id,
            "direction": r.direction,
            "file": r.recording_file,
            "bytes": r.recording_bytes,
        }
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table("call", "started", "site", "direction", "file", "bytes")
    for row in data:
        table.add_row(*(str(row[k]) for k in row))
    out.print(table)


@recordings_app.command("purge")
def purge_cmd(
    days: Annotated[
        int, typer.Option(min=1, max=rec.MAX_RETENTION_DAYS, help="Delete older than N days")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count")] = False,
) -> None:
    """Retention: delete recordings of calls older than N days (records are kept)."""
    service = _service()
    try:
        report = rec.purge(service, days=days, dry_run=dry_run)
    except rec.RecordingError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    verb = "would delete" if dry_run else "deleted"
    out.print(
        f"{verb} {report.deleted} recordings ({report.freed_bytes} bytes); "
        f"{report.missing} already gone; {report.failed} failed",
        highlight=False,
    )
    if report.failed:
        raise typer.Exit(1)
