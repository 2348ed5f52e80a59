"""Engine and sessions; ``upgrade()`` runs the Alembic migrations shipped in the package."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from masking.storage.hooks import ON_CONFIG_CHANGE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """Bound parameters are customer numbers: ``hide_parameters`` keeps them out of
    every database error message (and so out of logs and responses)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit is in the WAL file when it returns, so a killed
            # service loses nothing; only a power cut may lose the last commits
            # (README, "Durability"). FULL would fsync every commit.
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )


def sqlite_synchronous() -> str:
    value = os.environ.get("MASKING_SQLITE_SYNCHRONOUS", "NORMAL").strip().upper()
    return value if value in {"NORMAL", "FULL", "EXTRA"} else "NORMAL"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # called after a commit that changed what the call desk caches (storage.hooks)
        self.on_config_change: list[Callable[[], None]] = []
        self._sessions = sessionmaker(
            self.engine,
            expire_on_commit=False,
            info={ON_CONFIG_CHANGE: self.on_config_change},
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self, revision: str = "head") -> None:
        from alembic import command

        command.upgrade(alembic_config(self.url), revision)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
