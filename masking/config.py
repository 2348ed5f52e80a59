"""Settings from ``MASKING_*`` environment variables and an optional TOML file.

The file is named by ``MASKING_CONFIG_FILE`` (keys are the lower-case names without the
prefix, e.g. ``database_url = "postgresql+psycopg://..."``). Environment wins over the file.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_var_dir() -> Path:
    """``var/`` of the source checkout when running from one (the README's commands),
    else ``./var`` under the current directory (an installed package)."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "dialplan").is_dir():
        return checkout / "var"
    return Path.cwd() / "var"


class ConfigError(Exception):
    """A setting has a bad value; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MASKING_", extra="ignore", frozen=True)

    var_dir: Path = Field(default_factory=_default_var_dir)
    database_url: str = ""  # empty: SQLite file var_dir/masking.db
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "masking:"
    binding_ttl_hours: float = Field(24.0, gt=0, le=24 * 90)
    cooloff_hours: float = Field(72.0, ge=0, le=24 * 365)
    default_region: str = "RU"
    timezone: str = "Europe/Moscow"

    agi_host: str = "127.0.0.1"
    agi_port: int = Field(4573, ge=1, le=65535)
    agi_request_timeout: float = Field(3.0, gt=0, le=60)
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(5038, ge=1, le=65535)
    ami_username: str = "masking"
    ami_secret: str = "masking"  # noqa: S105 - local default, overridden in production
    # default: the monitor directory of the local Asterisk (masking asterisk up / demo)
    recordings_dir: Path | None = None
    announce_recording: bool = False
    neutral_callerid_name: str = "Pickup point"
    session_secret: str = ""

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r} (ISO 3166 code like RU, KZ, GB)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'masking.db'}"

    @property
    def effective_recordings_dir(self) -> Path:
        return self.recordings_dir or self.var_dir / "asterisk" / "spool" / "monitor"


def _file_values() -> dict[str, Any]:
    path = os.environ.get("MASKING_CONFIG_FILE")
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"MASKING_CONFIG_FILE: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"MASKING_CONFIG_FILE: {path} is not valid TOML: {exc}") from None
    env_names = {key[len("MASKING_") :].lower() for key in os.environ if key.startswith("MASKING_")}
    return {key: value for key, value in data.items() if key not in env_names}


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{**_file_values(), **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "MASKING_" + "_".join(str(part) for part in first["loc"]).upper()
        raise ConfigError(f"{name}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
