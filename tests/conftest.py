"""Shared fixtures: real Redis, real PostgreSQL and SQLite, a clock the test moves, and
the headless Chromium of the browser tests.

Every test gets its own Redis key prefix and a clean database, so test runs of several
developers (and CI) can share the machine's servers. The helpers live in tests/support.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, text

from masking.config import Settings
from masking.service import MaskingService
from masking.storage.db import Database
from tests.support.browser import launch_chromium
from tests.support.clock import FakeClock
from tests.support.environment import PG_ADMIN_URL, REDIS_URL, need
from tests.support.services import forget_database, make_settings, open_service, truncate


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        need("Redis", exc)
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
        need("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    forget_database(url)
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "masking.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_template_url")
    truncate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "masking.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_prefix: str) -> Settings:
    return make_settings(tmp_path, database_url, redis_prefix)


@pytest.fixture
def service(settings: Settings, clock: FakeClock) -> Iterator[MaskingService]:
    with open_service(settings, clock) as svc:
        yield svc


# Module scope: while Playwright's sync API runs it marks an asyncio loop as running in
# this thread, and later tests that call asyncio.run() (the CLI's AMI verbs) would fail.
# Here, not in tests/web: the console tests and the e2e click-to-call test both use it.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch_chromium()
