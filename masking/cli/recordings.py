"""``masking recordings ...``: list recordings and apply the retention policy."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from masking import recordings as rec
from masking import sites
from masking.cli.common import fail, out, service_scope
from masking.service import MaskingService
from masking.shapes import AdminError

recordings_app = typer.Typer(
    no_args_is_help=True, help="Call recordings: list them, delete old ones (retention)."
)


def _site_id(service: MaskingService, code: str | None) -> int | None:
    if code is None:
        return None
    with service.db.session() as session:
        try:
            return sites.get_site(session, code).id
        except AdminError as exc:
            fail(str(exc))


@recordings_app.command("list")
def list_cmd(
    site: Annotated[str | None, typer.Option(help="Only this site (code)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Calls that have a recording on disk, newest first."""
    with service_scope() as service:
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
    with service_scope() as service:
        try:
            report = rec.purge(service, days=days, dry_run=dry_run)
        except rec.RecordingError as exc:
            fail(str(exc))
    verb = "would delete" if dry_run else "deleted"
    out.print(
        f"{verb} {report.deleted} recordings ({report.freed_bytes} bytes); "
        f"{report.missing} already gone; {report.failed} failed",
        highlight=False,
    )
    if report.failed:
        raise typer.Exit(1)
