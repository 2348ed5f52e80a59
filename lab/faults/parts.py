"""The PostgreSQL the fault suite breaks, private to it: a cluster of its own on a free
loopback port, so restarting it disturbs nothing else on the machine (the PostgreSQL of
the other tests on 5432). Its Redis is :class:`lab.private_redis.PrivateRedis`.

:class:`PrivatePostgres` is a cluster made with Debian's ``initdb`` (the newest
``/usr/lib/postgresql/*/bin``) in a directory of its own, started and stopped with
``pg_ctl``. PostgreSQL refuses to run as root: when this process is root the cluster
runs as the ``postgres`` system user (the owner of its directory).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab.ports import free_tcp_port

POSTGRES_USER = "postgres"  # the system user running the cluster when we are root
DATABASE = "masking"


class PartError(RuntimeError):
    """A part could not be set up, started or stopped."""


def postgres_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server binaries (``/usr/lib/postgresql/<v>/bin``)."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1:``port`` (trust auth, user postgres)."""

    def __init__(self, port: int | None = None) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise PartError("no PostgreSQL server binaries (apt-get install postgresql)")
        self.bin_dir = bin_dir
        self.port = port or free_tcp_port()
        # its own directory outside any root-only temp dir, so the postgres user reaches it
        self.root = Path(tempfile.mkdtemp(prefix="masking-faults-pg-"))
        self.data = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self._as: dict[str, int] = {}
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(POSTGRES_USER)
            except KeyError as exc:
                raise PartError(f"running as root and there is no {POSTGRES_USER} user") from exc
            self._as = {"user": user.pw_uid, "group": user.pw_gid}
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        user, group = self._as.get("user"), self._as.get("group")
        result = subprocess.run(
            argv,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=self.root,
            user=user,
            group=group,
            # as the postgres user: root's supplementary groups dropped too
            extra_groups=[] if user is not None else None,
        )
        if result.returncode != 0:
            out = (result.stdout + result.stderr).decode(errors="replace").strip()[-1500:]
            raise PartError(f"{Path(argv[0]).name} failed ({result.returncode}): {out}")

    def create(self) -> None:
        """initdb, start, and the ``masking`` database."""
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        self.start()
        self._run(
            str(self.bin_dir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            DATABASE,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m fast``: every session is ended at once (a restart as an admin
        or a failover does it), the server shuts down cleanly."""
        if not (self.data / "postmaster.pid").exists():
            return
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(PartError, OSError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
