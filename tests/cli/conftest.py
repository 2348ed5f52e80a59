"""CLI fixtures: ``masking`` on a fresh SQLite database and this test's Redis prefix, and
the same with one site seeded through the verbs themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from masking.config import get_settings
from tests.support.cli import Cli, use_environment
from tests.support.environment import REDIS_URL


@pytest.fixture
def cli(
    tmp_path: Path, sqlite_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    use_environment(
        monkeypatch,
        var_dir=str(tmp_path / "var"),
        database_url=sqlite_url,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
    )
    yield Cli(sqlite_url)
    get_settings.cache_clear()


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    """Site pvz1 (open around the clock, rings pvz1-phone), its owner ann (desk1) and
    employee eve (desk2), two pool numbers, shipment S1 for +7 916 123-45-67."""
    cli("db", "upgrade")
    cli(
        "site",
        "create",
        "pvz1",
        "--name",
        "PVZ 1",
        "--hours",
        "daily 00:00-24:00",
        "--ring",
        "pvz1-phone",
    )
    cli("staff", "add", "ann", "--role", "owner", "--site", "pvz1", "--endpoint", "desk1")
    cli("staff", "add", "eve", "--role", "employee", "--site", "pvz1", "--endpoint", "desk2")
    cli("pool", "add", "+74950000001", "+74950000002")
    cli("shipment", "add", "pvz1", "S1", "8 916 123 45 67")
    return cli


@pytest.fixture
def revealed(seeded: Cli) -> dict[str, Any]:
    """ann revealed S1's temporary number: one live binding."""
    out = seeded("reveal", "S1", "--staff", "ann", "--reason", "item_found_later", "--json")
    result: dict[str, Any] = json.loads(out)
    return result
