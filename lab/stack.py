"""The compose stack (docker/compose.yaml) on this machine's host network, with podman.

Debian's podman-compose refuses ``network_mode: host`` and these machines cannot pull
from Docker Hub, so this runner reads the compose file itself and starts one container
per service (``<engine> run --network host``), in the order of ``depends_on``:

* images: the services with ``build`` are built from their Dockerfile on the local bases
  (:mod:`lab.containers`); the Docker Hub images (``redis:7``, ``postgres:17``) are
  replaced by local stand-ins of the same interface (``docker/podman/Dockerfile.*``);
* the host network: each service moves to free ports on 127.0.0.1 (:class:`StackPorts`);
  the environment is rewritten (service names and fixed addresses -> 127.0.0.1, their
  ports -> the chosen ones); Asterisk's configuration files that name ports or the
  compose network are rewritten copies mounted over the image's (:func:`asterisk_overrides`),
  with the lab's simulated desk phone and carrier for the demo;
* secrets: the ``${...:?}`` variables of the compose file come from the environment or
  are generated, and stay in the state directory (mode 0600) for the next ``up``;
* named volumes become ``<project>_<name>`` volumes of the engine; ``ports``, ``networks``
  and ``restart`` mean nothing on the host network and are ignored; any other key is an
  error (the runner must learn it before the compose file may use it).

``masking stack up | status | demo | down`` (lab/cli.py) drive it; ``demo`` places the
demo call (lab/demo.py) through the stack's Asterisk and service.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from lab import containers
from lab.asterisk.local import Ports, free_port
from lab.ports import port_open
from lab.sipp import free_udp_port

COMPOSE_FILE = containers.DOCKER_DIR / "compose.yaml"
STATE_FILE = "stack.json"
# compose keys the runner understands; "ports", "networks", "restart": see the docstring
KNOWN_KEYS = frozenset(
    {
        "build",
        "image",
        "restart",
        "ports",
        "environment",
        "volumes",
        "networks",
        "depends_on",
        "command",
        "healthcheck",
    }
)
LOOPBACK = "127.0.0.1"
LABEL = "io.masking.stack"

Log = Callable[[str], None]


class StackError(RuntimeError):
    """The compose file says something the runner cannot do, or a service did not come up."""


# ---------------------------------------------------------------------- the compose file
@dataclass(frozen=True)
class Healthcheck:
    command: tuple[str, ...]
    interval: float
    retries: int


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    dockerfile: Path | None
    environment: dict[str, str]
    volumes: tuple[tuple[str, str], ...]  # (named volume, path in the container)
    depends_on: dict[str, str]  # service -> condition
    command: tuple[str, ...]
    healthcheck: Healthcheck | None
    addresses: tuple[str, ...]  # fixed addresses on the compose network


@dataclass(frozen=True)
class Compose:
    project: str
    services: dict[str, Service]
    variables: tuple[str, ...]  # the ${NAME} the file uses

    def ordered(self) -> list[Service]:
        """The services, each after those it depends on."""
        done: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done:
                return
            if name in path:
                raise StackError(f"depends_on cycle: {' -> '.join((*path, name))}")
            for dependency in self.services[name].depends_on:
                visit(dependency, (*path, name))
            done.append(name)

        for name in self.services:
            visit(name, ())
        return [self.services[name] for name in done]


_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\})")


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}``, ``${NAME:?message}`` and ``$$``."""

    def value(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if name is None:
            return "$"
        current = variables.get(name)
        if operator in (":-", "-"):
            empty = current is None or (operator == ":-" and current == "")
            return argument if empty else str(current)
        if operator in (":?", "?") and (current is None or (operator == ":?" and not current)):
            raise StackError(f"{name}: {argument or 'is required'}")
        return current or ""

    return _VARIABLE.sub(value, text)


def _seconds(value: str | float | int) -> float:
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", value.strip())
    if not match:
        raise StackError(f"cannot read the duration {value!r}")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number / 1000 if unit == "ms" else number * 60 if unit == "m" else number


def _healthcheck(raw: dict[str, Any] | None) -> Healthcheck | None:
    if not raw:
        return None
    test = raw.get("test")
    if isinstance(test, str):
        command: tuple[str, ...] = ("sh", "-c", test)
    elif isinstance(test, list) and test and test[0] == "CMD-SHELL":
        command = ("sh", "-c", " ".join(test[1:]))
    elif isinstance(test, list) and test and test[0] == "CMD":
        command = tuple(str(part) for part in test[1:])
    else:
        raise StackError(f"cannot read the healthcheck test {test!r}")
    return Healthcheck(command, _seconds(raw.get("interval", "5s")), int(raw.get("retries", 10)))


def load_compose(path: Path = COMPOSE_FILE, variables: dict[str, str] | None = None) -> Compose:
    """Read the compose file (``variables`` fill its ``${...}``; None: leave them, to list
    them)."""
    import yaml  # a lab dependency (the dev extra), not the service's

    text = path.read_text()
    used = tuple(sorted({m.group(1) for m in _VARIABLE.finditer(text) if m.group(1)}))
    data = yaml.safe_load(interpolate(text, variables) if variables is not None else text)
    services: dict[str, Service] = {}
    for name, raw in (data.get("services") or {}).items():
        unknown = set(raw) - KNOWN_KEYS
        if unknown:
            raise StackError(f"service {name}: the runner does not know {sorted(unknown)}")
        dockerfile = None
        if "build" in raw:
            build = raw["build"]
            context = (path.parent / build.get("context", ".")).resolve()
            dockerfile = (context / build.get("dockerfile", "Dockerfile")).resolve()
        volumes = []
        for volume in raw.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if source.startswith((".", "/")):
                raise StackError(f"service {name}: bind mounts are not supported ({volume})")
            volumes.append((source, target))
        depends = raw.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {d: {"condition": "service_started"} for d in depends}
        networks = raw.get("networks") or {}
        addresses = tuple(
            str(settings["ipv4_address"])
            for settings in (networks.values() if isinstance(networks, dict) else [])
            if isinstance(settings, dict) and "ipv4_address" in settings
        )
        services[name] = Service(
            name=name,
            image=str(raw["image"]),
            dockerfile=dockerfile,
            environment={k: str(v) for k, v in (raw.get("environment") or {}).items()},
            volumes=tuple(volumes),
            depends_on={d: c.get("condition", "service_started") for d, c in depends.items()},
            command=tuple(str(part) for part in raw.get("command") or ()),
            healthcheck=_healthcheck(raw.get("healthcheck")),
            addresses=addresses,
        )
    return Compose(str(data.get("name", "masking")), services, used)


# ---------------------------------------------------------------------- the host network
@dataclass(frozen=True)
class StackPorts:
    """Where each service listens on 127.0.0.1 (and the lab's SIPp carrier)."""

    sip: int
    ami: int
    rtp_start: int
    rtp_end: int
    agi: int
    http: int
    redis: int
    postgres: int
    carrier: int

    @classmethod
    def free(cls) -> StackPorts:
        asterisk = Ports.free()
        tcp = socket.SOCK_STREAM
        return cls(
            sip=asterisk.sip_port,
            ami=asterisk.ami_port,
            rtp_start=asterisk.rtp_start,
            rtp_end=asterisk.rtp_end,
            agi=free_port(tcp),
            http=free_port(tcp),
            redis=free_port(tcp),
            postgres=free_port(tcp),
            carrier=free_udp_port(),
        )

    def of(self, service: str) -> dict[int, int]:
        """The compose network's ports of a service -> its ports here."""
        return {
            "asterisk": {5038: self.ami, 5060: self.sip},
            "masking": {4573: self.agi, 8080: self.http},
            "redis": {6379: self.redis},
            "postgres": {5432: self.postgres},
        }.get(service, {})


def host_network_environment(
    environment: dict[str, str], compose: Compose, ports: StackPorts
) -> dict[str, str]:
    """A service's environment with the compose network's names, addresses and ports
    replaced by 127.0.0.1 and the ports here: ``postgres:5432`` -> ``127.0.0.1:<port>``, a
    fixed address -> ``127.0.0.1``, ``X_HOST: asterisk`` -> ``127.0.0.1`` and the ``X_PORT``
    beside it -> Asterisk's port here."""
    names = set(compose.services)
    fixed = {address for s in compose.services.values() for address in s.addresses}
    host_of = {
        key[: -len("_HOST")]: value for key, value in environment.items() if key.endswith("_HOST")
    }

    def move(match: re.Match[str]) -> str:
        name, port = match.group(1), int(match.group(2))
        mapped = ports.of(name).get(port)
        if mapped is None:
            raise StackError(f"no port here for {name}:{port}")
        return f"{LOOPBACK}:{mapped}"

    result = {}
    for key, value in environment.items():
        if value in fixed or (key.endswith("_HOST") and value in names):
            value = LOOPBACK
        elif key.endswith("_PORT") and host_of.get(key[: -len("_PORT")]) in names:
            service = host_of[key[: -len("_PORT")]]
            value = str(ports.of(service).get(int(value), value))
        else:
            pattern = r"\b(" + "|".join(map(re.escape, sorted(names))) + r"):(\d+)\b"
            value = re.sub(pattern, move, value)
            for address in fixed:
                value = value.replace(address, LOOPBACK)
        result[key] = value
    return result


def _rewrite(name: str, text: str, changes: list[tuple[str, str, int]]) -> str:
    """Apply ``(old, new, times)``; each must occur exactly that often, so a change of the
    shipped file cannot slip past the runner unnoticed."""
    for old, new, times in changes:
        found = text.count(old)
        if found != times:
            raise StackError(f"{name}: expected {old!r} {times} time(s), found {found}")
        text = text.replace(old, new)
    return text


def lab_phones(desk_password: str) -> str:
    """The lab's simulated desk phone, added like an admin adds one (the sample's
    templates): desk1, digest auth, the desk phones' context."""
    return (
        "\n; ---- added by lab/stack.py: the lab's simulated desk phone (SIPp)\n"
        "[desk1](masking-desk)\nauth = desk1\naors = desk1\n\n"
        f"[desk1](masking-desk-auth)\nusername = desk1\npassword = {desk_password}\n\n"
        "[desk1](masking-desk-aor)\n"
    )


def asterisk_overrides(ports: StackPorts, desk_password: str) -> dict[str, str]:
    """The stack's Asterisk files that must change on the host network, rewritten from
    the shipped ones (docker/asterisk, dialplan/pjsip.sample.conf) -> their text."""
    docker = containers.DOCKER_DIR / "asterisk"
    dialplan = containers.REPOSITORY / "dialplan"
    network = "permit = 172.30.45.0/255.255.255.0"
    return {
        "manager.conf": _rewrite(
            "manager.conf",
            (docker / "manager.conf").read_text(),
            [
                ("bindaddr = 0.0.0.0", f"bindaddr = {LOOPBACK}", 1),
                ("port = 5038", f"port = {ports.ami}", 1),
                (network, f"permit = {LOOPBACK}/255.255.255.255", 2),
            ],
        ),
        "rtp.conf": _rewrite(
            "rtp.conf",
            (docker / "rtp.conf").read_text(),
            [
                ("rtpstart = 10000", f"rtpstart = {ports.rtp_start}", 1),
                ("rtpend = 10099", f"rtpend = {ports.rtp_end}", 1),
            ],
        ),
        "extensions.conf": _rewrite(
            "extensions.conf",
            (docker / "extensions.conf").read_text(),
            [("agi://masking:4573", f"agi://{LOOPBACK}:{ports.agi}", 1)],
        ),
        "pjsip.conf": _rewrite(
            "pjsip.conf",
            (dialplan / "pjsip.sample.conf").read_text(),
            [
                ("bind = 0.0.0.0:5060", f"bind = {LOOPBACK}:{ports.sip}", 1),
                # the lab's SIPp carrier answers INVITEs only: no OPTIONS pings to it
                (
                    "contact = sip:sip.carrier.example:5060\nqualify_frequency = 60",
                    f"contact = sip:{LOOPBACK}:{ports.carrier}\nqualify_frequency = 0",
                    1,
                ),
            ],
        )
        + lab_phones(desk_password),
    }


# ---------------------------------------------------------------------- the runner
@dataclass
class StackState:
    project: str
    ports: StackPorts
    secrets: dict[str, str]
    containers: dict[str, str] = field(default_factory=dict)  # service -> container
    volumes: list[str] = field(default_factory=list)
    engine: str = "podman"
    started_at: float = 0.0


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


class Stack:
    """The compose stack of one project, its state kept in ``state_dir``."""

    def __init__(
        self,
        state_dir: Path,
        *,
        project: str | None = None,
        compose_file: Path = COMPOSE_FILE,
        engine: containers.Engine | None = None,
        log: Log = print,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.compose_file = compose_file
        self.project = project
        self._engine = engine
        self.log = log

    @property
    def engine(self) -> containers.Engine:
        if self._engine is None:
            self._engine = containers.find_engine()
        return self._engine

    # ------------------------------------------------------------------ state
    def state(self) -> StackState | None:
        try:
            data = json.loads((self.state_dir / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        return StackState(
            project=data["project"],
            ports=StackPorts(**data["ports"]),
            secrets=data["secrets"],
            containers=data.get("containers", {}),
            volumes=data.get("volumes", []),
            engine=data.get("engine", "podman"),
            started_at=data.get("started_at", 0.0),
        )

    def _save(self, state: StackState) -> None:
        _write_private(self.state_dir / STATE_FILE, json.dumps(asdict(state), indent=2) + "\n")

    def _variables(self, compose: Compose, previous: StackState | None) -> dict[str, str]:
        """The compose file's variables: the environment, else the last run's, else new
        random secrets (hex: fit for the AGI URL and the AMI)."""
        found = {}
        for name in compose.variables:
            value = os.environ.get(name) or (previous.secrets.get(name) if previous else None)
            found[name] = value or secrets.token_hex(24)
        return found

    # ------------------------------------------------------------------ up
    def up(self, timeout: float = 120.0) -> StackState:
        """Build what is missing, start every service on free ports, wait until each is
        ready (the service connected to Asterisk's AMI); a running stack is returned."""
        previous = self.state()
        if previous is not None and self._all_running(previous):
            self.log(f"stack {previous.project} already runs")
            return previous
        if previous is not None and previous.containers:
            self.down()
        started = time.monotonic()
        compose = load_compose(self.compose_file)
        variables = self._variables(compose, previous)
        compose = load_compose(self.compose_file, variables)
        project = self.project or (previous.project if previous else compose.project)
        state = StackState(
            project,
            StackPorts.free(),
            variables,
            volumes=previous.volumes if previous else [],
            engine=self.engine.name,
        )
        state.started_at = time.time()
        images = {s.name: self._image(s) for s in compose.ordered()}
        self._save(state)
        try:
            for service in compose.ordered():
                self._wait_dependencies(service, compose, state, started + timeout)
                self._run(service, compose, state, images[service.name])
                self._save(state)
            self._wait_ready(compose, state, started + timeout)
        except BaseException:
            self.log("the stack did not come up; its containers' last output:")
            for name in state.containers.values():
                self.log(self._logs(name))
            self.down()
            raise
        self.log(
            f"stack {project} up in {time.monotonic() - started:.1f} s: SIP udp/{LOOPBACK}:"
            f"{state.ports.sip}, console http://{LOOPBACK}:{state.ports.http}/"
        )
        return state

    def _image(self, service: Service) -> str:
        engine, log = self.engine, self.log
        if service.dockerfile is None:
            return containers.stand_in_image(engine, service.image, log)
        known = {
            containers.ASTERISK_IMAGE: (containers.DOCKER_DIR / "Dockerfile", "asterisk"),
            containers.SERVICE_IMAGE: (containers.DOCKER_DIR / "Dockerfile.masking", "service"),
        }
        if service.image not in known or known[service.image][0] != service.dockerfile:
            raise StackError(
                f"service {service.name}: the runner builds {sorted(known)} from "
                f"docker/Dockerfile*, not {service.image} from {service.dockerfile}"
            )
        if known[service.image][1] == "asterisk":
            return containers.asterisk_image(engine, log)
        return containers.service_image(engine, log)

    def _listen_here(
        self, service: Service, ports: StackPorts
    ) -> tuple[dict[str, str], tuple[str, ...], dict[str, str]]:
        """What moves a service onto its ports on 127.0.0.1: extra environment, its
        command, and configuration files mounted over the image's."""
        if service.name == "masking":
            env = {
                "MASKING_AGI_HOST": LOOPBACK,
                "MASKING_AGI_PORT": str(ports.agi),
                "MASKING_HTTP_HOST": LOOPBACK,
                "MASKING_HTTP_PORT": str(ports.http),
            }
            return env, service.command, {}
        if service.name == "redis":
            command = service.command or ("redis-server",)
            return {}, (*command, "--bind", LOOPBACK, "--port", str(ports.redis)), {}
        if service.name == "postgres":
            command = service.command or ("postgres",)
            # PGPORT: the server's port and pg_isready's (the healthcheck) alike
            listen = ("-c", f"listen_addresses={LOOPBACK}")
            return {"PGPORT": str(ports.postgres)}, (*command, *listen), {}
        if service.name == "asterisk":
            from lab.demo import DESK_PASSWORD

            return {}, service.command, asterisk_overrides(ports, DESK_PASSWORD)
        raise StackError(f"the runner does not know how to move {service.name} to this host")

    def _run(self, service: Service, compose: Compose, state: StackState, image: str) -> None:
        name = f"{state.project}-{service.name}"
        extra_env, command, files = self._listen_here(service, state.ports)
        env = {**host_network_environment(service.environment, compose, state.ports), **extra_env}
        env_file = self.state_dir / "env" / f"{service.name}.env"
        _write_private(env_file, "".join(f"{k}={v}\n" for k, v in env.items()))
        mounts = []
        for volume, target in service.volumes:
            volume_name = f"{state.project}_{volume}"
            if volume_name not in state.volumes:
                state.volumes.append(volume_name)
            mounts += ["--volume", f"{volume_name}:{target}"]
        for file_name, text in files.items():
            path = self.state_dir / "config" / service.name / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            mounts += ["--volume", f"{path}:/etc/asterisk/{file_name}:ro"]
        self.engine.remove_container(name)
        self.engine.run(
            "run",
            "--detach",
            "--pull",
            "never",
            "--name",
            name,
            "--network",
            "host",
            "--label",
            f"{LABEL}={state.project}",
            "--env-file",
            str(env_file),
            *mounts,
            image,
            *command,
            timeout=60,
        )
        state.containers[service.name] = name
        self.log(f"  started {service.name} ({image})")

    def _healthy(self, service: Service, state: StackState) -> bool:
        name = state.containers.get(service.name)
        if name is None:
            return False
        if not self.engine.container_running(name):
            raise StackError(f"{service.name} exited:\n{self._logs(name)}")
        if service.healthcheck is not None:
            return (
                self.engine.run("exec", name, *service.healthcheck.command, check=False).returncode
                == 0
            )
        return self._ready(service, state)

    def _ready(self, service: Service, state: StackState) -> bool:
        """The runner's own readiness: the service's ports answer (Asterisk: booted)."""
        name = state.containers[service.name]
        if service.name == "asterisk":
            booted = self.engine.run(
                "exec", name, "asterisk", "-rx", "core waitfullybooted", check=False, timeout=30
            )
            return booted.returncode == 0
        return all(port_open(port, LOOPBACK) for port in state.ports.of(service.name).values())

    def _wait(self, what: str, check: Callable[[], bool], deadline: float) -> None:
        while not check():
            if time.monotonic() > deadline:
                raise StackError(f"{what} within the timeout")
            time.sleep(0.25)

    def _wait_dependencies(
        self, service: Service, compose: Compose, state: StackState, deadline: float
    ) -> None:
        for name, condition in service.depends_on.items():
            dependency = compose.services[name]
            if condition == "service_healthy":
                self._wait(
                    f"{name} was not healthy",
                    partial(self._healthy, dependency, state),
                    deadline,
                )
            else:
                container = state.containers[name]
                self._wait(
                    f"{name} did not start",
                    partial(self.engine.container_running, container),
                    deadline,
                )

    def _wait_ready(self, compose: Compose, state: StackState, deadline: float) -> None:
        for service in compose.ordered():
            self._wait(
                f"{service.name} was not ready", partial(self._healthy, service, state), deadline
            )
        username = compose.services["masking"].environment.get("MASKING_AMI_USERNAME", "masking")
        self._wait(
            "the service did not log in to Asterisk's AMI",
            lambda: username in self.cli("manager show connected", state),
            deadline,
        )

    # ------------------------------------------------------------------ use
    def cli(self, command: str, state: StackState | None = None) -> str:
        """``asterisk -rx`` in the stack's Asterisk."""
        state = state or self.state()
        if state is None or "asterisk" not in state.containers:
            raise StackError("no stack runs here")
        result = self.engine.run(
            "exec", state.containers["asterisk"], "asterisk", "-rx", command, check=False
        )
        return result.stdout

    def _logs(self, container: str, lines: int = 20) -> str:
        result = self.engine.run("logs", "--tail", str(lines), container, check=False)
        return f"--- {container}\n{(result.stdout + result.stderr).strip()}"

    def _all_running(self, state: StackState) -> bool:
        return bool(state.containers) and all(
            self.engine.container_running(name) for name in state.containers.values()
        )

    def status(self) -> dict[str, Any]:
        state = self.state()
        if state is None:
            return {"running": False, "state_dir": str(self.state_dir)}
        services = {
            service: self.engine.container_running(name)
            for service, name in state.containers.items()
        }
        return {
            "running": bool(services) and all(services.values()),
            "project": state.project,
            "services": services,
            "ports": asdict(state.ports),
            "volumes": state.volumes,
            "state_dir": str(self.state_dir),
        }

    def volume_path(self, volume: str, state: StackState | None = None) -> Path:
        """Where a named volume of the stack lives on this machine."""
        state = state or self.state()
        assert state is not None
        result = self.engine.run(
            "volume", "inspect", "--format", "{{.Mountpoint}}", f"{state.project}_{volume}"
        )
        return Path(result.stdout.strip())

    # ------------------------------------------------------------------ down
    def down(self, *, volumes: bool = False) -> bool:
        """Stop and remove the containers (last started first); ``volumes``: the data and
        the state too (else the next ``up`` finds its data, secrets and project again).
        False when no stack was recorded here."""
        state = self.state()
        if state is None:
            return False
        for name in reversed(list(state.containers.values())):
            self.engine.run("stop", "--time", "5", name, check=False, timeout=30)
            self.engine.remove_container(name)
        state.containers = {}
        for path in (self.state_dir / "env").glob("*.env"):
            path.unlink()
        if volumes:
            for volume in state.volumes:
                self.engine.run("volume", "rm", "--force", volume, check=False)
            (self.state_dir / STATE_FILE).unlink()
        else:
            self._save(state)
        self.log(f"stack {state.project} down" + (" (volumes removed)" if volumes else ""))
        return True


def demo(stack: Stack, say: Log = print) -> dict[str, Any]:
    """The demo call (lab/demo.py) through a running stack: the demo data is seeded into
    the stack's PostgreSQL and Redis from here, desk1 (SIPp) dials the stack's Asterisk,
    the service in its container decides, the lab's SIPp carrier answers."""
    from lab.demo import masked_call
    from masking.config import load_settings
    from masking.service import MaskingService

    state = stack.state()
    if state is None or not stack.status()["running"]:
        raise StackError(f"no stack runs in {stack.state_dir} (masking stack up)")
    compose = load_compose(stack.compose_file, state.secrets)
    here = host_network_environment(compose.services["masking"].environment, compose, state.ports)
    settings = load_settings(
        var_dir=stack.state_dir / "demo",
        database_url=here["MASKING_DATABASE_URL"],
        redis_url=here["MASKING_REDIS_URL"],
    )
    service = MaskingService.from_settings(settings)
    result: dict[str, Any] = {"steps": []}

    def step(name: str, detail: str = "") -> None:
        result["steps"].append({"step": name, "ok": True, "detail": detail})
        say(f"  ok  {name}" + (f": {detail}" if detail else ""))

    try:
        masked_call(
            service,
            sip_address=f"{LOOPBACK}:{state.ports.sip}",
            carrier_port=state.ports.carrier,
            workdir=stack.state_dir / "demo" / "sipp",
            recordings_dir=stack.volume_path("recordings", state),
            step=step,
            result=result,
        )
    finally:
        service.close()
    return result
