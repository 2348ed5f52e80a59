"""Settings from ``MASKING_*`` environment variables and an optional TOML file.

The file is named by ``MASKING_CONFIG_FILE`` (keys are the lower-case names without the
prefix, e.g. ``database_url = "postgresql+psycopg://..."``). Environment wins over the file.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from masking.shapes import is_asterisk_name


def _default_var_dir() -> Path:
    """``var/`` of the source checkout when running from one (the README's commands),
    else ``./var`` under the current directory (an installed package)."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "dialplan").is_dir():
        return checkout / "var"
    return Path.cwd() / "var"


# How the lab (tests, demo, `masking asterisk up`) runs Asterisk: under bwrap in its
# cached root filesystem, or the docker/Dockerfile image with podman or Docker.
AsteriskRuntime = Literal["bwrap", "container"]

MIN_SESSION_SECRET = 32
MIN_WEBHOOK_SECRET = 32
MIN_METRICS_TOKEN = 16


class ConfigError(Exception):
    """A setting has a bad value; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MASKING_", extra="ignore", frozen=True)

    var_dir: Path = Field(default_factory=_default_var_dir)
    database_url: str = ""  # empty: SQLite file var_dir/masking.db
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "masking:"
    # A Sentinel-managed Redis (masking.redis_client): the sentinels ("host:port,...") and
    # the master's name; MASKING_REDIS_URL is then not used, the master's password and
    # database number are the next two settings
    redis_sentinels: str = ""
    redis_sentinel_master: str = ""
    redis_sentinel_password: str = ""  # the sentinels' own (requirepass of sentinel.conf)
    redis_password: str = ""  # the master's and replicas' (with sentinels only)
    redis_db: int = Field(0, ge=0, le=1023)
    # replicas that must hold a new binding before it is handed out (Redis WAIT); fewer
    # within REPLICA_ACK_TIMEOUT_MS and the reveal is refused "unavailable"
    redis_replica_acks: int = Field(0, ge=0, le=16)
    binding_ttl_hours: float = Field(24.0, gt=0, le=24 * 90)
    cooloff_hours: float = Field(72.0, ge=0, le=24 * 365)
    default_region: str = "RU"
    timezone: str = "Europe/Moscow"

    agi_host: str = "127.0.0.1"
    agi_port: int = Field(4573, ge=1, le=65535)
    agi_request_timeout: float = Field(3.0, gt=0, le=60)
    # Asterisk peers the FastAGI port answers: addresses / CIDRs, comma-separated;
    # empty: loopback only (see agi_allowed_networks)
    agi_allowed_peers: str = ""
    # shared secret the dialplan sends in the AGI URL (MASKING_AGI_SECRET global); empty: none
    agi_secret: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(5038, ge=1, le=65535)
    ami_username: str = "masking"
    ami_secret: str = "masking"  # noqa: S105 - local default, overridden in production
    # the name of the Asterisk at ami_host: its systemname (asterisk.conf). Set on every
    # instance when several Asterisk servers are active at once: each Asterisk's calls
    # are then tracked and reconciled by one instance attached to it. Empty: one
    # Asterisk per deployment, tracked by one instance (every call record is its own).
    asterisk_name: str = ""
    # the separate AMI user of `masking dialplan reload` (write=command,reporting)
    ami_reload_username: str = "masking-reload"
    ami_reload_secret: str = "masking-reload"  # noqa: S105 - local lab default
    # default: the monitor directory of the local Asterisk (masking asterisk up / demo)
    recordings_dir: Path | None = None
    announce_recording: bool = False
    neutral_callerid_name: str = "Pickup point"
    session_secret: str = ""
    # served over HTTPS (directly or behind a TLS proxy): the session cookie is Secure
    https: bool = False
    # case events go out to this URL (signed with webhook_secret); empty: they stay queued
    webhook_url: str = ""
    webhook_secret: str = Field("", validate_default=True)
    # seconds between two rounds of the timers (outbox delivery, overdue appeals)
    scheduler_interval: float = Field(15.0, gt=0, le=30)
    # /metrics asks for "Authorization: Bearer <it>" when set; empty: /metrics is open
    metrics_token: str = ""
    # "json": one JSON object per log line (time, level, logger, message, extra fields)
    log_format: Literal["text", "json"] = "text"
    # the lab's Asterisk (tests, demo, `masking asterisk up`): bwrap | container
    asterisk_runtime: AsteriskRuntime = "bwrap"

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

    @field_validator("agi_allowed_peers")
    @classmethod
    def _peer_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("asterisk_name")
    @classmethod
    def _asterisk_name_shape(cls, value: str) -> str:
        if value and not is_asterisk_name(value):
            raise ValueError("must be 1-40 characters of A-Z a-z 0-9 _ . - (the systemname)")
        return value

    @field_validator("agi_secret")
    @classmethod
    def _agi_secret_shape(cls, value: str) -> str:
        # it travels in the AGI URL: nothing that needs quoting, and long enough to matter
        if value and not _AGI_SECRET.match(value):
            raise ValueError("must be 16-128 characters of A-Z a-z 0-9 . _ ~ -")
        return value

    @field_validator("session_secret")
    @classmethod
    def _long_secret(cls, value: str) -> str:
        if value and len(value) < MIN_SESSION_SECRET:
            raise ValueError(f"must be at least {MIN_SESSION_SECRET} characters when set")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_scheme(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_length(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("webhook_url") and len(value) < MIN_WEBHOOK_SECRET:
            raise ValueError(
                f"must be at least {MIN_WEBHOOK_SECRET} characters when MASKING_WEBHOOK_URL is set"
            )
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_length(cls, value: str) -> str:
        if value and len(value) < MIN_METRICS_TOKEN:
            raise ValueError(f"must be at least {MIN_METRICS_TOKEN} characters when set")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinel_addresses(cls, value: str) -> str:
        parse_sentinels(value)
        return value

    @field_validator("redis_sentinel_master")
    @classmethod
    def _sentinel_master_name(cls, value: str) -> str:
        if value and not _SENTINEL_MASTER.match(value):
            raise ValueError("must be 1-64 characters of A-Z a-z 0-9 . _ -")
        return value

    @model_validator(mode="after")
    def _one_redis(self) -> Settings:
        """Sentinel settings come together and replace MASKING_REDIS_URL."""
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise ValueError(
                "MASKING_REDIS_SENTINEL_MASTER: required when MASKING_REDIS_SENTINELS is set"
            )
        if self.redis_sentinel_master and not self.redis_sentinels:
            raise ValueError(
                "MASKING_REDIS_SENTINELS: required when MASKING_REDIS_SENTINEL_MASTER is set"
            )
        if self.redis_sentinels and "redis_url" in self.model_fields_set:
            raise ValueError(
                "MASKING_REDIS_URL: not used with MASKING_REDIS_SENTINELS (Sentinel names "
                "the master); set one of them"
            )
        if not self.redis_sentinels:
            for name in ("redis_sentinel_password", "redis_password", "redis_db"):
                if name in self.model_fields_set and getattr(self, name):
                    raise ValueError(
                        f"MASKING_{name.upper()}: only used with MASKING_REDIS_SENTINELS "
                        "(put the password and database number in MASKING_REDIS_URL)"
                    )
        return self

    @property
    def redis_sentinel_addresses(self) -> tuple[tuple[str, int], ...]:
        return parse_sentinels(self.redis_sentinels)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'masking.db'}"

    @property
    def effective_recordings_dir(self) -> Path:
        return self.recordings_dir or self.var_dir / "asterisk" / "spool" / "monitor"

    @property
    def agi_allowed_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.agi_allowed_peers) or LOOPBACK_NETWORKS


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
_AGI_SECRET = re.compile(r"^[A-Za-z0-9._~-]{16,128}$")
_SENTINEL_MASTER = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HOST_PORT = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+))(?::(?P<port>\d{1,5}))?$"
)
DEFAULT_SENTINEL_PORT = 26379


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """``"10.0.0.5, 192.168.1.0/24, ::1"`` -> networks (an address is a /32 or /128)."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item[:60]!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """``"10.0.0.1:26379, redis-b, [::1]:26380"`` -> (host, port) pairs (port 26379 when
    left out)."""
    found = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        match = _HOST_PORT.match(item)
        port = int(match["port"] or DEFAULT_SENTINEL_PORT) if match else 0
        if match is None or not 1 <= port <= 65535:
            raise ValueError(f"{item[:60]!r} is not host:port (e.g. 10.0.0.1:26379)")
        found.append((match["v6"] or match["host"], port))
    return tuple(found)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; a wildcard or any other name is not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


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
        if not first["loc"]:  # a rule across settings: its message names them
            raise ConfigError(str(first.get("ctx", {}).get("error", first["msg"]))) from None
        name = "MASKING_" + "_".join(str(part) for part in first["loc"]).upper()
        raise ConfigError(f"{name}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
