"""A real Asterisk 22 on this machine, for the tests and the demo.

Asterisk runs inside the cached Debian root filesystem (:mod:`lab.asterisk.rootfs`)
under ``bwrap``, with the host's network: PJSIP listens on 127.0.0.1:<sip_port> (UDP
only), AMI on 127.0.0.1:<ami_port>, RTP in its own port range, so several instances run
side by side. Everything an instance writes lives in its ``state_dir``::

    state_dir/etc/      rendered configuration       -> /etc/asterisk
    state_dir/spool/    spool, astdb                 -> /var/spool/asterisk
    state_dir/spool/monitor/  recordings (MixMonitor) -> /var/spool/asterisk/monitor
    state_dir/log/      messages.log, asterisk.out   -> /var/log/asterisk
    state_dir/run/      asterisk.ctl control socket  -> /run/asterisk
    state_dir/asterisk.json   pid and ports of a detached instance (up/down/status)

The root filesystem is mounted read-only; the project's dialplan files are copied into
``etc/`` and its prompts (``dialplan/sounds``) mounted at
``/usr/share/asterisk/sounds/masking`` (so ``Playback(masking/closed)`` finds them).

The runtime is a setting (``MASKING_ASTERISK_RUNTIME``, :func:`configured_runtime`):
``bwrap`` (the default, above) or ``container``: the image of ``docker/Dockerfile``, built
from that same root filesystem (:mod:`lab.containers`), runs with podman (or Docker when
an engine answers) on the host network, with the same directories bind-mounted and the
same rendered configuration; ``cli`` then runs ``asterisk -rx`` in the container.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from agi.dialplan import DIALPLAN_DIR
from lab import containers
from lab.asterisk import rootfs as rootfs_mod
from lab.processes import tail
from masking.config import AsteriskRuntime, load_settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# The dialplan files copied from dialplan/ next to the rendered extensions.conf.
DIALPLAN_FILES = ("masking.conf", "masking-globals.conf", "masking-contract.conf")
STATE_FILE = "asterisk.json"
CARRIER_HEADER_NAME = "X-Masking-Test-Trunk"
CARRIER_HEADER_VALUE = "carrier"


class AsteriskError(RuntimeError):
    """Asterisk did not start, or a CLI command failed."""


def configured_runtime() -> AsteriskRuntime:
    """How the lab runs Asterisk: ``MASKING_ASTERISK_RUNTIME`` (bwrap | container)."""
    return load_settings().asterisk_runtime


@dataclass(frozen=True)
class Ports:
    sip_port: int = 5060
    ami_port: int = 5038
    rtp_start: int = 10000
    rtp_end: int = 10099

    @classmethod
    def free(cls, rtp_ports: int = 40) -> Ports:
        """Ports nobody on 127.0.0.1 uses right now (checked by binding them)."""
        sip = free_port(socket.SOCK_DGRAM)
        ami = free_port(socket.SOCK_STREAM)
        for _ in range(200):
            start = random.randrange(20000, 30000 - rtp_ports, 2)
            if all(port_bindable(p, socket.SOCK_DGRAM) for p in range(start, start + rtp_ports)):
                return cls(sip, ami, start, start + rtp_ports - 1)
        raise AsteriskError("no free RTP port range found between 20000 and 30000")


@dataclass(frozen=True)
class Phone:
    """A desk phone (PJSIP endpoint with digest auth).

    ``contact`` ("host:port") makes Asterisk able to call it (a site phone ringing for
    inbound calls); without it the phone only places calls. ``context`` is where its
    calls go (the desk phones' context of the masking dialplan unless told otherwise).
    """

    name: str
    password: str
    contact: str | None = None
    context: str = "masking-operator"


@dataclass(frozen=True)
class Queue:
    """An app_queue queue: a team's hotline queue (``queues.conf``), its agents' desk
    phones (:class:`Phone` names) static members rung together; ``dids`` are the hotline
    DIDs routed to ``masking-hotline`` with this queue as the fallback, from the carrier
    trunk's context (``lab-carrier``, which includes ``masking-inbound`` for every other
    number)."""

    name: str
    members: tuple[str, ...]
    dids: tuple[str, ...] = ()
    strategy: str = "ringall"
    ring_timeout: int = 15  # seconds each member rings per try


def default_phones() -> tuple[Phone, ...]:
    return (
        Phone("desk1", "desk1-secret"),
        Phone("desk2", "desk2-secret"),
        Phone("desk3", "desk3-secret"),
    )


def port_bindable(port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(kind: int) -> int:
    for _ in range(100):
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        # the other protocol too: SIP and AMI ports are then free for both
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        if port < 60000 and port_bindable(port, other):
            return port
    raise AsteriskError("no free port found")


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 free right now (for a SIPp instance)."""
    return free_port(socket.SOCK_DGRAM)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Layout:
    state_dir: Path
    etc: Path = field(init=False)
    spool: Path = field(init=False)
    monitor: Path = field(init=False)
    log: Path = field(init=False)
    run: Path = field(init=False)

    def __post_init__(self) -> None:
        self.etc = self.state_dir / "etc"
        self.spool = self.state_dir / "spool"
        self.monitor = self.spool / "monitor"
        self.log = self.state_dir / "log"
        self.run = self.state_dir / "run"


