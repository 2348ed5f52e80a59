"""The configuration epoch: a random token in Redis that every committed change to what
the call desk caches replaces (:mod:`masking.calls.lookups` explains the scheme)."""

from __future__ import annotations

import logging
import uuid

import redis

from masking.numbers.pool import PoolUnavailable

log = logging.getLogger("masking.epoch")

EPOCH_KEY = "cfg:epoch"


class ConfigEpoch:
    """The token in Redis that says "what the desk caches has changed"."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client = client
        self.key = key

    def bump(self) -> None:
        try:
            self.client.set(self.key, uuid.uuid4().hex)
        except redis.RedisError as exc:
            # the readers' MAX_AGE backstop covers it; a reader that cannot reach Redis
            # drops its cache anyway
            log.error("could not publish a configuration change (%s)", type(exc).__name__)

    def read(self) -> str:
        """The current token; a new one when Redis lost it. Raises PoolUnavailable."""
        try:
            token = self.client.get(self.key)
            if token is None:
                fresh = uuid.uuid4().hex
                self.client.set(self.key, fresh, nx=True)
                token = self.client.get(self.key) or fresh.encode()
        except redis.RedisError as exc:
            raise PoolUnavailable(f"Redis: {type(exc).__name__}") from None
        return token.decode() if isinstance(token, bytes) else str(token)
