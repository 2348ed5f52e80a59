"""The configuration epoch: a random token in Redis that every committed change to what
the call desk caches replaces (:mod:`masking.calls.lookups` explains the scheme).

The token readers compare is the stored one *and* the server's replication id: a bump the
old master acknowledged but never replicated is lost in a failover, and readers that
cached under it would otherwise keep their cache, and the change, unseen. A promoted
replica (or a restarted server) has a new replication id, so every cache is dropped."""

from __future__ import annotations

import logging
import uuid

import redis

from masking.numbers.pool import PoolUnavailable

log = logging.getLogger("masking.epoch")

EPOCH_KEY = "cfg:epoch"

_READ = """
local token = redis.call('GET', KEYS[1])
if not token then
  token = ARGV[1]
  redis.call('SET', KEYS[1], token)
end
return token .. '@' .. string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
"""


class ConfigEpoch:
    """The token in Redis that says "what the desk caches has changed"."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client = client
        self.key = key
        self._read = client.register_script(_READ)

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
            token = self._read(keys=[self.key], args=[uuid.uuid4().hex])
        except redis.RedisError as exc:
            raise PoolUnavailable(f"Redis: {type(exc).__name__}") from None
        return token.decode() if isinstance(token, bytes) else str(token)
