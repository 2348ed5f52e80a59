"""``masking config`` never prints a password inside a URL; a short session secret and
the HTTPS switch."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import Cli, use_environment


def test_config_hides_passwords_in_every_url(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(
        monkeypatch,
        redis_url="redis://:hunter2@cache:6379/0",
        database_url="postgresql+psycopg://masking@db/masking?password=hunter3",
        session_secret="s" * 32,
        metrics_token="m" * 16,
        https="true",
    )
    out = cli("config")
    assert "hunter" not in out and "sss" not in out and "mmm" not in out
    shown = json.loads(out)
    assert shown["redis_url"] == "redis://:***@cache:6379/0"
    assert shown["database_url"] == "postgresql+psycopg://masking@db/masking?password=***"
    assert shown["session_secret"] == "***"
    assert shown["metrics_token"] == "***"
    assert shown["https"] is True


def test_a_short_session_secret_stops_start_up(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(monkeypatch, session_secret="s" * 31)
    out = cli("config", ok=False)
    assert "MASKING_SESSION_SECRET" in out and "at least 32 characters" in out
    assert len(set(out.strip().splitlines())) == 1  # one line (the runner repeats stderr)
