"""A Sentinel-managed Redis on loopback for tests and fault drills: one master, replicas
and sentinels, each a real ``redis-server`` / ``redis-sentinel`` process on a free port,
with no persistence, in a work directory (its config files and logs).

>>> with RedisSentinelCluster(workdir) as cluster:
...     settings = load_settings(redis_sentinels=cluster.sentinels_setting,
...                              redis_sentinel_master=cluster.master_name)
...     old = cluster.master()
...     cluster.kill(old)                       # kill -9
...     new = cluster.wait_for_promotion(old)   # a replica is the master now

Failover is quick on purpose (``down-after-milliseconds`` 1000, ``failover-timeout`` 3000:
a promotion about 2-4 s after the kill); production settings are slower (see the README).

:meth:`RedisSentinelCluster.lose_next_writes` makes the next writes of the master certain
never to reach a replica, as asynchronous replication may lose the last writes of a
master that dies: the replicas are frozen (SIGSTOP) and their links dropped, so a test can
write, kill the master, and know what the promoted replica lacks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from lab.ports import free_tcp_port


class ClusterError(RuntimeError):
    pass


def binaries() -> tuple[str, str]:
    """``redis-server`` and ``redis-sentinel`` (Debian packages redis-server, redis-sentinel)."""
    server, sentinel = shutil.which("redis-server"), shutil.which("redis-sentinel")
    if server is None or sentinel is None:
        raise ClusterError(
            "redis-server and redis-sentinel are needed: apt-get install redis-server "
            "redis-sentinel (./dev setup installs them)"
        )
    return server, sentinel


@dataclass
class Node:
    """One process of the cluster."""

    name: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, timeout: float = 1.0) -> redis.Redis:
        return redis.Redis(
            "127.0.0.1", self.port, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def __repr__(self) -> str:
        return f"{self.name}@{self.port}"


class RedisSentinelCluster:
    def __init__(
        self,
        workdir: Path,
        *,
        replicas: int = 2,
        sentinels: int = 3,
        quorum: int = 2,
        master_name: str = "masking",
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
    ) -> None:
        self.workdir = workdir
        self.master_name = master_name
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.servers = [Node("redis-0", free_tcp_port())]
        self.servers += [Node(f"redis-{i}", free_tcp_port()) for i in range(1, replicas + 1)]
        self.sentinels = [Node(f"sentinel-{i}", free_tcp_port()) for i in range(sentinels)]
        self._frozen: list[Node] = []

    # ---- settings --------------------------------------------------------------------
    @property
    def sentinels_setting(self) -> str:
        """The value of ``MASKING_REDIS_SENTINELS``."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.sentinels)

    # ---- life ------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> RedisSentinelCluster:
        server, sentinel = binaries()
        self.workdir.mkdir(parents=True, exist_ok=True)
        first = self.servers[0]
        try:
            deadline = time.monotonic() + timeout
            for node in self.servers:
                args = [] if node is first else ["--replicaof", "127.0.0.1", str(first.port)]
                self._spawn(node, [server, *self._server_options(node), *args])
            # in sync before the sentinels start: they see the replicas in the master's
            # first INFO instead of the next one, 10 s later
            self._wait_until_replicated(deadline)
            for node in self.sentinels:
                config = self.workdir / f"{node.name}.conf"
                config.write_text(self._sentinel_config(node, first))
                self._spawn(node, [sentinel, str(config)])
            self._wait_until_watched(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _server_options(self, node: Node) -> list[str]:
        return [
            "--port",
            str(node.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--dbfilename",
            f"{node.name}.rdb",
            "--logfile",
            str(self.workdir / f"{node.name}.log"),
            # a replica's full sync starts at once, not after waiting 5 s for company
            "--repl-diskless-sync-delay",
            "0",
            # what the README asks of a production master: never evict the live state
            "--maxmemory-policy",
            "noeviction",
        ]

    def _sentinel_config(self, node: Node, master: Node) -> str:
        name = self.master_name
        return "\n".join(
            [
                f"port {node.port}",
                "bind 127.0.0.1",
                f"dir {self.workdir}",
                f"logfile {self.workdir / f'{node.name}.log'}",
                f"sentinel monitor {name} 127.0.0.1 {master.port} {self.quorum}",
                f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
                f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
                f"sentinel parallel-syncs {name} 1",
                "",
            ]
        )

    def _spawn(self, node: Node, argv: list[str]) -> None:
        node.log = self.workdir / f"{node.name}.log"
        node.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def _wait_until_replicated(self, deadline: float) -> None:
        for node in self.servers[1:]:
            while True:
                if not node.alive:
                    raise ClusterError(f"{node} exited; see {node.log}")
                with contextlib.suppress(redis.RedisError), contextlib.closing(node.client()) as c:
                    if c.info("replication").get("master_link_status") == "up":
                        break
                if time.monotonic() > deadline:
                    raise ClusterError(f"{node} did not sync; see {node.log}")
                time.sleep(0.05)

    def _wait_until_watched(self, deadline: float) -> None:
        """Every replica in sync, every sentinel seeing the master, the replicas and the
        other sentinels (they find each other through the master in a few seconds)."""
        others = len(self.sentinels) - 1
        replicas = len(self.servers) - 1
        while True:
            try:
                if all(self._sentinel_ready(node, replicas, others) for node in self.sentinels):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"the Sentinel cluster did not come up; see {self.workdir}")
            time.sleep(0.1)

    def _sentinel_ready(self, node: Node, replicas: int, others: int) -> bool:
        if not node.alive:
            raise ClusterError(f"{node} exited; see {node.log}")
        with contextlib.closing(node.client()) as client:
            state: dict[str, Any] = client.execute_command("SENTINEL MASTER", self.master_name)
        return (
            int(state["num-slaves"]) >= replicas
            and int(state["num-other-sentinels"]) >= others
            and not state["is_sdown"]
        )

    def stop(self) -> None:
        for node in self._frozen:
            self._signal(node, signal.SIGCONT)
        self._frozen = []
        for node in [*self.sentinels, *self.servers]:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
        for node in [*self.sentinels, *self.servers]:
            if node.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(5)

    def __enter__(self) -> RedisSentinelCluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- who is who ----------------------------------------------------------------------
    def master(self) -> Node:
        """The server the sentinels name as the master (it may be dead: not yet noticed)."""
        for node in self.sentinels:
            if not node.alive:
                continue
            with contextlib.suppress(redis.RedisError), contextlib.closing(node.client()) as c:
                address = c.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", self.master_name)
                if address:
                    return self._server_at(int(address[1]))
        raise ClusterError("no sentinel answers")

    def _server_at(self, port: int) -> Node:
        for node in self.servers:
            if node.port == port:
                return node
        raise ClusterError(f"the sentinels name an unknown server on port {port}")

    def replicas(self) -> list[Node]:
        master = self.master()
        return [node for node in self.servers if node is not master and node.alive]

    def replication_id(self, node: Node) -> str:
        with contextlib.closing(node.client()) as client:
            return str(client.info("replication")["master_replid"])

    # ---- faults --------------------------------------------------------------------------
    def kill(self, node: Node) -> None:
        """kill -9, and reap it."""
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait(5)

    def _signal(self, node: Node, signum: signal.Signals) -> None:
        if node.process is not None and node.process.poll() is None:
            os.kill(node.process.pid, signum)

    @contextlib.contextmanager
    def lose_next_writes(self) -> Iterator[Node]:
        """Until the block ends, the master's writes reach no replica: the replicas are
        frozen and their links dropped (keep it short: a replica frozen longer than
        ``down_after_ms`` is itself down for the sentinels). Kill the master inside the
        block to lose those writes; the replicas are thawed when it ends."""
        master = self.master()
        frozen = [node for node in self.servers if node is not master and node.alive]
        for node in frozen:
            self._signal(node, signal.SIGSTOP)
        self._frozen = frozen
        try:
            with contextlib.closing(master.client()) as client:
                client.client_kill_filter(_type="replica")
            yield master
        finally:
            for node in frozen:
                self._signal(node, signal.SIGCONT)
            self._frozen = []

    def wait_for_promotion(self, old: Node, timeout: float = 30.0) -> Node:
        """The replica the sentinels promoted once ``old`` failed, when it acts as master."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ClusterError, redis.RedisError):
                new = self.master()
                if new is not old and new.alive:
                    with contextlib.closing(new.client()) as client:
                        if client.info("replication")["role"] == "master":
                            return new
            time.sleep(0.05)
        raise ClusterError(f"no replica was promoted within {timeout:.0f} s; see {self.workdir}")

    def wait_for_replicas(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` replicas are connected to the master and in sync."""
        deadline = time.monotonic() + timeout
        master = self.master()
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError), contextlib.closing(master.client()) as c:
                info = c.info("replication")
                online = [
                    value
                    for key, value in info.items()
                    if key.startswith("slave")
                    and isinstance(value, dict)
                    and value.get("state") == "online"
                ]
                if len(online) >= count:
                    return
            time.sleep(0.05)
        raise ClusterError(f"fewer than {count} replicas came back within {timeout:.0f} s")
