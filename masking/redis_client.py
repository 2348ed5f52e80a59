"""The one place a Redis client is made from the settings (the service, the runtime, the
CLI, the demo and the benchmarks all come here).

* ``MASKING_REDIS_URL``: one Redis server (``redis.Redis.from_url``).
* ``MASKING_REDIS_SENTINELS`` + ``MASKING_REDIS_SENTINEL_MASTER``: a Sentinel-managed
  master. redis-py's :class:`redis.sentinel.Sentinel` asks the sentinels where the master
  is on every new connection, drops its connections when the master moved, and turns a
  write refused by a demoted master (``READONLY``) into a connection error, so the next
  command goes to the new master. What a failover means for the live state (writes the old
  master acknowledged but never replicated) is handled by the pool, not here: see
  :mod:`masking.numbers.pool`.

Every client fails fast: short socket timeouts, and a couple of quick retries of a
refused or dropped connection only (a retry rides over a master that just moved; a Redis
that refuses is an error within about a second). A command that times out is not tried
again: a Redis that accepts and never answers (a hung master, a host gone without a reset)
costs one socket timeout, 2 s, not three, and the call fails closed within its deadline.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from masking.config import Settings

SOCKET_TIMEOUT_S = 2.0
RETRIES = 2
RETRY_BACKOFF_BASE_S = 0.05
RETRY_BACKOFF_CAP_S = 0.25


class SentinelMaster(redis.Redis):
    """The master's client; closing it closes the connections to the sentinels too."""

    def close(self) -> None:
        super().close()
        sentinels = getattr(self.connection_pool, "sentinel_manager", None)
        if isinstance(sentinels, Sentinel):
            sentinels.close()


def _retry(retries: int = RETRIES) -> Retry:
    backoff = ExponentialWithJitterBackoff(cap=RETRY_BACKOFF_CAP_S, base=RETRY_BACKOFF_BASE_S)
    # not redis-py's default (which retries timeouts too): see the module's docstring
    return Retry(backoff, retries, supported_errors=(redis.exceptions.ConnectionError,))


def connect(settings: Settings, *, timeout: float = SOCKET_TIMEOUT_S) -> redis.Redis:
    """A client of the configured Redis (the Sentinel master when sentinels are set)."""
    common: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": _retry(),
    }
    if not settings.redis_sentinels:
        return redis.Redis.from_url(settings.redis_url, **common)
    sentinels = Sentinel(
        list(settings.redis_sentinel_addresses),
        sentinel_kwargs={
            "password": settings.redis_sentinel_password or None,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            # a sentinel that does not answer: the next one is asked at once
            "retry": _retry(0),
        },
        password=settings.redis_password or None,
        db=settings.redis_db,
        **common,
    )
    return sentinels.master_for(settings.redis_sentinel_master, redis_class=SentinelMaster)


def describe(settings: Settings) -> str:
    """Where the client connects, for logs and errors (no password)."""
    if settings.redis_sentinels:
        sentinels = ", ".join(f"{host}:{port}" for host, port in settings.redis_sentinel_addresses)
        return f"Redis master {settings.redis_sentinel_master!r} (Sentinel {sentinels})"
    scheme, _, rest = settings.redis_url.partition("://")
    return f"Redis at {scheme}://{rest.rpartition('@')[2]}"


def environment(settings: Settings) -> dict[str, str]:
    """The ``MASKING_REDIS_*`` variables that make a child process use the same Redis."""
    found = {
        "MASKING_REDIS_PREFIX": settings.redis_prefix,
        "MASKING_REDIS_REPLICA_ACKS": str(settings.redis_replica_acks),
    }
    if not settings.redis_sentinels:
        return found | {"MASKING_REDIS_URL": settings.redis_url}
    found |= {
        "MASKING_REDIS_SENTINELS": settings.redis_sentinels,
        "MASKING_REDIS_SENTINEL_MASTER": settings.redis_sentinel_master,
        "MASKING_REDIS_DB": str(settings.redis_db),
    }
    if settings.redis_sentinel_password:
        found["MASKING_REDIS_SENTINEL_PASSWORD"] = settings.redis_sentinel_password
    if settings.redis_password:
        found["MASKING_REDIS_PASSWORD"] = settings.redis_password
    return found
