"""``masking serve`` in a subprocess, its log read as it comes, and the fake AMI peer on
an event loop of its own (the service is another process)."""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.support.fake_ami import FakeAmi

ROOT = Path(__file__).resolve().parents[2]


class AmiInThread:
    """:class:`FakeAmi` on its own event loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake: FakeAmi = self.run(FakeAmi().start())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self.run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class ServeProcess:
    """``masking serve [args]`` with ``env``; :attr:`log` holds its stderr lines so far."""

    def __init__(self, env: dict[str, str], args: Sequence[str] = ()) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from masking.cli.main import main; main()", "serve", *args],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.log: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)

    def drain(self) -> list[str]:
        while not self._lines.empty():
            self.log.append(self._lines.get_nowait())
        return self.log

    def wait_for(self, check: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            if check():
                return
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError("not in time; log:\n" + "".join(self.log[-40:]))
            time.sleep(0.05)

    def workers(self) -> set[int]:
        """Pids of the workers alive now (the supervisor's children)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in path.read_text().split()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
