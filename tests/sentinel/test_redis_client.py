"""The one Redis client factory (masking.redis_client): a URL or a Sentinel master, the
same timeouts and retries, no password in what it prints, the settings a child process
needs; and, against real sentinels, the master found by name and a wrong name refused."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest
import redis
from redis.sentinel import MasterNotFoundError, SentinelConnectionPool

from lab.redis_sentinel import RedisSentinelCluster
from masking import redis_client
from masking.config import load_settings
from masking.numbers.pool import LivePool
from tests.support.sentinel import sentinel_settings

SENTINELS = {
    "redis_sentinels": "10.0.0.1:26379,10.0.0.2:26380",
    "redis_sentinel_master": "masking",
    "redis_sentinel_password": "sentinel-pw",
    "redis_password": "data-pw",
    "redis_db": 3,
}


@pytest.fixture(autouse=True)
def _no_redis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MASKING_CONFIG_FILE", "MASKING_REDIS_URL", "MASKING_REDIS_SENTINELS"):
        monkeypatch.delenv(name, raising=False)


def test_a_url_makes_a_plain_client_that_fails_fast() -> None:
    client = redis_client.connect(load_settings(redis_url="redis://:pw@10.0.0.5:6380/4"))
    kwargs = client.connection_pool.connection_kwargs
    assert type(client) is redis.Redis
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "10.0.0.5",
        6380,
        4,
        "pw",
    )
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 2.0
    assert kwargs["retry"].get_retries() == redis_client.RETRIES
    client.close()


def test_a_redis_that_never_answers_is_asked_once() -> None:
    """A server that accepts and stays silent (a hung master, a host gone without a reset)
    costs one socket timeout: a timed-out command is not sent again. (A refused
    connection is retried: a master that just moved.)"""
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(silent.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    settings = load_settings(redis_url=f"redis://127.0.0.1:{port}/0")
    client = redis_client.connect(settings, timeout=0.2)
    with pytest.raises(redis.TimeoutError):
        client.get("anything")
    client.close()
    silent.close()
    assert len(accepted) == 1
    for conn in accepted:
        conn.close()


def test_sentinels_make_a_master_client() -> None:
    client = redis_client.connect(load_settings(**SENTINELS))
    assert isinstance(client, redis_client.SentinelMaster)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "masking" and pool.is_master
    kwargs = pool.connection_kwargs
    assert (kwargs["password"], kwargs["db"], kwargs["socket_timeout"]) == ("data-pw", 3, 2.0)
    sentinels = pool.sentinel_manager.sentinels
    addresses = [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in sentinels
    ]
    assert addresses == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    assert {s.connection_pool.connection_kwargs["password"] for s in sentinels} == {"sentinel-pw"}
    client.close()


def test_the_pool_takes_client_and_acks_from_the_settings() -> None:
    pool = LivePool.from_settings(load_settings(redis_replica_acks=1, redis_prefix="p:"))
    assert (pool.replica_acks, pool.prefix) == (1, "p:")
    pool.redis.close()


def test_descriptions_name_no_password() -> None:
    assert redis_client.describe(load_settings(redis_url="redis://:pw@cache:6379/1")) == (
        "Redis at redis://cache:6379/1"
    )
    described = redis_client.describe(load_settings(**SENTINELS))
    assert described == "Redis master 'masking' (Sentinel 10.0.0.1:26379, 10.0.0.2:26380)"
    assert "pw" not in described


@pytest.mark.parametrize(
    "values", [{"redis_url": "redis://10.0.0.5:6380/4", "redis_replica_acks": 1}, SENTINELS]
)
def test_a_child_process_gets_the_same_redis(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, object]
) -> None:
    given = load_settings(redis_prefix="child:", **values)
    for name, value in redis_client.environment(given).items():
        monkeypatch.setenv(name, value)
    child = load_settings()
    fields = [name for name in type(given).model_fields if name.startswith("redis_")]
    assert {f: getattr(child, f) for f in fields} == {f: getattr(given, f) for f in fields}


def test_the_master_is_found_through_the_sentinels(
    cluster: RedisSentinelCluster, tmp_path: Path
) -> None:
    client = redis_client.connect(sentinel_settings(cluster, tmp_path, "sqlite://"))
    client.set("where", "here")
    master = cluster.master()
    with master.client() as direct:
        assert direct.get("where") == b"here"
    client.close()

    wrong = load_settings(
        redis_sentinels=cluster.sentinels_setting, redis_sentinel_master="not-there"
    )
    client = redis_client.connect(wrong)
    started = time.monotonic()
    with pytest.raises(MasterNotFoundError):
        client.ping()
    assert time.monotonic() - started < 2
    client.close()
