"""Settings for a test, the real service on them (real Redis, a real database), a
PostgreSQL database of a test's own, and a database emptied between tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

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
        forget_database(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# One engine per test database for the whole run: a new engine per test costs a connection.
_ENGINES: dict[str, Engine] = {}


def truncate(url: str) -> None:
    """Empty every table of a PostgreSQL database but the reasons (all active again), and
    restart every sequence: the database is then as the migrations left it.

    Only the tables holding rows are truncated (one query finds them): TRUNCATE of all
    two dozen tables costs ~150 ms even when they are empty, the probe ~2 ms.
    """
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = create_engine(url)
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "reasons"]
    holding_rows = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables
    )
    with engine.begin() as conn:
        full = [row[0] for row in conn.execute(text(holding_rows))]
        if full:
            quoted = ", ".join(f'"{name}"' for name in full)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        # RESTART IDENTITY for the tables that were empty too (a rolled-back insert
        # advances a sequence)
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))
        conn.execute(text("UPDATE reasons SET active = true WHERE NOT active"))


def forget_database(url: str) -> None:
    """Close :func:`truncate`'s connection to ``url`` (before the database is dropped)."""
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
