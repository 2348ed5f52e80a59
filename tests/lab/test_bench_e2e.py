"""``masking bench e2e`` at one low rate against the real Asterisk 22: the counts add up,
the shipped path shows the virtual number to the carrier and writes a call record per
call, and the service's AMI user is sent events of its own calls only (the eventfilter
of the lab's manager.conf). Timings are printed by the benchmark, never asserted here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab.asterisk import RootfsError, ensure_rootfs
from lab.benchmarks.e2e import Options, Row, run_benchmark, table
from tests.support.environment import REDIS_URL, unavailable

pytestmark = pytest.mark.e2e

RATE, SECONDS = 4, 3


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    for tool, package in (("sipp", "sip-tester"), ("bwrap", "bubblewrap")):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing (apt-get install {package})")
    try:
        ensure_rootfs(log=lambda _m: None)
    except (RootfsError, OSError) as exc:
        unavailable(f"no Asterisk root filesystem: {exc}")
    workdir: Path = tmp_path_factory.mktemp("bench-e2e")
    options = Options(
        rates=(RATE,),
        seconds=SECONDS,
        desks=2,
        redis_url=REDIS_URL,
        workdir=workdir,
        say=lambda _m: None,
    )
    result = run_benchmark(options)
    print(table(result))
    return result


def _row(rows: list[Row], path: str) -> Row:
    (row,) = [r for r in rows if r.path == path]
    return row


def test_every_attempt_is_counted_once(rows: list[Row]) -> None:
    assert [(r.path, r.rate) for r in rows] == [("ours", RATE), ("static", RATE)]
    for row in rows:
        assert row.attempted == RATE * SECONDS, row
        assert row.completed + row.failed == row.attempted, row
        assert 0 <= row.completed <= row.carrier_invites <= row.attempted, row
        assert row.masked_invites <= row.carrier_invites, row


def test_the_shipped_path_reaches_the_carrier_with_the_virtual_number(rows: list[Row]) -> None:
    ours = _row(rows, "ours")
    assert ours.masked_invites > 0, ours
    assert ours.masked_invites == ours.carrier_invites, ours
    assert ours.records is not None and ours.records >= ours.carrier_invites, ours


def test_the_static_path_dials_the_same_way_without_the_service(rows: list[Row]) -> None:
    static = _row(rows, "static")
    assert static.masked_invites > 0, static
    assert static.masked_invites == static.carrier_invites, static
    assert static.records is None


def test_the_service_user_gets_no_event_of_calls_not_its_own(rows: list[Row]) -> None:
    assert _row(rows, "static").ami_events == 0
    assert _row(rows, "ours").ami_events > 0
