"""``masking config``: the effective configuration, secrets hidden."""

from __future__ import annotations

import json

import typer

from masking.cli.common import (
    safe_url,
    settings,
)


def show_config() -> None:
    """Print the effective configuration (secrets hidden)."""
    s = settings()
    data = s.model_dump(mode="json")
    for key in ("ami_secret", "session_secret"):
        data[key] = "***" if data.get(key) else ""
    data["database_url"] = safe_url(s.effective_database_url)
    typer.echo(json.dumps(data, indent=2))
