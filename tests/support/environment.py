"""The machine the tests run on: Redis and PostgreSQL URLs, free ports, and what to do
when a real part is missing (skip on a developer's machine, FAIL in CI)."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

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
