"""Migrations run up from empty (and down and up again) on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from masking.storage.db import Database, alembic_config
from masking.storage.models import Base
from tests.support.environment import PG_ADMIN_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("pg_template_url")  # skips/fails early when PostgreSQL is absent
    name = f"masking_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_up_down_up(empty_url: str) -> None:
    db = Database(empty_url)
    db.upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reasons")).scalar() == 8
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
    command.downgrade(alembic_config(empty_url), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    db.upgrade()  # idempotent
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reasons")).scalar() == 8
    db.dispose()


def test_models_match_migrations(empty_url: str) -> None:
    """No model change is left without a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(empty_url)
    db.upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []
