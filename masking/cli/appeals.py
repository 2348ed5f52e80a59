"""``masking appeal ...``: buyers' appeals handed to a site, and how they were handled."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from masking import sites
from masking.cases import appeals, sla
from masking.cli.common import JsonOpt, emit, fail, read_text, service_scope, session_scope
from masking.states import CaseKind

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


@appeal_app.command("sla")
def appeal_sla(
    site: Annotated[str, typer.Argument(help="Site code, or 'default' for every site")],
    topic: Annotated[str, typer.Option("--type", help="Appeal type, e.g. complaint")],
    first_call: Annotated[int, typer.Option("--first-call", help="Minutes to the first call")],
    resolve: Annotated[int, typer.Option("--resolve", help="Minutes to the resolution")],
) -> None:
    """How long appeals of one type may wait at a site (appeals received from now on)."""
    with session_scope() as session:
        target = None if site == "default" else sites.get_site(session, site)
        sla.set_policy(session, target, CaseKind.APPEAL, topic, first_call, resolve)
    typer.echo(f"{site} {topic}: first call within {first_call} min, resolved within {resolve} min")


@appeal_app.command("sla-clock")
def appeal_sla_clock(
    site: str,
    clock: Annotated[str, typer.Argument(help="working-hours or elapsed")],
) -> None:
    """Count a site's SLA time only while it is open (working-hours) or around the clock."""
    if clock not in ("working-hours", "elapsed"):
        fail("clock: use working-hours or elapsed")
    with session_scope() as session:
        sites.get_site(session, site).sla_working_hours = clock == "working-hours"
    typer.echo(f"{site}: SLA clock counts {clock}")
