"""Settings for a test, the real service on them (real Redis, a real database), a
PostgreSQL database of a test's own, and a database emptied between tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from masking.config import Settings, load_settings
from masking.numbers import bindings
from masking.numbers.pool import LivePool
from masking.service import MaskingService
from masking.storage.db import Database
from masking.storage.models import Base
from tests.support.clock import FakeClock
from tests.support.environment import PG_ADMIN_URL, REDIS_URL, need


def make_settings(
    tmp_path: Path, database_url: str, redis_prefix: str, **extra: object
) -> Settings:
    return load_settings(
        var_dir=tmp_path / "var",
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        **extra,
    )


@contextmanager
def open_service(settings: Settings, clock: FakeClock) -> Iterator[MaskingService]:
    """The real service on ``settings`` and ``clock``, its live state restored."""
    service = MaskingService(
        settings,
        Database(settings.effective_database_url),
        LivePool.from_settings(settings),
        clock,
    )
    bindings.restore_live_state(service)
    yield service
    service.db.dispose()
    service.pool.redis.close()


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own (``<prefix>_<random>``), with the schema; dropped
    afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        need("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        db = Database(url)
        db.upgrade()
        db.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate(url: str) -> None:
    """Empty every table of a PostgreSQL database but the reasons (all active again)."""
    engine = create_engine(url)
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "reasons"]
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE reasons SET active = true"))
    engine.dispose()
