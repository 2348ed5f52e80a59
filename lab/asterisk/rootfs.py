"""A root filesystem with Debian's Asterisk 22, built once with mmdebstrap and cached.

No Docker engine is needed: the tree is made by ``mmdebstrap`` (Debian package
``mmdebstrap``) and Asterisk runs inside it under ``bwrap`` (Debian package
``bubblewrap``), sharing the host's network so its ports on 127.0.0.1 are reachable.
The same tree is also the base of the Asterisk container image (:mod:`lab.containers`,
``MASKING_ASTERISK_RUNTIME=container``); :func:`docker_available` tells whether a Docker
engine answers (podman is preferred when installed).

The tree is built into a temporary directory next to the target and renamed into place
when complete; a marker file (:data:`MARKER`) inside records the package versions. A file
lock keeps two processes (parallel test runs) from building at the same time.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SUITE = "sid"
PACKAGES: tuple[str, ...] = (
    "asterisk",
    "asterisk-modules",
    "asterisk-core-sounds-en",
    "asterisk-core-sounds-en-gsm",
    "ca-certificates",
)
MARKER = ".masking-rootfs.json"
# Bumped when the build recipe changes: an older cached tree is rebuilt.
RECIPE = 1
# Directories bind-mounted over by the runner; they must exist in the (read-only) tree.
MOUNT_POINTS: tuple[str, ...] = (
    "etc/asterisk",
    "var/spool/asterisk",
    "var/log/asterisk",
    "var/lib/asterisk",
    "var/cache/asterisk",
    "usr/share/asterisk/sounds/masking",
)
DEBIAN_PACKAGE_FOR = {"mmdebstrap": "mmdebstrap", "bwrap": "bubblewrap", "sipp": "sip-tester"}

Log = Callable[[str], None]


class RootfsError(RuntimeError):
    """The Asterisk root filesystem is missing and cannot be built."""


def default_cache_dir() -> Path:
    env = os.environ.get("MASKING_ASTERISK_ROOTFS")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "masking" / "asterisk-22-rootfs"


def require_tool(name: str) -> str:
    """The path of a host tool, or a clear error naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        package = DEBIAN_PACKAGE_FOR.get(name, name)
        raise RootfsError(
            f"'{name}' is not installed; install the Debian package '{package}' "
            f"(apt-get install {package}) or run ./dev test, which does it"
        )
    return path


def is_complete(root: Path) -> bool:
    try:
        info = json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return bool(info.get("recipe") == RECIPE and (root / "usr/sbin/asterisk").exists())


def marker(root: Path) -> dict[str, object]:
    """The marker's content (recipe, build time, package versions), or {} when incomplete."""
    try:
        data = json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _package_versions(root: Path) -> dict[str, str]:
    versions: dict[str, str] = {}
    status = root / "var/lib/dpkg/status"
    try:
        text = status.read_text(errors="replace")
    except OSError:
        return versions
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Package") in PACKAGES and "installed" in fields.get("Status", ""):
            versions[fields["Package"]] = fields.get("Version", "?")
    return versions


def _prepare(root: Path) -> None:
    for mount_point in MOUNT_POINTS:
        (root / mount_point).mkdir(parents=True, exist_ok=True)


def _build(target: Path, log: Log) -> None:
    mmdebstrap = require_tool("mmdebstrap")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.build-", dir=target.parent))
    staging = tmp / "root"
    command = [
        mmdebstrap,
        "--variant=apt",
        '--aptopt=Acquire::Check-Valid-Until "false"',
        f"--include={','.join(PACKAGES)}",
        "--quiet",
        SUITE,
        str(staging),
    ]
    mirror = os.environ.get("MASKING_DEBIAN_MIRROR")
    if mirror:
        command.append(mirror)
    log(f"building the Asterisk root filesystem in {target} (mmdebstrap, about 30-60 s)")
    started = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).splitlines()[-20:])
            raise RootfsError(f"mmdebstrap failed (exit {result.returncode}):\n{tail}")
        _prepare(staging)
        info = {
            "recipe": RECIPE,
            "suite": SUITE,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.monotonic() - started, 1),
            "packages": _package_versions(staging),
        }
        (staging / MARKER).write_text(json.dumps(info, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"root filesystem ready in {time.monotonic() - started:.1f} s")


def ensure_rootfs(cache_dir: Path | None = None, log: Log = print) -> Path:
    """A complete Asterisk root filesystem, built when missing (or of an older recipe)."""
    target = (cache_dir or default_cache_dir()).expanduser().resolve()
    require_tool("bwrap")
    if not is_complete(target):
        with _locked(target.parent / f".{target.name}.lock"):
            if not is_complete(target):
                _build(target, log)
    _prepare(target)
    log(f"Asterisk: {asterisk_version(target)} ({target})")
    return target


def bwrap_base(root: Path) -> list[str]:
    """bwrap arguments running a command inside ``root`` (read-only), host network."""
    return [
        require_tool("bwrap"),
        "--ro-bind",
        str(root),
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",  # noqa: S108 - a private tmpfs inside the sandbox
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/var/cache/asterisk",
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--setenv",
        "PATH",
        "/usr/sbin:/usr/bin:/sbin:/bin",
    ]


def asterisk_version(root: Path) -> str:
    try:
        result = subprocess.run(
            [*bwrap_base(root), "/usr/sbin/asterisk", "-V"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RootfsError(f"cannot run asterisk -V inside {root}: {exc}") from exc
    if result.returncode != 0:
        raise RootfsError(f"asterisk -V failed inside {root}: {result.stderr.strip()}")
    return result.stdout.strip()


def docker_available() -> bool:
    """True when a Docker engine answers (``docker info`` succeeds)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0
