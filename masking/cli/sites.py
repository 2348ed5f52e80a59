"""``masking site ...``: sites, their hours and exceptions, suspension."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from sqlalchemy import select

from masking import sites
from masking.cli.common import (
    JsonOpt,
    emit,
    fail,
    session_scope,
)
from masking.hours import weekly_text
from masking.storage.models import Site

site_app = typer.Typer(no_args_is_help=True, help="Sites: hours, exceptions, suspension.")


@site_app.command("create")
def site_create(
    code: str,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone")] = "Europe/Moscow",
    region: Annotated[str, typer.Option(help="Phone region for local numbers")] = "RU",
    hours: Annotated[str, typer.Option(help="e.g. 'mon-fri 09:00-21:00; sat 10:00-18:00'")] = (
        "daily 09:00-21:00"
    ),
    ttl_hours: Annotated[float | None, typer.Option(help="Binding lifetime")] = None,
    ring: Annotated[list[str] | None, typer.Option(help="Endpoint to ring on call-backs")] = None,
) -> None:
    """Create a site (pickup point or call-centre desk)."""
    with session_scope() as session:
        site = sites.create_site(
            session,
            code=code,
            name=name,
            timezone=tz,
            region=region,
            hours=hours,
            ttl_hours=ttl_hours,
            ring_endpoints=ring or [],
        )
        typer.echo(f"site {site.code} created")


@site_app.command("list")
def site_list(as_json: JsonOpt = False) -> None:
    with session_scope() as session:
        rows = [
            {
                "code": s.code,
                "name": s.name,
                "timezone": s.timezone,
                "region": s.phone_region,
                "hours": weekly_text(s.weekly_hours),
                "suspended": s.suspended_reason if s.suspended else None,
                "ring": ",".join(s.ring_endpoints),
            }
            for s in session.scalars(select(Site).order_by(Site.code))
        ]
    emit(rows, as_json, "Sites")


@site_app.command("set-hours")
def site_set_hours(code: str, hours: str) -> None:
    """Replace the weekly schedule, e.g. 'mon-fri 09:00-21:00; sat 10:00-16:00'."""
    with session_scope() as session:
        sites.set_hours(session, sites.get_site(session, code), hours)
    typer.echo(f"site {code}: hours set")


@site_app.command("add-exception")
def site_add_exception(
    code: str,
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    hours: Annotated[list[str] | None, typer.Option(help="HH:MM-HH:MM; none = closed")] = None,
    note: str = "",
) -> None:
    """A holiday (no --hours) or a short day on a date."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        fail(f"day: {day!r} is not a date (YYYY-MM-DD)")
    with session_scope() as session:
        sites.add_exception(session, sites.get_site(session, code), parsed, hours or [], note)
    typer.echo(f"site {code}: {day} {'closed' if not hours else ', '.join(hours)}")


@site_app.command("suspend")
def site_suspend(
    code: str,
    reason: Annotated[str, typer.Option(help="Why")],
    by: Annotated[str, typer.Option(help="Who")] = "admin",
) -> None:
    """Hide the site's numbers: reveals and calls are refused until resumed."""
    with session_scope() as session:
        sites.suspend(sites.get_site(session, code), reason=reason, by=by)
    typer.echo(f"site {code}: suspended")


@site_app.command("resume")
def site_resume(code: str) -> None:
    with session_scope() as session:
        sites.resume(sites.get_site(session, code))
    typer.echo(f"site {code}: resumed")
