"""``masking pool ...``: the pool of virtual numbers and its live state in Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from masking import shapes
from masking.cli.common import (
    JsonOpt,
    emit,
    guarded,
    read_text,
    service_scope,
)
from masking.numbers import bindings, virtual

pool_app = typer.Typer(no_args_is_help=True, help="The pool of virtual numbers.")


@pool_app.command("add")
def pool_add(numbers: list[str], region: str | None = None) -> None:
    """Add virtual numbers (E.164) to the pool."""
    with service_scope() as service:
        added = bindings.add_pool_numbers(service, numbers, region)
    typer.echo(f"{added} numbers added, {len(numbers) - added} already in the pool")


@pool_app.command("import")
def pool_import(path: Path, region: str | None = None) -> None:
    """Import a CSV with a 'number' column; nothing is added if any row is bad."""
    text = read_text(path)
    with guarded():
        rows = shapes.read_csv_column(text, "number")
    numbers = [row.get("number") or "" for _, row in rows]
    with service_scope() as service:
        added = bindings.add_pool_numbers(service, numbers, region)
    typer.echo(f"{added} numbers added, {len(numbers) - added} already in the pool")


@pool_app.command("stats")
def pool_stats(as_json: JsonOpt = False) -> None:
    with service_scope() as service, service.db.session() as session:
        rows = virtual.pool_stats(session, service.clock())
    emit(rows, as_json, "Pool")


@pool_app.command("rebuild")
def pool_rebuild(
    clean: Annotated[bool, typer.Option(help="Drop Redis state first")] = False,
) -> None:
    """Rebuild the live state in Redis from the database."""
    with service_scope() as service:
        if clean:
            service.pool.flush()
        restored = bindings.restore_live_state(service)
    typer.echo(f"{restored} live bindings restored")
