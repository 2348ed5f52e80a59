"""``masking config``: the effective configuration, secrets hidden."""

from __future__ import annotations

import json

import typer

from masking.cli.common import (
    safe_url,
    settings,
)


def show_config() -> None:
    """Print the effective configuration (secrets and passwords inside URLs hidden)."""
    s = settings()
    data = s.model_dump(mode="json")
    data["database_url"] = s.effective_database_url
    for key, value in data.items():
        if key.endswith(("secret", "password", "token")):
            data[key] = "***" if value else ""
        elif isinstance(value, str) and "://" in value:
            data[key] = safe_url(value)
    typer.echo(json.dumps(data, indent=2))
