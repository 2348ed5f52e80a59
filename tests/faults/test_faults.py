"""The fault suite (``lab/faults``): SIPp calls through the real Asterisk 22 at a steady
rate for a minute per fault while one part of the deployment fails and comes back, each
attempt to its own customer. Whatever breaks, the service fails closed: no customer sees
a caller ID other than the attempt's temporary number, none is rung twice for one
attempt, every call that rang a customer has its record, no record is left in progress a
minute after recovery; and calls complete again once the part is back.

The parts are private to the suite (its own PostgreSQL cluster and Redis on free ports,
``masking serve`` processes, the lab Asterisk), so breaking them disturbs nothing else.
About 70 s per fault; the table of each run is printed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from lab.asterisk import RootfsError, ensure_rootfs
from lab.faults.outcomes import FaultReport, describe
from lab.faults.parts import postgres_bin_dir
from lab.faults.suite import FaultSuite, Options
from lab.private_redis import redis_binary
from tests.support.environment import unavailable

pytestmark = pytest.mark.fault


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultSuite]:
    for tool, package in (("sipp", "sip-tester"), ("bwrap", "bubblewrap")):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing (apt-get install {package})")
    if redis_binary() is None:
        unavailable("redis-server is missing (apt-get install redis-server)")
    if postgres_bin_dir() is None:
        unavailable("PostgreSQL's initdb is missing (apt-get install postgresql)")
    try:
        ensure_rootfs(log=lambda _m: None)
    except (RootfsError, OSError) as exc:
        unavailable(f"no Asterisk root filesystem: {exc}")
    options = Options(workdir=tmp_path_factory.mktemp("faults"), say=lambda _m: None)
    with FaultSuite(options) as running:
        yield running


def run(suite: FaultSuite, fault: str, capsys: pytest.CaptureFixture[str]) -> FaultReport:
    report = suite.run(fault)
    with capsys.disabled():
        print(f"\n{describe(report)}\n")
    return report


def assert_fails_closed(report: FaultReport) -> None:
    assert report.attempted == report.rate * report.seconds, report
    outcomes = report.completed + report.denied_total + report.dropped + report.failed
    assert outcomes == report.attempted, report
    assert report.unmasked == 0, report
    assert report.rung_twice == 0, report
    assert report.stranger_invites == 0, report
    assert report.records_missing == 0, report
    assert report.in_progress == 0, report


def assert_completes_after_recovery(report: FaultReport) -> None:
    attempted, completed = report.after_recovery
    assert attempted > 0, report
    assert completed == attempted, report


def test_redis_restarted_empty(suite: FaultSuite, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(suite, "redis", capsys)
    assert_fails_closed(report)
    assert_completes_after_recovery(report)


def test_postgresql_restarted(suite: FaultSuite, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(suite, "postgres", capsys)
    assert_fails_closed(report)
    assert_completes_after_recovery(report)


def test_ami_connection_cut(suite: FaultSuite, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(suite, "ami", capsys)
    assert_fails_closed(report)
    assert_completes_after_recovery(report)
    # calls do not need AMI: they go on while it is cut
    attempted, completed = report.during_fault
    assert attempted > 0 and completed == attempted, report


def test_asterisk_restarted(suite: FaultSuite, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(suite, "asterisk", capsys)
    assert_fails_closed(report)
    assert_completes_after_recovery(report)


def test_service_instance_killed(suite: FaultSuite, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(suite, "instance", capsys)
    assert_fails_closed(report)
    assert_completes_after_recovery(report)
    # the other instance answers while the killed one is down
    attempted, completed = report.during_fault
    assert attempted > 0 and completed == attempted, report
