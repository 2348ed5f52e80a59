"""``masking pool add | import | stats | rebuild``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cli import Cli


def stats(cli: Cli) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(cli("pool", "stats", "--json"))
    return rows


def test_pool_add(seeded: Cli) -> None:
    out = seeded("pool", "add", "+74950000003", "8 495 000-00-01", "--region", "RU")
    assert "1 numbers added, 1 already in the pool" in out
    assert stats(seeded) == [{"region": "RU", "numbers": 3, "bound_somewhere": 0}]


def test_pool_import(revealed: dict[str, Any], seeded: Cli, tmp_path: Path) -> None:
    csv = tmp_path / "numbers.csv"
    csv.write_text("number\n+74950000003\n+74950000001\n")
    assert "1 numbers added, 1 already" in seeded("pool", "import", str(csv))
    assert stats(seeded) == [{"region": "RU", "numbers": 3, "bound_somewhere": 1}]


def test_pool_stats(seeded: Cli) -> None:
    assert stats(seeded) == [{"region": "RU", "numbers": 2, "bound_somewhere": 0}]
    seeded("reveal", "S1", "--staff", "ann", "--reason", "item_found_later")
    assert stats(seeded) == [{"region": "RU", "numbers": 2, "bound_somewhere": 1}]
    assert "RU" in seeded("pool", "stats")


def test_pool_rebuild(revealed: dict[str, Any], seeded: Cli) -> None:
    assert "1 live bindings restored" in seeded("pool", "rebuild", "--clean")
    assert "1 live bindings restored" in seeded("pool", "rebuild")
    [live] = json.loads(seeded("bindings", "--json"))
    assert live["id"] == revealed["binding_id"]
