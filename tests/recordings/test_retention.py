"""Recordings for quality review: safe file lookup, listing, random samples, and the
retention that deletes old files but keeps their calls on record (SQLite, PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from masking import recordings, sites
from masking.service import MaskingService
from tests.support.calls import call_record
from tests.support.web import Seeded, seed_world


@pytest.fixture
def world(service: MaskingService) -> Seeded:
    """Two sites with an answered call each, recorded two days ago."""
    return seed_world(service, pool=0)


def site_id(service: MaskingService, code: str) -> int:
    with service.db.session() as session:
        return sites.get_site(session, code).id


def test_recording_path_holds_the_date_and_the_call_only() -> None:
    at = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    assert recordings.recording_path("0123abcd", at) == "2026/11/18/0123abcd.wav"


@pytest.mark.parametrize(
    "relative", [None, "", "../x.wav", "/etc/passwd", "2026/../../x.wav", "a\\b.wav", "a\x00.wav"]
)
def test_safe_path_never_leaves_the_directory(tmp_path: Path, relative: str | None) -> None:
    assert recordings.safe_path(tmp_path, relative) is None


def test_safe_path_inside_the_directory(tmp_path: Path) -> None:
    found = recordings.safe_path(tmp_path, "2026/11/18/x.wav")
    assert found == tmp_path / "2026" / "11" / "18" / "x.wav"


def test_list_newest_first_and_by_site(service: MaskingService, world: Seeded) -> None:
    every = recordings.list_recordings(service)
    assert {r.id for r in every} == set(world.calls.values())
    only = recordings.list_recordings(service, site_id=site_id(service, "pvz2"))
    assert [r.id for r in only] == [world.calls["pvz2"]]
    for record in every:
        path = recordings.file_for(service, record)
        assert path is not None and path.read_bytes()[:4] == b"RIFF"


def test_sample_of_a_site_in_a_window(service: MaskingService, world: Seeded) -> None:
    pvz1 = site_id(service, "pvz1")
    chosen = recordings.sample(service, site_id=pvz1, size=5, days=30, rng=random.Random(1))
    assert [r.id for r in chosen] == [world.calls["pvz1"]]
    assert recordings.sample(service, site_id=pvz1, days=1) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda s: recordings.list_recordings(s, limit=0),
        lambda s: recordings.list_recordings(s, offset=-1),
        lambda s: recordings.sample(s, site_id=None, size=0),
        lambda s: recordings.sample(s, site_id=None, days=0),
        lambda s: recordings.purge(s, days=0),
        lambda s: recordings.purge(s, days=recordings.MAX_RETENTION_DAYS + 1),
    ],
)
def test_bad_bounds_are_refused(
    service: MaskingService, call: Callable[[MaskingService], object]
) -> None:
    with pytest.raises(recordings.RecordingError):
        call(service)


def test_purge_deletes_old_files_and_keeps_the_calls(
    service: MaskingService, world: Seeded
) -> None:
    assert recordings.purge(service, days=3).deleted == 0
    dry = recordings.purge(service, days=1, dry_run=True)
    assert (dry.deleted, dry.missing, dry.failed) == (2, 0, 0) and dry.freed_bytes > 0
    assert len(recordings.list_recordings(service)) == 2

    done = recordings.purge(service, days=1)
    assert done == dry
    assert not any(service.settings.effective_recordings_dir.rglob("*.wav"))
    for call_id in world.calls.values():
        record = call_record(service, call_id)
        assert record.recording_file and record.recording_bytes is None
        assert record.recording_error == recordings.DELETED_BY_RETENTION
        assert recordings.file_for(service, record) is None
    assert recordings.list_recordings(service) == []
    assert recordings.purge(service, days=1).deleted == 0
