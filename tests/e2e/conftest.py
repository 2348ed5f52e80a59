"""A real Asterisk 22 for the end-to-end tests, started once per session on free ports,
and the real service in front of it (the harness: tests/support/e2e.py).

The root filesystem is built (once, cached: see lab.asterisk.rootfs) with mmdebstrap and
Asterisk runs under bwrap, or from the container image built on it when
MASKING_ASTERISK_RUNTIME=container (podman or Docker; tests/e2e/test_asterisk_container.py
always runs that way). When that is impossible the e2e tests are skipped on a developer
machine, and FAIL when the environment variable CI is set: in CI they must never be
skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.asterisk import RootfsError, ensure_rootfs
from lab.asterisk.local import configured_runtime
from masking.runtime import RuntimeThread
from tests.support.containers import require_container_engine
from tests.support.e2e import (
    E2E,
    Live,
    reset,
    running_e2e,
    running_service,
    seed_live,
)
from tests.support.environment import unavailable


@pytest.fixture(scope="session")
def rootfs() -> Path:
    for tool, package in (("sipp", "sip-tester"), ("bwrap", "bubblewrap")):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing (apt-get install {package})")
    try:
        return ensure_rootfs()
    except (RootfsError, OSError) as exc:
        unavailable(f"no Asterisk root filesystem: {exc}")


@pytest.fixture(scope="session")
def e2e(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    if configured_runtime() == "container":
        require_container_engine()
    with running_e2e(tmp_path_factory.mktemp("e2e"), rootfs) as instance:
        yield instance


@pytest.fixture(scope="session")
def live_service(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeThread]:
    with running_service(e2e, tmp_path_factory.mktemp("live")) as thread:
        yield thread


@pytest.fixture
def live(e2e: E2E, live_service: RuntimeThread) -> Iterator[Live]:
    service = live_service.runtime.service
    reset(service)
    site1, site2 = seed_live(service)
    assert live_service.runtime.agi is not None
    e2e.point_dialplan_at(live_service.runtime.agi.port)
    try:
        yield Live(e2e, live_service, site1, site2)
    finally:
        e2e.point_dialplan_at(e2e.agi_port)
