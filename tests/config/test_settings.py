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
