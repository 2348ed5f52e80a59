"""A real Sentinel-managed Redis (lab.redis_sentinel) for a test, and settings on it.

Missing binaries skip the test on a developer's machine and fail it in CI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.redis_sentinel import ClusterError, RedisSentinelCluster, binaries
from masking.config import Settings, load_settings
from tests.support.environment import unavailable


@contextmanager
def sentinel_cluster(workdir: Path, **options: int) -> Iterator[RedisSentinelCluster]:
    """One master, two replicas, three sentinels (quorum 2) on free loopback ports."""
    try:
        binaries()
    except ClusterError as exc:
        unavailable(str(exc))
    cluster = RedisSentinelCluster(workdir, **options)
    with cluster:
        yield cluster


def sentinel_settings(
    cluster: RedisSentinelCluster, tmp_path: Path, database_url: str, **extra: object
) -> Settings:
    """Settings of a service on ``cluster`` (a fresh key prefix) and ``database_url``."""
    return load_settings(
        var_dir=tmp_path / "var",
        database_url=database_url,
        redis_sentinels=cluster.sentinels_setting,
        redis_sentinel_master=cluster.master_name,
        redis_prefix=f"test:{uuid.uuid4().hex[:12]}:",
        **extra,
    )
