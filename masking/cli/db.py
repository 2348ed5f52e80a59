"""``masking db ...``: the database schema."""

from __future__ import annotations

import typer

from masking.cli.common import (
    guarded,
    safe_url,
    settings,
)
from masking.storage.db import Database

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema (SQLite file by default, or MASKING_DATABASE_URL)."""
    db = Database(settings().effective_database_url)
    with guarded():
        db.upgrade()
    typer.echo(f"database at {safe_url(db.url)} is up to date")
