"""Service instances as real ``masking serve`` processes, so ``kill -9`` is real.

:class:`ServiceInstances` is a list of instances of one deployment (the same database,
Redis and Asterisk, each its own FastAGI and HTTP port and ``var_dir``): :meth:`start`
launches one, :meth:`kill` sends it SIGKILL (nothing of it runs its shutdown), and
:meth:`restart` starts it again on the same ports. Every instance's output goes to
``<workdir>/serve-<index>.log`` (one file per start appended).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lab.faults.parts import PartError, free_tcp_port, listening


@dataclass
class Instance:
    index: int
    agi_port: int
    http_port: int
    var_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class ServiceInstances:
    """``masking serve`` subprocesses; ``env`` holds the deployment's ``MASKING_*``
    settings (database, Redis, AMI, recordings), each instance adds its own ports."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MASKING_")}
        self.env.update(env)
        self.workdir = Path(workdir)
        self.instances: list[Instance] = []

    def __len__(self) -> int:
        return len(self.instances)

    def __getitem__(self, index: int) -> Instance:
        return self.instances[index]

    @property
    def agi_ports(self) -> list[int]:
        return [i.agi_port for i in self.instances]

    def add(self) -> Instance:
        """A new instance (not started) on free ports."""
        index = len(self.instances)
        var_dir = self.workdir / f"instance-{index}"
        var_dir.mkdir(parents=True, exist_ok=True)
        instance = Instance(
            index=index,
            agi_port=free_tcp_port(),
            http_port=free_tcp_port(),
            var_dir=var_dir,
            log_path=self.workdir / f"serve-{index}.log",
        )
        self.instances.append(instance)
        return instance

    def start(self, index: int, timeout: float = 30.0) -> Instance:
        """Launch instance ``index`` and wait until its FastAGI port accepts."""
        instance = self.instances[index]
        if instance.running:
            return instance
        env = dict(self.env)
        env.update(
            {
                "MASKING_VAR_DIR": str(instance.var_dir),
                "MASKING_AGI_PORT": str(instance.agi_port),
                "MASKING_HTTP_PORT": str(instance.http_port),
            }
        )
        if instance._log is None:
            instance._log = open(instance.log_path, "ab")  # noqa: SIM115 - closed in stop_all
        instance._log.write(f"---- start {instance.starts + 1}\n".encode())
        instance._log.flush()
        instance.process = subprocess.Popen(
            [sys.executable, "-c", "from masking.cli.main import main; main()", "serve"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=instance._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        instance.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if instance.process.poll() is not None:
                raise PartError(
                    f"masking serve #{index} exited with {instance.process.returncode} "
                    f"(see {instance.log_path})"
                )
            if listening(instance.agi_port):
                return instance
            time.sleep(0.05)
        raise PartError(f"masking serve #{index} did not listen on {instance.agi_port} in time")

    def kill(self, index: int) -> None:
        """``kill -9``: the process dies at once, nothing of it runs its shutdown."""
        instance = self.instances[index]
        if instance.process is None or not instance.running:
            return
        os.kill(instance.process.pid, signal.SIGKILL)
        instance.process.wait(timeout=10)

    def restart(self, index: int) -> Instance:
        return self.start(index)

    def stop(self, index: int, grace: float = 10.0) -> None:
        """SIGTERM (a graceful stop), SIGKILL after ``grace``."""
        instance = self.instances[index]
        process = instance.process
        if process is None or process.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                process.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self) -> None:
        for instance in self.instances:
            self.stop(instance.index)
            if instance._log is not None:
                instance._log.close()
                instance._log = None
