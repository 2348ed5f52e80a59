"""The machine the tests run on: Redis and PostgreSQL URLs, free ports, and what to do
when a real part is missing (skip on a developer's machine, FAIL in CI)."""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path
from typing import IO, NoReturn

import pytest

REDIS_URL = os.environ.get("MASKING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_ADMIN_URL = os.environ.get(
    "MASKING_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

IN_CI = bool(os.environ.get("CI"))


def unavailable(message: str) -> NoReturn:
    """A real part is missing: skip on a developer's machine, FAIL in CI (never skipped)."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def need(what: str, exc: Exception) -> NoReturn:
    unavailable(f"{what} is not reachable ({exc}); start it (see README) or set the test URL")


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Ports a test session keeps but leaves unbound between uses: the carrier's and the site
# phones' SIPp ports (each call binds them anew), the FastAGI port where nothing listens.
# A port chosen by bind(0) comes from the kernel's ephemeral range, where any other
# process (another xdist worker's SIPp, another test run) may be handed it while it is
# unbound. These come from below that range and above the lab Asterisks' RTP ranges
# (20000-29999), where nothing is chosen automatically, each held by a lock file for the
# life of the process, so parallel workers and runs never share one.
SESSION_PORTS_FROM = 30000
_held_ports: list[IO[str]] = []


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def session_port() -> int:
    """A port (UDP and TCP free) this process alone uses until it exits; see above."""
    ports = range(SESSION_PORTS_FROM, _ephemeral_floor())
    if len(ports) < 256:  # an unusual ephemeral range: fall back to the kernel's choice
        return free_tcp_port()
    locks = Path(tempfile.gettempdir()) / f"masking-test-ports-{os.getuid()}"
    locks.mkdir(exist_ok=True)
    for _ in range(200):
        port = random.choice(ports)
        handle = open(locks / f"{port}.lock", "w")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        if _bindable(port, socket.SOCK_DGRAM) and _bindable(port, socket.SOCK_STREAM):
            _held_ports.append(handle)
            return port
        handle.close()
    raise RuntimeError(f"no free session port in {ports}")
