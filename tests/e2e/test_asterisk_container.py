"""Asterisk from the container image (docker/Dockerfile, MASKING_ASTERISK_RUNTIME=container):
the image is built with podman (or Docker) FROM the lab's Asterisk root filesystem and run
on the host network with the harness's rendered configuration. The checks of the smoke
tests, of the masked operator call and of the customer-digit log scan
(tests/support/smoke.py) run against it (``e2e``
and ``live_service`` here are this module's container instance; ``live`` is the e2e
conftest's, on them; the smoke test's recorded call without the service is left to the
bwrap suite: the masked call checks the same carrier leg and recording), then what the
fault tests need: a crash (kill -9) and a restart
through the harness, and the detached up/status/down of ``masking asterisk``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.asterisk import LocalAsterisk
from lab.containers import Engine
from masking.runtime import RuntimeThread
from tests.support import smoke
from tests.support.containers import require_container_engine
from tests.support.e2e import E2E, Live, running_e2e, running_service

pytestmark = [pytest.mark.e2e, pytest.mark.container]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return require_container_engine()


@pytest.fixture(autouse=True)
def container_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """Instances a reused test makes itself (up/status/down) run in containers too."""
    monkeypatch.setenv("MASKING_ASTERISK_RUNTIME", "container")


@pytest.fixture(scope="module")
def e2e(rootfs: Path, engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    with running_e2e(tmp_path_factory.mktemp("e2e-container"), rootfs, "container") as one:
        assert one.asterisk.in_container and one.asterisk.engine == engine
        yield one


@pytest.fixture(scope="module")
def live_service(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeThread]:
    with running_service(e2e, tmp_path_factory.mktemp("live-container")) as thread:
        yield thread


def test_boots_with_the_project_dialplan(e2e: E2E) -> None:
    smoke.boots_with_the_project_dialplan(e2e)


def test_modules_and_endpoints(e2e: E2E) -> None:
    smoke.modules_and_endpoints(e2e)


def test_operator_call_fails_closed_when_the_service_is_down(e2e: E2E) -> None:
    smoke.operator_call_fails_closed_when_the_service_is_down(e2e)


def test_operator_call_is_masked_bridged_and_recorded(live: Live) -> None:
    smoke.operator_call_is_masked_bridged_and_recorded(live)


def test_no_customer_digits_in_service_or_asterisk_logs(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    smoke.no_customer_digits_in_service_or_asterisk_logs(live, caplog)


def test_up_status_down_leave_nothing_behind(rootfs: Path, tmp_path: Path) -> None:
    smoke.up_status_down_leave_nothing_behind(rootfs, tmp_path)


def test_asterisk_runs_in_a_container_on_the_host_network(e2e: E2E, engine: Engine) -> None:
    asterisk = e2e.asterisk
    assert engine.container_running(asterisk.name)
    image = engine.run(
        "container",
        "inspect",
        "--format",
        "{{.ImageName}} {{.HostConfig.NetworkMode}}",
        asterisk.name,
    ).stdout.split()
    assert image[0].endswith("masking-asterisk:22") and image[1] == "host", image
    assert "System uptime" in asterisk.cli("core show uptime")
    assert asterisk.status()["runtime"] == "container"


def test_a_killed_asterisk_restarts_through_the_harness(e2e: E2E, engine: Engine) -> None:
    """What the fault suite does to Asterisk: kill -9, start again (same ports, spool)."""
    asterisk: LocalAsterisk = e2e.asterisk
    asterisk.kill()
    assert not asterisk.running() and not engine.container_running(asterisk.name)
    asterisk.start()
    assert asterisk.running() and engine.container_running(asterisk.name)
    smoke.boots_with_the_project_dialplan(e2e)
    asterisk.stop()
    assert not asterisk.running()
    asterisk.start()
    assert "Endpoint:  carrier" in asterisk.cli("pjsip show endpoints")
