"""Shared fixtures: real Redis, real PostgreSQL and SQLite, a clock the test moves.

Every test gets its own Redis key prefix and a clean database, so test runs of several
developers (and CI) can share the machine's servers.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from masking.config import Settings, load_settings
from masking.numbers import bindings
from masking.numbers.pool import LivePool
from masking.service import MaskingService
from masking.storage.db import Database
from masking.storage.models import Base

REDIS_URL = os.environ.get("MASKING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_ADMIN_URL = os.environ.get(
    "MASKING_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

IN_CI = bool(os.environ.get("CI"))


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        # a Wednesday, 12:00 in Moscow
        self.now = start or datetime(2026, 11, 18, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def unavailable(message: str) -> None:
    """A real part is missing: skip on a developer's machine, FAIL in CI (never skipped)."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _need(what: str, exc: Exception) -> None:
    unavailable(f"{what} is not reachable ({exc}); start it (see README) or set the test URL")


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        _need("Redis", exc)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(scope="session")
def pg_template_url() -> Iterator[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"masking_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        _need("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "reasons"]
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE reasons SET active = true"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "masking.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_template_url")
    _truncate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "masking.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


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


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_prefix: str) -> Settings:
    return make_settings(tmp_path, database_url, redis_prefix)


@pytest.fixture
def service(settings: Settings, clock: FakeClock) -> Iterator[MaskingService]:
    svc = MaskingService(
        settings,
        Database(settings.effective_database_url),
        LivePool.from_url(settings.redis_url, settings.redis_prefix),
        clock,
    )
    bindings.restore_live_state(svc)
    yield svc
    svc.db.dispose()
    svc.pool.redis.close()