class LocalAsterisk:
    """One Asterisk instance: render its configuration, start, stop, run CLI commands."""

    def __init__(
        self,
        state_dir: Path,
        ports: Ports | None = None,
        *,
        ami_username: str = "masking",
        ami_secret: str = "masking",  # noqa: S107 - local test instance default
        ami_reload_username: str = "masking-reload",
        ami_reload_secret: str = "masking-reload",  # noqa: S107 - local test instance default
        agi: str = "127.0.0.1:4573",
        agi_servers: str = "",
        carrier: str = "127.0.0.1:5070",
        phones: Sequence[Phone] | None = None,
        queues: Sequence[Queue] = (),
        hotline: str = "",
        extra_dialplan: str = "",
        rootfs: Path | None = None,
        dialplan_dir: Path = DIALPLAN_DIR,
        name: str | None = None,
        detach: bool = False,
        runtime: AsteriskRuntime | None = None,
        log: Any = print,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.ports = ports or Ports.free()
        self.ami_username = ami_username
        self.ami_secret = ami_secret
        self.ami_reload_username = ami_reload_username
        self.ami_reload_secret = ami_reload_secret
        self.agi = agi
        # MASKING_AGI_SERVERS (several service instances: lab.instances); "": MASKING_AGI
        self.agi_servers = agi_servers
        self.carrier = carrier
        self.phones = tuple(phones) if phones is not None else default_phones()
        self.queues = tuple(queues)
        self.hotline = hotline
        self.extra_dialplan = extra_dialplan
        self.rootfs = rootfs
        self.dialplan_dir = Path(dialplan_dir)
        self.name = name or f"masking-{self.ports.sip_port}"
        self.detach = detach
        # None: the setting (configured_runtime)
        self.runtime: AsteriskRuntime = runtime or configured_runtime()
        self._engine: containers.Engine | None = None
        self._log = log
        self.paths = _Layout(self.state_dir)
        self.process: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None
        self.started_in: float | None = None

    # ------------------------------------------------------------------ paths
    @property
    def monitor_dir(self) -> Path:
        """Where MixMonitor writes (relative record files land under it)."""
        return self.paths.monitor

    @property
    def log_file(self) -> Path:
        return self.paths.log / "messages.log"

    @property
    def output_file(self) -> Path:
        return self.paths.log / "asterisk.out"

    @property
    def carrier_context(self) -> str:
        """Where the carrier trunk's calls go: ``lab-carrier`` (the hotline DIDs, then
        ``masking-inbound``) when a queue has DIDs, else ``masking-inbound`` itself."""
        return "lab-carrier" if any(q.dids for q in self.queues) else "masking-inbound"

    @property
    def sip_address(self) -> str:
        return f"127.0.0.1:{self.ports.sip_port}"

    # ------------------------------------------------------------------ config
    def render(self) -> None:
        """Write the configuration into state_dir/etc (replacing what was there)."""
        p = self.paths
        for directory in (p.spool, p.monitor, p.log, p.run):
            directory.mkdir(parents=True, exist_ok=True)
        if p.etc.exists():
            shutil.rmtree(p.etc)
        p.etc.mkdir(parents=True)
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,  # noqa: S701 - Asterisk configuration, not HTML
        )
        context = {
            "name": self.name,
            "ports": self.ports,
            "sip_host": "127.0.0.1",
            "ami_username": self.ami_username,
            "ami_secret": self.ami_secret,
            "ami_reload_username": self.ami_reload_username,
            "ami_reload_secret": self.ami_reload_secret,
            "agi": self.agi,
            "agi_servers": self.agi_servers,
            "carrier": self.carrier,
            "carrier_header_name": CARRIER_HEADER_NAME,
            "carrier_header_value": CARRIER_HEADER_VALUE,
            "phones": self.phones,
            "queues": self.queues,
            "hotline_dids": [(did, q.name) for q in self.queues for did in q.dids],
            "carrier_context": self.carrier_context,
            "hotline": self.hotline,
            "extra_dialplan": self.extra_dialplan,
        }
        for template in sorted(TEMPLATES_DIR.glob("*.conf")):
            text = env.get_template(template.name).render(**context)
            (p.etc / template.name).write_text(text)
        for name in DIALPLAN_FILES:
            source = self.dialplan_dir / name
            if source.exists():
                shutil.copyfile(source, p.etc / name)
            else:
                (p.etc / name).write_text(f"; {name} missing from {self.dialplan_dir}\n")

    # ------------------------------------------------------------------ commands
    def _binds(self) -> list[str]:
        p = self.paths
        binds = [
            "--bind",
            str(p.etc),
            "/etc/asterisk",
            "--bind",
            str(p.spool),
            "/var/spool/asterisk",
            "--bind",
            str(p.log),
            "/var/log/asterisk",
            "--bind",
            str(p.run),
            "/run/asterisk",
        ]
        sounds = self.dialplan_dir / "sounds"
        if sounds.is_dir():
            binds += ["--ro-bind", str(sounds), "/usr/share/asterisk/sounds/masking"]
        return binds

    def _bwrap(self, *command: str, die_with_parent: bool = True) -> list[str]:
        assert self.rootfs is not None
        base = rootfs_mod.bwrap_base(self.rootfs)
        if not die_with_parent:
            base.remove("--die-with-parent")
        return [*base, *self._binds(), *command]

    @property
    def in_container(self) -> bool:
        return self.runtime == "container"

    @property
    def engine(self) -> containers.Engine:
        """The container engine of the ``container`` runtime."""
        if self._engine is None:
            self._engine = containers.find_engine()
        return self._engine

    def _container_run(self, image: str) -> list[str]:
        p = self.paths
        volumes = [
            f"{p.etc}:/etc/asterisk",
            f"{p.spool}:/var/spool/asterisk",
            f"{p.log}:/var/log/asterisk",
            f"{p.run}:/run/asterisk",
        ]
        sounds = self.dialplan_dir / "sounds"
        if sounds.is_dir():
            volumes.append(f"{sounds}:/usr/share/asterisk/sounds/masking:ro")
        return self.engine.command(
            "run",
            "--rm",
            "--pull",
            "never",
            "--name",
            self.name,
            "--network",
            "host",
            *(arg for volume in volumes for arg in ("--volume", volume)),
            image,
            "/usr/sbin/asterisk",
            "-f",
            "-C",
            "/etc/asterisk/asterisk.conf",
        )

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one Asterisk CLI command (``asterisk -rx``) and return its output."""
        env = None
        if self.in_container:
            argv = self.engine.command(
                "exec", self.name, "/usr/sbin/asterisk", "-C", "/etc/asterisk/asterisk.conf"
            )
            env = self.engine.env
        else:
            if self.rootfs is None:
                self.rootfs = rootfs_mod.ensure_rootfs(log=lambda _m: None)
            argv = self._bwrap("/usr/sbin/asterisk", "-C", "/etc/asterisk/asterisk.conf")
        argv += ["-rx", command]
        try:
            result = subprocess.run(
                argv, capture_output=True, timeout=timeout, check=False, env=env
            )
        except subprocess.TimeoutExpired as exc:
            raise AsteriskError(f"asterisk -rx {command!r} timed out") from exc
        out = result.stdout.decode(errors="replace")
        if result.returncode != 0:
            err = result.stderr.decode(errors="replace").strip()
            raise AsteriskError(f"asterisk -rx {command!r} failed ({result.returncode}): {err}")
        return out

    def wait_idle(self, timeout: float = 30.0, quiet: bool = False) -> None:
        """Wait (bounded) until no channel is left; ``quiet`` retries a failing CLI.

        ``quiet`` is for a caller that may have Asterisk down on purpose (the fault suite):
        a failing ``asterisk -rx`` is then retried until the deadline instead of raised.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                out = self.cli("core show channels count")
            except Exception:
                if not quiet:
                    raise
            else:
                match = re.search(r"(\d+) active channels?", out)
                if match is None or int(match.group(1)) == 0:
                    return
            time.sleep(0.5)

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 30.0) -> None:
        """Render the configuration, launch Asterisk and wait until it is fully booted.
        Also a restart after :meth:`stop` or :meth:`kill` (the spool, astdb and
        recordings stay)."""
        env = None
        if self.in_container:
            try:
                image = containers.asterisk_image(self.engine, log=self._log)
            except (containers.ContainerError, rootfs_mod.RootfsError) as exc:
                raise AsteriskError(f"no Asterisk image: {exc}") from exc
            self.engine.remove_container(self.name)  # left over by a killed run
            env = self.engine.env
        elif self.rootfs is None:
            self.rootfs = rootfs_mod.ensure_rootfs(log=self._log)
        self.render()
        ctl = self.paths.run / "asterisk.ctl"
        with contextlib.suppress(FileNotFoundError):
            ctl.unlink()
        if self.in_container:
            argv = self._container_run(image)
        else:
            argv = self._bwrap(
                "/usr/sbin/asterisk",
                "-f",
                "-C",
                "/etc/asterisk/asterisk.conf",
                die_with_parent=not self.detach,
            )
        started = time.monotonic()
        with open(self.output_file, "ab") as out:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        self.pid = self.process.pid
        if not self.detach:
            atexit.register(self.stop)
        try:
            self._wait_booted(started + timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        self._log(
            f"Asterisk {self.name} up in {self.started_in:.2f} s ({self.runtime}): SIP "
            f"udp/{self.sip_address}, AMI 127.0.0.1:{self.ports.ami_port}, RTP "
            f"{self.ports.rtp_start}-{self.ports.rtp_end}, state {self.state_dir}"
        )

    def _wait_booted(self, deadline: float) -> None:
        ctl = self.paths.run / "asterisk.ctl"
        last_error = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AsteriskError(
                    f"Asterisk exited with {self.process.returncode} while starting; "
                    f"last output:\n{tail(self.output_file)}\n{tail(self.log_file)}"
                )
            if ctl.exists():
                try:
                    left = max(1.0, deadline - time.monotonic())
                    self.cli("core waitfullybooted", timeout=left)
                    return
                except AsteriskError as exc:
                    last_error = str(exc)
            time.sleep(0.05)
        raise AsteriskError(
            f"Asterisk did not boot within the timeout ({last_error}); last output:\n"
            f"{tail(self.output_file)}\n{tail(self.log_file)}"
        )

    def running(self) -> bool:
        if self.process is not None and self.process.poll() is None:
            return True
        if self.in_container:
            # the container outlives a killed `podman run` (and another process's up)
            return self.engine.container_running(self.name)
        if self.process is not None:
            return False
        return self.pid is not None and _pid_alive(self.pid)

    def _process_alive(self) -> bool:
        """The process this instance launched (bwrap, or the `podman run` client)."""
        self._reap()
        if self.process is not None:
            return self.process.poll() is None
        return self.pid is not None and _pid_alive(self.pid)

    def _end_process(self, signals: tuple[signal.Signals, ...], wait: float = 3.0) -> None:
        """Wait for the launched process to exit, signalling its group if it does not
        (the container's client exits by itself once the container is gone)."""
        for sig in (None, *signals):
            if not self._process_alive():
                return
            if sig is not None and self.pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, sig)
            end = time.monotonic() + wait
            while time.monotonic() < end and self._process_alive():
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL Asterisk (a crash, for fault tests); :meth:`start` brings it back."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self.in_container:
            self.engine.run("kill", "--signal", "KILL", self.name, check=False)
            self.engine.remove_container(self.name)
            self._end_process((signal.SIGKILL,))
        elif self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            self._end_process((signal.SIGKILL,))

    def stop(self, timeout: float = 10.0) -> None:
        """``core stop now``, then SIGTERM/SIGKILL to the whole process group (the
        container removed)."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self.pid is None or not self.running():
            if self.in_container and self.pid is not None:
                self.engine.remove_container(self.name)
            self._end_process((signal.SIGTERM, signal.SIGKILL))
            return
        with contextlib.suppress(AsteriskError, OSError):
            self.cli("core stop now", timeout=5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running():
            self._reap()
            time.sleep(0.05)
        if self.in_container:
            self.engine.remove_container(self.name)
        self._end_process((signal.SIGTERM, signal.SIGKILL))

    def _reap(self) -> None:
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0)
        elif self.pid is not None:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(self.pid, os.WNOHANG)

    def status(self) -> dict[str, Any]:
        """Whether it runs, its ports and (when it answers) its uptime."""
        info: dict[str, Any] = {
            "name": self.name,
            "running": self.running(),
            "runtime": self.runtime,
            "pid": self.pid,
            "ports": asdict(self.ports),
            "state_dir": str(self.state_dir),
            "monitor_dir": str(self.monitor_dir),
        }
        if info["running"]:
            try:
                info["uptime"] = self.cli("core show uptime seconds", timeout=5).strip()
                info["answering"] = True
            except AsteriskError as exc:
                info["answering"] = False
                info["error"] = str(exc)
        return info

    def reload_dialplan(self) -> str:
        """Copy the dialplan files again and ``dialplan reload``."""
        for name in DIALPLAN_FILES:
            source = self.dialplan_dir / name
            if source.exists():
                shutil.copyfile(source, self.paths.etc / name)
        return self.cli("dialplan reload")

    def __enter__(self) -> LocalAsterisk:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ persisted state
    def _state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": self.pid,
            "ports": asdict(self.ports),
            "rootfs": str(self.rootfs) if self.rootfs else None,
            "runtime": self.runtime,
            "ami_username": self.ami_username,
            "ami_secret": self.ami_secret,
            "ami_reload_username": self.ami_reload_username,
            "ami_reload_secret": self.ami_reload_secret,
            "agi": self.agi,
            "agi_servers": self.agi_servers,
            "carrier": self.carrier,
            "phones": [asdict(p) for p in self.phones],
            "queues": [asdict(q) for q in self.queues],
            "hotline": self.hotline,
            "dialplan_dir": str(self.dialplan_dir),
            "started_at": time.time(),
        }

    @classmethod
    def from_state(cls, state_dir: Path, log: Any = print) -> LocalAsterisk | None:
        path = Path(state_dir) / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        instance = cls(
            Path(state_dir),
            Ports(**data["ports"]),
            ami_username=data.get("ami_username", "masking"),
            ami_secret=data.get("ami_secret", "masking"),
            ami_reload_username=data.get("ami_reload_username", "masking-reload"),
            ami_reload_secret=data.get("ami_reload_secret", "masking-reload"),
            agi=data.get("agi", "127.0.0.1:4573"),
            agi_servers=data.get("agi_servers", ""),
            carrier=data.get("carrier", "127.0.0.1:5070"),
            phones=[Phone(**p) for p in data.get("phones", [])],
            queues=[
                Queue(**{**q, "members": tuple(q["members"]), "dids": tuple(q["dids"])})
                for q in data.get("queues", [])
            ],
            hotline=data.get("hotline", ""),
            rootfs=Path(data["rootfs"]) if data.get("rootfs") else None,
            dialplan_dir=Path(data.get("dialplan_dir") or DIALPLAN_DIR),
            name=data.get("name"),
            detach=True,
            runtime=data.get("runtime", "bwrap"),
            log=log,
        )
        instance.pid = data.get("pid")
        return instance


# ---------------------------------------------------------------------- CLI-free API
def up(
    state_dir: Path,
    ports: Ports | None = None,
    *,
    phones: Iterable[Phone] | None = None,
    log: Any = print,
    **options: Any,
) -> LocalAsterisk:
    """Start a detached instance (it outlives this process) and record it in
    ``state_dir/asterisk.json``; an instance already running there is returned as is."""
    existing = LocalAsterisk.from_state(state_dir, log=log)
    if existing is not None and existing.running():
        log(f"Asterisk {existing.name} already runs (pid {existing.pid})")
        return existing
    instance = LocalAsterisk(
        Path(state_dir),
        ports or Ports(),
        phones=tuple(phones) if phones is not None else None,
        detach=True,
        log=log,
        **options,
    )
    instance.start()
    path = Path(state_dir) / STATE_FILE
    path.write_text(json.dumps(instance._state(), indent=2) + "\n")
    return instance


def down(state_dir: Path, log: Any = print) -> bool:
    """Stop the instance recorded in state_dir; False when none was running."""
    instance = LocalAsterisk.from_state(state_dir, log=log)
    if instance is None:
        return False
    was_running = instance.running()
    instance.stop()
    with contextlib.suppress(FileNotFoundError):
        (Path(state_dir) / STATE_FILE).unlink()
    if was_running:
        log(f"Asterisk {instance.name} stopped")
    return was_running


def status(state_dir: Path) -> dict[str, Any]:
    """The recorded instance's status ({"running": False} when there is none)."""
    instance = LocalAsterisk.from_state(state_dir, log=lambda _m: None)
    if instance is None:
        return {"running": False, "state_dir": str(state_dir)}
    return instance.status()
