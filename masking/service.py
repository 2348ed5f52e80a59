"""The use-case facade: what every use case needs, wired once from the settings.

:class:`MaskingService` holds the settings, the database, the live pool in Redis and the
clock. Use cases are functions of their capability's module that take the service
first (``reveal(service, ...)``, ``call_log.mark_ended(service, ...)``); the CLI, the
web layer, the call desk and the AMI tracker share it. The *running process* (FastAGI,
AMI, HTTP) is :class:`masking.runtime.Runtime`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from masking.config import Settings
from masking.epoch import EPOCH_KEY, ConfigEpoch
from masking.numbers.pool import LivePool
from masking.storage.db import Database
from masking.storage.models import utcnow

Clock = Callable[[], datetime]


class MaskingService:
    def __init__(
        self, settings: Settings, db: Database, pool: LivePool, clock: Clock = utcnow
    ) -> None:
        self.settings = settings
        self.db = db
        self.pool = pool
        self.clock = clock
        # a committed change to staff, sites, numbers or open cases: calls re-read them
        self.config_epoch = ConfigEpoch(pool.redis, pool.prefix + EPOCH_KEY)
        db.on_config_change.append(self.config_epoch.bump)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utcnow) -> MaskingService:
        return cls(
            settings,
            Database(settings.effective_database_url),
            LivePool.from_settings(settings),
            clock,
        )

    def close(self) -> None:
        if self.config_epoch.bump in self.db.on_config_change:
            self.db.on_config_change.remove(self.config_epoch.bump)
        self.db.dispose()
        self.pool.redis.close()
