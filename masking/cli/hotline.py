"""``masking hotline add | list | reindex``: a brand's hotline DIDs, and the typo index
of customers' numbers they identify callers with."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from masking.cli.common import JsonOpt, emit, service_scope
from masking.hotline import hotlines, index

hotline_app = typer.Typer(
    no_args_is_help=True, help="Hotline DIDs (identify callers by number) and their index."
)


@hotline_app.command("add")
def hotline_add(
    site: str,
    did: Annotated[str, typer.Argument(help="The DID as the carrier delivers it (digits).")],
    brand: Annotated[str, typer.Option(help="Shown to agents: '<brand> <case code>'.")],
    queue: Annotated[str, typer.Option(help="The team's app_queue queue (queues.conf).")],
    region: Annotated[str, typer.Option(help="Phone region callers' numbers are read in.")],
    support_email: Annotated[
        str, typer.Option("--support-email", help="For 'the contact no longer exists'.")
    ] = "",
    on_failure: Annotated[
        str,
        typer.Option("--on-failure", help="Cannot identify: 'queue' (unidentified) or 'prompt'."),
    ] = "queue",
) -> None:
    """Add a hotline DID of the team of SITE, and print the dialplan lines for it."""
    with service_scope() as service:
        hotlines.add_hotline(
            service,
            site,
            did,
            brand=brand,
            queue=queue,
            region=region,
            support_email=support_email,
            on_failure=on_failure,
        )
        [info] = [h for h in hotlines.list_hotlines(service) if h.did == hotlines.did_digits(did)]
    typer.echo(f"hotline {info.did} added ({info.brand}, queue {info.queue})")
    typer.echo("in the carrier trunk's context of your dialplan (dialplan/README.md, Hotline):")
    typer.echo(hotlines.dialplan_sample(info))


@hotline_app.command("list")
def hotline_list(as_json: JsonOpt = False) -> None:
    with service_scope() as service:
        rows = [asdict(h) for h in hotlines.list_hotlines(service)]
    for row in rows:
        row.pop("id")
    emit(rows, as_json, "Hotlines")


@hotline_app.command("reindex")
def hotline_reindex() -> None:
    """Rebuild the typo index of customers' numbers from the shipments (after a bulk
    load that bypassed the service, or to repair it)."""
    with service_scope() as service:
        written = index.rebuild(service)
    typer.echo(f"index rebuilt: {written} keys")
