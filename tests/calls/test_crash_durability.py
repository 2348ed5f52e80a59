"""Nothing lost: every ``dial`` answered before a ``kill -9`` of the FastAGI service has
its call record, on SQLite and PostgreSQL (lab.benchmarks.crash, run small)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.benchmarks.crash import crash_run


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_every_dial_answered_before_a_kill_has_its_record(database: str, tmp_path: Path) -> None:
    run = crash_run(database, seconds=3.0, concurrency=20, var_dir=tmp_path)
    assert run.answered_before_kill > 0  # the kill hit a service under load
    assert run.answered_dial > run.answered_before_kill  # and it served again after
    assert run.missing == 0
    assert run.records_found == run.answered_dial
