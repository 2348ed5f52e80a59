"""``masking appeal ...``: buyers' appeals handed to a site, and how they were handled."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from masking.cases import appeals
from masking.cli.common import JsonOpt, emit, fail, read_text, service_scope

appeal_app = typer.Typer(no_args_is_help=True, help="Buyers' appeals and their SLA.")


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name}: {value!r} is not a date (use YYYY-MM-DD)")


@appeal_app.command("import")
def appeal_import(
    site: str,
    path: Path,
    source: Annotated[str, typer.Option("--source", help="The system that sent them.")],
) -> None:
    """Import a CSV (appeal_id,type,channel,order,phone,text,received_at). All or nothing:
    a bad row aborts with its line number; appeals already received are skipped."""
    text = read_text(path)
    with service_scope() as service:
        report = appeals.import_csv(service, site, text, source)
    typer.echo(f"{report.added} appeals added, {report.skipped} already received")


@appeal_app.command("report")
def appeal_report(
    site: str,
    since: Annotated[str, typer.Option("--since", help="First day (YYYY-MM-DD), inclusive.")],
    until: Annotated[str, typer.Option("--until", help="Last day (YYYY-MM-DD), inclusive.")],
    as_json: JsonOpt = False,
) -> None:
    """Appeals received in the period: called within the target, resolved within the
    limit, closed by the timer, median minutes to the first call."""
    first, last = _day(since, "since"), _day(until, "until")
    with service_scope() as service:
        result = appeals.report(service, site, first, last)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    emit([{"measure": k, "value": v} for k, v in result.items()], False, f"Appeals of {site}")
