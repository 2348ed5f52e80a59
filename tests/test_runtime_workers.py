"""``masking serve --workers 2`` (issue 13, "Both cores"): two processes answer FastAGI on
one port, exactly one of them tracks AMI events (the leader), a killed worker is
restarted and the other one takes the leadership over, SIGTERM stops everything.

Which process answered a connection is read from the kernel (/proc: the process holding
the accepted socket), not from anything the service says about itself."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agi import FakeAsterisk, agi_env
from tests.support.environment import REDIS_URL, free_tcp_port
from tests.support.serve import AmiInThread, ServeProcess

TRACKING = "system,call,user"


class AmiPeer(AmiInThread):
    """The fake AMI peer on its own event loop in a thread (the service is another process)."""

    def live_event_masks(self) -> list[str]:
        """The event mask each open connection logged in with."""
        live = set(self.fake._writers)
        masks = {n: a.get("Events", "") for n, a in self.fake.named("Login")}
        return [mask for n, mask in masks.items() if n in live]


class Serve(ServeProcess):
    """``masking serve --workers 2`` in a subprocess, its log read as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env, ["--workers", "2"])

    def found(self, pattern: str) -> list[re.Match[str]]:
        return [m for line in self.log if (m := re.search(pattern, line))]

    def leaders(self) -> list[int]:
        return [int(m[1]) for m in self.found(r"leader \(.*\), pid (\d+)")]


def socket_owner(server_port: int, client_port: int, pids: set[int]) -> int | None:
    """The process holding the accepted socket of the connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


@pytest.fixture
def ami_peer() -> Iterator[AmiPeer]:
    peer = AmiPeer()
    yield peer
    peer.stop()


@pytest.fixture
def serve_env(
    tmp_path: Path, sqlite_url: str, redis_prefix: str, ami_peer: AmiPeer
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKING_")}
    env.update(
        MASKING_VAR_DIR=str(tmp_path),
        MASKING_DATABASE_URL=sqlite_url,
        MASKING_REDIS_URL=REDIS_URL,
        MASKING_REDIS_PREFIX=redis_prefix,
        MASKING_AGI_PORT=str(free_tcp_port()),
        MASKING_HTTP_PORT=str(free_tcp_port()),
        MASKING_AMI_PORT=str(ami_peer.fake.port),
        MASKING_AMI_SECRET="s3cret",
    )
    return env


async def connections_by_owner(
    port: int, count: int, pids: set[int]
) -> dict[int, list[FakeAsterisk]]:
    """Open ``count`` FastAGI connections and find which worker accepted each."""
    peers = [await FakeAsterisk.connect(port) for _ in range(count)]
    owners: dict[int, list[FakeAsterisk]] = {}
    for peer in peers:
        client_port = peer.writer.get_extra_info("sockname")[1]
        for _ in range(100):
            owner = socket_owner(port, client_port, pids)
            if owner is not None:
                break
            await asyncio.sleep(0.02)
        assert owner is not None, "no worker accepted the connection"
        owners.setdefault(owner, []).append(peer)
    return owners


async def answered(peer: FakeAsterisk) -> list[str]:
    """One whole FastAGI request (an unknown desk phone: the desk denies it)."""
    await peer.send(agi_env("operator-call", "nobody-desk", "74950000009"))
    try:
        return await peer.serve()
    finally:
        await peer.close()


def test_two_workers_share_the_port_and_one_leads(
    serve_env: dict[str, str], ami_peer: AmiPeer
) -> None:
    serve = Serve(serve_env)
    try:
        serve.wait_for(lambda: len(serve.found(r"worker \d \(pid \d+\) is serving")) == 2)
        workers = serve.workers()
        assert len(workers) == 2 and serve.process.pid not in workers
        port = int(serve_env["MASKING_AGI_PORT"])

        async def connect_and_ask() -> tuple[set[int], list[list[str]]]:
            owners = await connections_by_owner(port, 24, workers)
            replies = await asyncio.gather(*(answered(p) for ps in owners.values() for p in ps))
            return set(owners), replies

        owners, replies = asyncio.run(connect_and_ask())
        assert owners == workers  # the kernel spread the connections over both processes
        assert len(replies) == 24
        assert all(any("MASKING_ACTION" in c and "deny" in c for c in r) for r in replies)

        # every worker has an AMI connection; exactly one tracks events: the leader
        serve.wait_for(lambda: len(ami_peer.live_event_masks()) == 2)
        assert sorted(ami_peer.live_event_masks()) == ["off", TRACKING]
        [leader] = serve.leaders()
        assert leader in workers

        # the leader is killed: the supervisor starts a new worker, and one of the two
        # (the survivor, or the newcomer if it won the lock first) leads and tracks
        os.kill(leader, signal.SIGKILL)
        serve.wait_for(lambda: len(serve.leaders()) == 2)
        serve.wait_for(lambda: len(serve.workers()) == 2 and leader not in serve.workers())
        assert serve.leaders()[-1] in serve.workers()
        assert serve.found(rf"worker \d \(pid {leader}\) exited \(signal 9\); restarting")
        serve.wait_for(lambda: sorted(ami_peer.live_event_masks()) == ["off", TRACKING])

        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(30) == 0
        serve.wait_for(lambda: True)
        assert serve.found("all workers stopped")
    finally:
        serve.stop()


def test_a_worker_that_cannot_start_stops_the_service(serve_env: dict[str, str]) -> None:
    """The console's port is taken: worker 0 cannot start, and restarting it would fail
    the same way; the supervisor stops the other worker and exits 3, one clear line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        serve_env["MASKING_HTTP_PORT"] = str(taken.getsockname()[1])
        serve = Serve(serve_env)
        try:
            assert serve.process.wait(60) == 3
            serve.wait_for(lambda: True)
        finally:
            serve.stop()
    assert serve.found(r"worker 0 could not start \(exit 3\); stopping")
    assert serve.found("error: cannot start")
    assert not serve.found("Traceback")
