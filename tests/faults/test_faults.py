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
from lab.faults.suite import CUSTOMER_PREFIX, FaultSuite, Options
from lab.private_redis import redis_binary
from tests.support.environment import unavailable
from tests.support.leaks import asterisk_log_leaks, log_leaks, number_leaks

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


def customers_of_last_run(suite: FaultSuite, fault: str) -> list[str]:
    """The customers the last run of ``fault`` dialed (the suite's workdir names each
    run ``run-<n>-<fault>``; run n's attempt i calls +7 900 <n><i, 6 digits>)."""
    number = max(int(d.name.split("-")[1]) for d in suite.workdir.glob(f"run-*-{fault}"))
    return [f"+{CUSTOMER_PREFIX}{number}{i:06d}" for i in range(suite.options.attempts)]


def logged_customers(suite: FaultSuite, customers: list[str]) -> list[str]:
    """The lines of the instances' logs (every run) and of Asterisk's (but its VERBOSE
    trace) that hold one of ``customers``: errors, retries and restarts log masked numbers
    too. (number_leaks, not digit_leaks: the run's customers share 7-digit runs.)"""
    assert suite.instances is not None and suite.asterisk is not None
    found = [
        f"instance {i.index}: {line}"
        for i in suite.instances
        for line in log_leaks(i.log(all_starts=True), customers, number_leaks)
    ]
    return found + asterisk_log_leaks(suite.asterisk, customers, find=number_leaks)


def assert_fails_closed(report: FaultReport) -> None:
    assert report.attempted == report.rate * report.seconds, report
    assert report.unmasked == 0, report
    assert report.rung_twice == 0, report
    assert report.stranger_invites == 0, report
    assert report.records_missing == 0, report
    assert report.in_progress == 0, report


def assert_completes_after_recovery(report: FaultReport) -> None:
    attempted, completed = report.after_recovery
    assert attempted > 0, report
    assert completed == attempted, report


@pytest.mark.parametrize(
    ("fault", "served_during_fault"),
    [
        ("redis", False),  # restarted empty
        ("postgres", False),  # restarted
        ("ami", True),  # the connection cut: calls do not need AMI
        ("asterisk", False),  # restarted
        ("instance", True),  # killed: the other instance answers while it is down
    ],
)
def test_fault(
    suite: FaultSuite, fault: str, served_during_fault: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run(suite, fault, capsys)
    assert_fails_closed(report)
    assert_completes_after_recovery(report)
    if served_during_fault:
        attempted, completed = report.during_fault
        assert attempted > 0 and completed == attempted, report
    leaks = logged_customers(suite, customers_of_last_run(suite, fault))
    assert not leaks, "customers' numbers logged:\n" + "\n".join(leaks[:20])
