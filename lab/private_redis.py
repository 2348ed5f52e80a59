"""A ``redis-server`` of its own on a free loopback port, to stop and start at will (the
machine's shared Redis on 6379 is never stopped): for the fault suite and the tests.

It keeps nothing on disk (``save ""``, ``appendonly no``, the default of the Redis the
README starts), so a restart brings it back empty, as a crashed production Redis without
persistence comes back.

    server = PrivateRedis().start()      # its folder: a temporary one, see destroy()
    server.url                           # redis://127.0.0.1:<port>/0
    server.stop(); server.start()        # back, empty
    server.destroy()
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from lab.ports import free_tcp_port
from lab.processes import stop_process


class RedisServerError(RuntimeError):
    """redis-server is missing or did not start."""


def redis_binary() -> str | None:
    return shutil.which("redis-server")


class PrivateRedis:
    """A ``redis-server`` on 127.0.0.1:``port`` that keeps nothing on disk; its log and
    working files in ``folder`` (default: a temporary folder that :meth:`destroy` removes)."""

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        binary = redis_binary()
        if binary is None:
            raise RedisServerError("redis-server is missing (apt-get install redis-server)")
        self.binary = binary
        self.port = port or free_tcp_port()
        self._own_folder = folder is None
        self.folder = folder or Path(tempfile.mkdtemp(prefix="masking-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> PrivateRedis:
        """Launch it and wait until it answers PING."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
                "--logfile", str(self.folder / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None:
                raise RedisServerError(f"redis-server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RedisServerError(f"redis-server did not answer on {self.port} in time")
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM (redis-server shuts down; with nothing to save it keeps nothing),
        SIGKILL if it has not gone in 10 s."""
        process, self.process = self.process, None
        stop_process(process, grace=10)

    def destroy(self) -> None:
        """Stop it, and remove its folder if it made it."""
        self.stop()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
