"""The container engine the container tests need (podman with runc, or Docker): skipped
on a developer's machine without one, a FAILURE in CI."""

from __future__ import annotations

from lab.containers import ContainerError, Engine, find_engine
from tests.support.environment import unavailable


def require_container_engine() -> Engine:
    try:
        return find_engine()
    except ContainerError as exc:
        unavailable(str(exc))
