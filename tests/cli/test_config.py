"""``masking config`` and ``masking db upgrade``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Cli, use_environment


def test_config(cli: Cli) -> None:
    out = cli("config")
    assert "***" in out
    shown = json.loads(out)
    assert shown["database_url"] == cli.url
    assert shown["ami_secret"] in ("***", "") and shown["session_secret"] in ("***", "")


def test_config_hides_the_database_password(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(monkeypatch, database_url="postgresql+psycopg://masking:hunter2@db/masking")
    shown = json.loads(cli("config"))
    assert shown["database_url"] == "postgresql+psycopg://masking:***@db/masking"


def test_db_upgrade(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    use_environment(monkeypatch, database_url=fresh)
    assert "is up to date" in cli("db", "upgrade")
    assert "is up to date" in cli("db", "upgrade")  # idempotent
    assert json.loads(cli("site", "list", "--json")) == []
    assert "item_found_later" in cli("reasons")
