"""Several masking service instances on this machine, for the tests and the fault suite.

Each instance is a ``masking serve`` process of its own (own FastAGI and HTTP port, own
var dir and log file), all of them on one database and one Redis and talking AMI to one
Asterisk, whose dialplan lists their FastAGI servers in ``MASKING_AGI_SERVERS`` (see
:meth:`ServiceInstances.point`). One instance is started, killed with ``kill -9``,
stopped or restarted by its index; its ports stay the same across restarts, so the
dialplan's list stays right.

Which instance leads (timers, dialer) and which tracks its Asterisk's AMI events is read
from the instances' logs ("leader duties start" / "leadership lost", "AMI event tracking
starts" / "tracker lock lost": :mod:`masking.runtime`, :mod:`masking.leader`). Several
Asterisk servers: give each instance its own ``MASKING_AMI_PORT`` and
``MASKING_ASTERISK_NAME`` in :attr:`ServiceInstance.env` before it starts.
PostgreSQL is the database for several instances (the leader lock is an advisory lock);
SQLite works for instances on one host (a file lock in a shared var dir) but is not what
this is for.

    with ServiceInstances(2, workdir, database_url=pg, redis_prefix="lab:", ami_port=...) as fleet:
        fleet.point(asterisk)        # MASKING_AGI_SERVERS = agi://127.0.0.1:<p0>,...
        fleet.kill(0)                # kill -9
        fleet.restart(0)
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Protocol

from lab.ports import free_tcp_port, port_open

ROOT = Path(__file__).resolve().parents[1]
SERVE = "from masking.cli.main import main; main()"
READY_LINE = "masking is serving"
LEADS_LINE = "leader duties start"
DEPOSED_LINE = "leadership lost"
TRACKS_LINE = "AMI event tracking starts"
UNTRACKED_LINE = "tracker lock lost"


class InstanceError(RuntimeError):
    """An instance did not start (the message ends with its log's tail)."""


class Asterisk(Protocol):
    """What :meth:`ServiceInstances.point` needs of an Asterisk (lab.asterisk.LocalAsterisk)."""

    agi_servers: str

    def cli(self, command: str, timeout: float = 10.0) -> str: ...


class ServiceInstance:
    """One ``masking serve`` process; ``env`` holds its settings (``MASKING_*``)."""

    def __init__(
        self,
        index: int,
        workdir: Path,
        env: Mapping[str, str],
        *,
        agi_port: int,
        http_port: int,
    ) -> None:
        self.index = index
        self.workdir = workdir
        self.agi_port = agi_port
        self.http_port = http_port
        self.log_file = workdir / "serve.log"
        self.env = dict(env)
        self.env.update(
            MASKING_VAR_DIR=str(workdir),
            MASKING_AGI_PORT=str(agi_port),
            MASKING_HTTP_PORT=str(http_port),
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log_offset = 0

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "down"
        return f"<instance {self.index} agi :{self.agi_port} http :{self.http_port} {state}>"

    @property
    def agi_url(self) -> str:
        return f"agi://127.0.0.1:{self.agi_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Launch the process (its log appended to :attr:`log_file`); see :meth:`wait_ready`."""
        if self.running:
            raise InstanceError(f"instance {self.index} is running already")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        argv = [sys.executable, "-c", SERVE, "serve"]
        log: IO[bytes]
        with open(self.log_file, "ab") as log:
            log.write(f"---- instance {self.index}: start {self.starts + 1}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # its own process group: a kill reaches its workers, a Ctrl-C of the
                # test run does not reach it
                start_new_session=True,
            )
        self.starts += 1

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until it serves (its log says so and its FastAGI port answers)."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise InstanceError(
                    f"instance {self.index} exited ({self._exit()}) while starting:\n{self.tail()}"
                )
            if READY_LINE in self.log() and port_open(self.agi_port):
                return
            if time.monotonic() > deadline:
                raise InstanceError(
                    f"instance {self.index} not serving in {timeout:.0f} s:\n{self.tail()}"
                )
            time.sleep(0.05)

    def kill(self) -> None:
        """``kill -9`` of the instance (every process of it), and reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:  # not reaped: its group id is still its own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a graceful stop: requests in flight finish), SIGKILL after ``timeout``."""
        if self.process is None:
            return
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, timeout: float = 60.0) -> None:
        """Stop it if it runs (gracefully), start it again, wait until it serves."""
        self.stop()
        self.start()
        self.wait_ready(timeout)

    def _exit(self) -> str:
        code = self.process.returncode if self.process is not None else None
        if code is None:
            return "running"
        return f"signal {-code}" if code < 0 else f"exit {code}"

    # ---- what it said ------------------------------------------------------------------
    def log(self, *, all_starts: bool = False) -> str:
        """Its log since the last start (or of every start)."""
        try:
            with open(self.log_file, "rb") as handle:
                if not all_starts:
                    handle.seek(self._log_offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    @property
    def leads(self) -> bool:
        """It runs and its last word on the leadership (since it started) is that it leads."""
        if not self.running:
            return False
        text = self.log()
        return text.count(LEADS_LINE) > text.count(DEPOSED_LINE)

    @property
    def tracks(self) -> bool:
        """It runs and tracks the AMI events of its Asterisk (since it started)."""
        if not self.running:
            return False
        text = self.log()
        return text.count(TRACKS_LINE) > text.count(UNTRACKED_LINE)


class ServiceInstances:
    """``count`` instances on one database and one Redis, talking AMI to one Asterisk.

    ``env``: more settings for every instance (``MASKING_*``: Redis Sentinel, timeouts,
    secrets); the process's own ``MASKING_*`` variables are not passed on.
    """

    def __init__(
        self,
        count: int,
        workdir: Path,
        *,
        database_url: str,
        ami_port: int,
        redis_prefix: str | None = None,
        redis_url: str = "redis://127.0.0.1:6379/0",
        ami_username: str = "masking",
        ami_secret: str = "masking",  # noqa: S107 - the lab Asterisk's default
        recordings_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("at least one instance")
        self.workdir = Path(workdir)
        base = {k: v for k, v in os.environ.items() if not k.startswith("MASKING_")}
        base.update(
            MASKING_DATABASE_URL=database_url,
            MASKING_REDIS_URL=redis_url,
            MASKING_AMI_PORT=str(ami_port),
            MASKING_AMI_USERNAME=ami_username,
            MASKING_AMI_SECRET=ami_secret,
        )
        if redis_prefix is not None:  # None: the settings' default
            base["MASKING_REDIS_PREFIX"] = redis_prefix
        if recordings_dir is not None:
            base["MASKING_RECORDINGS_DIR"] = str(recordings_dir)
        base.update(env or {})
        self.instances = [
            ServiceInstance(
                index,
                self.workdir / f"instance-{index}",
                base,
                agi_port=free_tcp_port(),
                http_port=free_tcp_port(),
            )
            for index in range(count)
        ]
        self._registered = False

    def __getitem__(self, index: int) -> ServiceInstance:
        return self.instances[index]

    def __len__(self) -> int:
        return len(self.instances)

    def __iter__(self) -> Iterator[ServiceInstance]:
        return iter(self.instances)

    @property
    def agi_servers(self) -> str:
        """The dialplan's ``MASKING_AGI_SERVERS``: every instance, in index order."""
        return ",".join(instance.agi_url for instance in self.instances)

    def point(self, asterisk: Asterisk, count: int | None = None) -> None:
        """Make ``asterisk``'s dialplan ask the first ``count`` instances (all by default),
        in index order: now (a global set at run time) and after a restart of it
        (rendered into its configuration when it starts; a ``dialplan reload`` goes back
        to what was rendered)."""
        asterisk.agi_servers = ",".join(i.agi_url for i in self.instances[:count])
        asterisk.cli(f"dialplan set global MASKING_AGI_SERVERS {asterisk.agi_servers}")

    # ---- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        """Instance 0 first, until it serves (it upgrades the schema and leads), then the
        others together."""
        if not self._registered:
            atexit.register(self.stop_all)
            self._registered = True
        first, *others = self.instances
        first.start()
        first.wait_ready(timeout)
        for instance in others:
            instance.start()
        for instance in others:
            instance.wait_ready(timeout)

    def kill(self, index: int) -> None:
        """``kill -9`` of instance ``index``."""
        self.instances[index].kill()

    def stop(self, index: int) -> None:
        self.instances[index].stop()

    def restart(self, index: int, timeout: float = 60.0) -> None:
        self.instances[index].restart(timeout)

    def serve(self, count: int, timeout: float = 60.0) -> None:
        """The first ``count`` instances serve (each one down started, in index order, and
        waited for), the others are stopped."""
        for instance in self.instances:
            if instance.index >= count:
                instance.stop(timeout=10)
            elif not instance.running:
                instance.start()
                instance.wait_ready(timeout)

    def stop_all(self) -> None:
        for instance in self.instances:
            instance.stop(timeout=10)

    # ---- the leadership ----------------------------------------------------------------
    def leaders(self) -> list[int]:
        """The indices of the instances that lead now (one, when all is well)."""
        return [instance.index for instance in self.instances if instance.leads]

    def trackers(self) -> list[int]:
        """The indices of the instances tracking their Asterisk now (one per Asterisk)."""
        return [instance.index for instance in self.instances if instance.tracks]

    def wait_leader(self, timeout: float = 15.0, *, not_: int | None = None) -> int:
        """The index of the one leader, once there is exactly one (and it is not ``not_``)."""
        deadline = time.monotonic() + timeout
        while True:
            leaders = self.leaders()
            if len(leaders) == 1 and leaders[0] != not_:
                return leaders[0]
            if time.monotonic() > deadline:
                raise InstanceError(f"no single leader in {timeout:.0f} s: {leaders}")
            time.sleep(0.1)

    def __enter__(self) -> ServiceInstances:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
