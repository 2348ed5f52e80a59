"""``masking recordings list | purge`` on the web tests' two seeded sites (a recorded call
each, two days old), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from masking.cli import recordings as cli
from masking.service import MaskingService
from tests.support.cli import invoke
from tests.support.web import Seeded, seed_world


@pytest.fixture
def world(service: MaskingService, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """The verbs run on this test's service (and its clock)."""

    @contextmanager
    def service_scope() -> Iterator[MaskingService]:
        yield service

    monkeypatch.setattr(cli, "service_scope", service_scope)
    return seed_world(service)


def test_recordings_list(world: Seeded) -> None:
    code, output = invoke("recordings", "list", "--json")
    assert code == 0 and len(json.loads(output)) == 2
    assert {r["call_id"] for r in json.loads(output)} == set(world.calls.values())
    code, output = invoke("recordings", "list", "--site", "pvz2", "--json")
    assert code == 0 and [r["call_id"] for r in json.loads(output)] == [world.calls["pvz2"]]


def test_recordings_purge(world: Seeded) -> None:
    code, output = invoke("recordings", "purge", "--days", "1", "--dry-run")
    assert code == 0 and "would delete 2" in output
    assert invoke("recordings", "purge", "--days", "0")[0] != 0
    code, output = invoke("recordings", "purge", "--days", "1")
    assert code == 0 and "deleted 2" in output
    assert json.loads(invoke("recordings", "list", "--json")[1]) == []
