"""A real Asterisk 22 for the end-to-end tests, started once per session on free ports,
and the real service in front of it (the harness: tests/support/e2e.py).

The root filesystem is built (once, cached: see lab.asterisk.rootfs) with mmdebstrap and
Asterisk runs under bwrap. When that is impossible the e2e tests are skipped on a
developer machine, and FAIL when the environment variable CI is set: in CI they must
never be skipped.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.asterisk import LocalAsterisk, Phone, Ports, Queue, RootfsError, ensure_rootfs
from lab.asterisk.local import AsteriskError
from masking.config import load_settings
from masking.runtime import RuntimeThread
from tests.support.e2e import (
    E2E,
    HOTLINE_AGENTS,
    HOTLINE_DID,
    HOTLINE_QUEUE,
    PHONE_PASSWORDS,
    SMOKE_DIALPLAN,
    Live,
    reset,
    seed_live,
)
from tests.support.environment import free_tcp_port, session_port, unavailable


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
    workdir = tmp_path_factory.mktemp("e2e")
    # bound anew by each call's SIPp: ports no other process is handed meanwhile
    carrier_port = session_port()
    site_ports = {"desk1": session_port(), "desk2": session_port()}
    # nothing listens here unless a test starts a FastAGI server on it
    agi_port = session_port()
    phones = [
        Phone("desk1", PHONE_PASSWORDS["desk1"], contact=f"127.0.0.1:{site_ports['desk1']}"),
        Phone("desk2", PHONE_PASSWORDS["desk2"], contact=f"127.0.0.1:{site_ports['desk2']}"),
        Phone("desk3", PHONE_PASSWORDS["desk3"]),
        Phone("smoke1", PHONE_PASSWORDS["smoke1"], context="smoke"),
    ]
    asterisk = LocalAsterisk(
        workdir / "asterisk",
        Ports.free(),
        agi=f"127.0.0.1:{agi_port}",
        carrier=f"127.0.0.1:{carrier_port}",
        phones=phones,
        queues=[Queue(HOTLINE_QUEUE, HOTLINE_AGENTS, (HOTLINE_DID,))],
        extra_dialplan=SMOKE_DIALPLAN,
        rootfs=rootfs,
    )
    try:
        asterisk.start()
    except AsteriskError as exc:
        asterisk.stop()
        pytest.fail(f"Asterisk did not start: {exc}")
    try:
        yield E2E(asterisk, workdir, carrier_port, agi_port, site_ports)
    finally:
        asterisk.stop()


@pytest.fixture(scope="session")
def live_service(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeThread]:
    workdir = tmp_path_factory.mktemp("live")
    settings = load_settings(
        var_dir=workdir,
        database_url=f"sqlite:///{workdir / 'masking.db'}",
        redis_prefix=f"e2e:{uuid.uuid4().hex[:10]}:",
        agi_port=free_tcp_port(),
        ami_port=e2e.asterisk.ports.ami_port,
        http_port=free_tcp_port(),
        recordings_dir=e2e.asterisk.monitor_dir,
        agi_request_timeout=2.0,
    )
    thread = RuntimeThread(settings).start()
    try:
        assert thread.runtime.ami is not None
        thread.run(thread.runtime.ami.wait_connected(15))
        yield thread
    finally:
        thread.stop()
        thread.runtime.service.pool.flush()


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
