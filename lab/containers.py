"""Containers on this machine: the engine, the local base images, the project's images.

The engine is podman when installed (Debian's ``podman`` with ``runc``; every call names
the project's ``docker/podman/containers.conf`` in ``CONTAINERS_CONF``: runc, resource
limits the machine allows, the host network), else Docker when an engine answers.

Nothing is pulled from a registry. Two local base images are made once and kept in the
engine's storage (rebuilt when their recipe changes):

* ``masking-base``: Debian unstable from ``mmdebstrap``, trusting the CAs the host adds
  (``/usr/local/share/ca-certificates``: a TLS-intercepting proxy's), the ``BASE`` of the
  service image and of the stand-ins for the compose stack's Redis and PostgreSQL;
* ``masking-asterisk-base``: the lab's cached Asterisk root filesystem
  (:mod:`lab.asterisk.rootfs`) imported as it is, the ``BASE`` of the Asterisk image:
  the container runs the very Asterisk the bwrap tests run, downloaded once.

The images themselves are built from ``docker/`` with ``--build-arg BASE=...`` (Docker
users build the same files FROM ``debian:sid``); the engine's layer cache makes a build
of unchanged sources take about a second.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.asterisk import rootfs as rootfs_mod
from lab.processes import tail

REPOSITORY = Path(__file__).resolve().parent.parent
DOCKER_DIR = REPOSITORY / "docker"
CONTAINERS_CONF = DOCKER_DIR / "podman" / "containers.conf"
# images of docker/compose.yaml (tests/lab/test_containers.py keeps them in step)
ASTERISK_IMAGE = "masking-asterisk:22"
SERVICE_IMAGE = "masking:latest"
# stand-ins for the compose stack's Docker Hub images, built from the local base
STAND_INS = {
    "redis:7": ("masking-redis:local", DOCKER_DIR / "podman" / "Dockerfile.redis"),
    "postgres:17": ("masking-postgres:local", DOCKER_DIR / "podman" / "Dockerfile.postgres"),
}
BASE_REPOSITORY = "masking-base"
ASTERISK_BASE_REPOSITORY = "masking-asterisk-base"
# every image the lab builds carries this label (stale ones are pruned by it)
LAB_LABEL = "io.masking.lab=1"
# Bumped when the base recipe changes (the local CAs count too, see _base_recipe).
BASE_RECIPE = 1
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")

Log = Callable[[str], None]


class ContainerError(RuntimeError):
    """No engine, or an image could not be made."""


def _cache_dir() -> Path:
    return rootfs_mod.default_cache_dir().parent


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One process at a time makes base images and builds (parallel test runs)."""
    path = _cache_dir() / "containers.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Engine:
    """A container engine's command line: ``podman`` (with the project's
    containers.conf) or ``docker``."""

    name: str
    binary: str

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.name == "podman":
            env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
        return env

    def command(self, *args: str) -> list[str]:
        return [self.binary, *args]

    def run(
        self, *args: str, timeout: float = 60.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                self.command(*args),
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ContainerError(f"{self.name} {args[0]} timed out after {timeout:.0f} s") from exc
        if check and result.returncode != 0:
            message = (result.stderr or result.stdout).strip()[-2000:]
            raise ContainerError(f"{self.name} {' '.join(args[:2])} failed: {message}")
        return result

    def image_exists(self, image: str) -> bool:
        return (
            self.run("image", "inspect", "--format", "{{.Id}}", image, check=False).returncode == 0
        )

    def images(self, repository: str) -> list[str]:
        """``repository:tag`` of the local images of a repository."""
        out = self.run(
            "images", "--format", "{{.Repository}}:{{.Tag}}", repository, check=False
        ).stdout
        return [line.strip() for line in out.splitlines() if line.strip()]

    def container_running(self, name: str) -> bool:
        result = self.run(
            "container", "inspect", "--format", "{{.State.Running}}", name, check=False
        )
        return result.returncode == 0 and result.stdout.strip() == "true"

    def remove_container(self, name: str) -> None:
        # podman waits 10 s for a running container unless told not to; docker kills it
        wait = ("--time", "0") if self.name == "podman" else ()
        self.run("rm", "--force", *wait, name, check=False, timeout=30)


def _require(tool: str) -> str:
    try:
        return rootfs_mod.require_tool(tool)
    except rootfs_mod.RootfsError as exc:
        raise ContainerError(str(exc)) from exc


def find_engine() -> Engine:
    """podman when installed (it needs runc here), else Docker when its engine answers."""
    podman = shutil.which("podman")
    if podman is not None:
        _require("runc")
        return Engine("podman", podman)
    if rootfs_mod.docker_available():
        return Engine("docker", shutil.which("docker") or "docker")
    raise ContainerError(
        "no container engine: install podman and runc (apt-get install podman runc; "
        "./dev test does it) or start a Docker engine"
    )


# ---------------------------------------------------------------------- base images
def _local_cas() -> list[Path]:
    if not LOCAL_CA_DIR.is_dir():
        return []
    return sorted(p for p in LOCAL_CA_DIR.rglob("*.crt") if p.is_file())


def _base_recipe() -> tuple[list[str], str]:
    """The mmdebstrap command of the Debian base and the tag naming its recipe."""
    cas = _local_cas()
    command = [
        _require("mmdebstrap"),
        "--variant=apt",
        "--quiet",
        '--aptopt=Acquire::Check-Valid-Until "false"',
        "--include=ca-certificates",
    ]
    if cas:
        command += [
            f"--customize-hook=copy-in {' '.join(map(str, cas))} {LOCAL_CA_DIR}/",
            '--customize-hook=chroot "$1" update-ca-certificates',
        ]
    command += [rootfs_mod.SUITE, "-"]
    mirror = os.environ.get("MASKING_DEBIAN_MIRROR")
    if mirror:
        command.append(mirror)
    digest = hashlib.sha256(str(BASE_RECIPE).encode())
    digest.update(" ".join(command[1:]).encode())
    for ca in cas:
        digest.update(ca.read_bytes())
    return command, f"{BASE_REPOSITORY}:{rootfs_mod.SUITE}-{digest.hexdigest()[:12]}"


def _import(engine: Engine, producer: Sequence[str], tag: str, what: str) -> None:
    """``producer`` writes a root filesystem as a tar stream; the engine imports it."""
    with subprocess.Popen(list(producer), stdout=subprocess.PIPE, stderr=subprocess.PIPE) as making:
        assert making.stdout is not None
        imported = subprocess.run(
            engine.command(
                "import",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                f"LABEL {LAB_LABEL}",
                "-",
                tag,
            ),
            stdin=making.stdout,
            env=engine.env,
            capture_output=True,
            text=True,
            check=False,
        )
        making.stdout.close()
        made_error = making.stderr.read().decode(errors="replace") if making.stderr else ""
        making.wait()
    if making.returncode != 0 or imported.returncode != 0:
        detail = made_error.strip()[-1500:] or imported.stderr.strip()[-1500:]
        raise ContainerError(f"making {what} failed: {detail}")


def _drop_other_tags(engine: Engine, repository: str, keep: str) -> None:
    for image in engine.images(repository):
        if image.split("/")[-1] != keep:
            engine.run("rmi", image, check=False)


def debian_base(engine: Engine, log: Log = print) -> str:
    """The local Debian unstable base image (made once, ~15-40 s)."""
    command, tag = _base_recipe()
    if engine.image_exists(tag):
        return tag
    with _locked():
        if not engine.image_exists(tag):
            log(f"making the Debian base image {tag} (mmdebstrap, once)")
            started = time.monotonic()
            _import(engine, command, tag, "the Debian base image")
            log(f"base image ready in {time.monotonic() - started:.1f} s")
            _drop_other_tags(engine, BASE_REPOSITORY, tag)
    return tag


def asterisk_base(engine: Engine, root: Path, log: Log = print) -> str:
    """The lab's Asterisk root filesystem as an image (imported once per build of it)."""
    info = rootfs_mod.marker(root)
    if not info:
        raise ContainerError(f"{root} is not a complete Asterisk root filesystem")
    digest = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()[:12]
    tag = f"{ASTERISK_BASE_REPOSITORY}:{digest}"
    if engine.image_exists(tag):
        return tag
    with _locked():
        if not engine.image_exists(tag):
            log(f"importing the Asterisk root filesystem as {tag} (once)")
            started = time.monotonic()
            tar = [_require("tar"), "--numeric-owner", "-C", str(root), "-cf", "-", "."]
            _import(engine, tar, tag, "the Asterisk base image")
            log(f"Asterisk base image ready in {time.monotonic() - started:.1f} s")
            _drop_other_tags(engine, ASTERISK_BASE_REPOSITORY, tag)
    return tag


# ---------------------------------------------------------------------- project images
def build(engine: Engine, dockerfile: Path, tag: str, base: str, log: Log = print) -> str:
    """``<engine> build -f dockerfile --build-arg BASE=base -t tag`` from the repository
    root; the build log goes to the cache directory, its tail into the error."""
    if not dockerfile.is_file():
        raise ContainerError(f"{dockerfile} is missing (the container path needs a checkout)")
    build_log = _cache_dir() / "containers" / f"build-{tag.replace(':', '-')}.log"
    build_log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with _locked(), open(build_log, "w") as out:
        result = subprocess.run(
            engine.command(
                "build",
                "--network",
                "host",
                "--file",
                str(dockerfile),
                "--tag",
                tag,
                "--build-arg",
                f"BASE={base}",
                "--label",
                LAB_LABEL,
                str(REPOSITORY),
            ),
            env=engine.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise ContainerError(f"building {tag} failed; the end of {build_log}:\n{tail(build_log)}")
    seconds = time.monotonic() - started
    if seconds > 5:
        log(f"image {tag} built in {seconds:.1f} s")
    prune(engine)
    return tag


def prune(engine: Engine) -> None:
    """Remove the lab's images that lost their tag to a newer build."""
    engine.run(
        "image", "prune", "--force", "--filter", f"label={LAB_LABEL}", check=False, timeout=120
    )


_built: dict[tuple[str, str], str] = {}


def _once(engine: Engine, key: str, make: Callable[[], str]) -> str:
    """Build an image once per process (a test session asks for it many times)."""
    cached = _built.get((engine.name, key))
    if cached is None:
        cached = _built[(engine.name, key)] = make()
    return cached


def asterisk_image(engine: Engine, log: Log = print) -> str:
    """The Asterisk image (docker/Dockerfile) FROM the lab's Asterisk root filesystem."""

    def make() -> str:
        root = rootfs_mod.ensure_rootfs(log=log)
        base = asterisk_base(engine, root, log)
        return build(engine, DOCKER_DIR / "Dockerfile", ASTERISK_IMAGE, base, log)

    return _once(engine, ASTERISK_IMAGE, make)


def service_image(engine: Engine, log: Log = print) -> str:
    """The service image (docker/Dockerfile.masking) FROM the local Debian base."""
    return _once(
        engine,
        SERVICE_IMAGE,
        lambda: build(
            engine, DOCKER_DIR / "Dockerfile.masking", SERVICE_IMAGE, debian_base(engine, log), log
        ),
    )


def stand_in_image(engine: Engine, image: str, log: Log = print) -> str:
    """The local stand-in for a Docker Hub image of the compose file (``redis:7``...)."""
    if image not in STAND_INS:
        raise ContainerError(
            f"no local stand-in for {image} (known: {', '.join(sorted(STAND_INS))})"
        )
    tag, dockerfile = STAND_INS[image]
    return _once(engine, tag, lambda: build(engine, dockerfile, tag, debian_base(engine, log), log))
