"""A Sentinel-managed Redis of real processes per test (it is killed and failed over)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.redis_sentinel import RedisSentinelCluster
from tests.support.sentinel import sentinel_cluster


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisSentinelCluster]:
    # Sentinel settings replace MASKING_REDIS_URL: one left in the environment is refused
    monkeypatch.delenv("MASKING_REDIS_URL", raising=False)
    with sentinel_cluster(tmp_path / "redis") as running:
        yield running
