"""Settings: defaults, environment, TOML file, one clear line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from masking.config import ConfigError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MASKING_CONFIG_FILE", "MASKING_DATABASE_URL", "MASKING_AGI_PORT"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.effective_database_url.endswith("var/masking.db")
    assert (s.redis_url, s.agi_port, s.http_port, s.ami_port) == (
        "redis://127.0.0.1:6379/0",
        4573,
        8080,
        5038,
    )
    assert s.binding_ttl_hours == 24


def test_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "masking.toml"
    config.write_text('agi_port = 4600\nbinding_ttl_hours = 12\ndefault_region = "kz"\n')
    monkeypatch.setenv("MASKING_CONFIG_FILE", str(config))
    monkeypatch.setenv("MASKING_AGI_PORT", "4700")
    s = load_settings()
    assert (s.agi_port, s.binding_ttl_hours, s.default_region) == (4700, 12, "KZ")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("MASKING_AGI_PORT", "http", "MASKING_AGI_PORT: Input should be a valid integer"),
        ("MASKING_AGI_PORT", "70000", "MASKING_AGI_PORT"),
        ("MASKING_BINDING_TTL_HOURS", "0", "MASKING_BINDING_TTL_HOURS"),
        ("MASKING_DEFAULT_REGION", "XX", "unknown phone region"),
        ("MASKING_TIMEZONE", "Moscow", "unknown IANA time zone"),
        ("MASKING_REDIS_URL", "localhost:6379", "MASKING_REDIS_URL: Value error, must start"),
    ],
)
def test_bad_value_is_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("agi_port = [")
    monkeypatch.setenv("MASKING_CONFIG_FILE", str(config))
    with pytest.raises(ConfigError, match=r"MASKING_CONFIG_FILE: .* is not valid TOML"):
        load_settings()
    monkeypatch.setenv("MASKING_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings()


# ---- a Sentinel-managed Redis ----------------------------------------------------------
def _no_redis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MASKING_CONFIG_FILE", "MASKING_REDIS_URL", "MASKING_REDIS_SENTINELS"):
        monkeypatch.delenv(name, raising=False)


def test_sentinel_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_redis_environment(monkeypatch)
    monkeypatch.setenv("MASKING_REDIS_SENTINELS", " 10.0.0.1:26380, redis-b ,[::1]:26381")
    monkeypatch.setenv("MASKING_REDIS_SENTINEL_MASTER", "masking-prod")
    monkeypatch.setenv("MASKING_REDIS_PASSWORD", "data-pw")
    monkeypatch.setenv("MASKING_REDIS_DB", "2")
    s = load_settings()
    assert s.redis_sentinel_addresses == (
        ("10.0.0.1", 26380),
        ("redis-b", 26379),
        ("::1", 26381),
    )
    assert (s.redis_sentinel_master, s.redis_password, s.redis_db) == ("masking-prod", "data-pw", 2)
    assert s.redis_replica_acks == 0
    assert load_settings().redis_sentinels  # not only when given as arguments


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (
            {"MASKING_REDIS_SENTINELS": "10.0.0.1:99999", "MASKING_REDIS_SENTINEL_MASTER": "m"},
            "MASKING_REDIS_SENTINELS: Value error, '10.0.0.1:99999' is not host:port",
        ),
        (
            {"MASKING_REDIS_SENTINELS": "a b:1", "MASKING_REDIS_SENTINEL_MASTER": "m"},
            "MASKING_REDIS_SENTINELS: Value error, 'a b:1' is not host:port",
        ),
        (
            {"MASKING_REDIS_SENTINELS": "10.0.0.1:26379"},
            "MASKING_REDIS_SENTINEL_MASTER: required when MASKING_REDIS_SENTINELS is set",
        ),
        (
            {"MASKING_REDIS_SENTINEL_MASTER": "masking"},
            "MASKING_REDIS_SENTINELS: required when MASKING_REDIS_SENTINEL_MASTER is set",
        ),
        (
            {"MASKING_REDIS_SENTINELS": "a:1", "MASKING_REDIS_SENTINEL_MASTER": "my master"},
            "MASKING_REDIS_SENTINEL_MASTER: Value error, must be 1-64 characters",
        ),
        (
            {
                "MASKING_REDIS_SENTINELS": "a:1",
                "MASKING_REDIS_SENTINEL_MASTER": "m",
                "MASKING_REDIS_URL": "redis://10.0.0.9:6379/0",
            },
            "MASKING_REDIS_URL: not used with MASKING_REDIS_SENTINELS",
        ),
        (
            {"MASKING_REDIS_PASSWORD": "pw"},
            "MASKING_REDIS_PASSWORD: only used with MASKING_REDIS_SENTINELS",
        ),
        (
            {"MASKING_REDIS_DB": "3"},
            "MASKING_REDIS_DB: only used with MASKING_REDIS_SENTINELS",
        ),
        ({"MASKING_REDIS_REPLICA_ACKS": "-1"}, "MASKING_REDIS_REPLICA_ACKS"),
    ],
)
def test_bad_sentinel_settings_are_one_line(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], words: str
) -> None:
    _no_redis_environment(monkeypatch)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(words)
    assert "\n" not in str(info.value)
