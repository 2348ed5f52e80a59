"""The lab's verbs on the ``masking`` command: ``asterisk up | down | status`` (a local
Asterisk 22), ``demo`` (a real masked call between simulated phones), ``stack up | status
| demo | down`` (the compose stack with podman on the host network) and ``bench``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lab.demo import demo
from masking.cli.common import fail, settings

if TYPE_CHECKING:
    from lab.stack import Stack

__all__ = ["asterisk_app", "bench", "demo", "stack_app"]

asterisk_app = typer.Typer(no_args_is_help=True, help="A local Asterisk 22 for trying things.")


def _state_dir() -> Path:
    return settings().var_dir / "asterisk"


@asterisk_app.command("up")
def asterisk_up(
    carrier: Annotated[str, typer.Option(help="host:port of the carrier trunk")] = (
        "127.0.0.1:5070"
    ),
    sip_port: Annotated[int, typer.Option(help="UDP port for SIP on 127.0.0.1")] = 5060,
) -> None:
    """Start Asterisk 22 (root filesystem built and cached on first use) in var/asterisk,
    with the masking dialplan, desk phones desk1..desk3 and a carrier trunk."""
    from lab.asterisk import Ports, RootfsError, ensure_rootfs, up
    from lab.asterisk.local import AsteriskError

    s = settings()
    try:
        rootfs = ensure_rootfs(log=typer.echo)
        instance = up(
            _state_dir(),
            Ports(ami_port=s.ami_port),
            rootfs=rootfs,
            agi=f"{s.agi_host}:{s.agi_port}",
            carrier=carrier,
            ami_username=s.ami_username,
            ami_secret=s.ami_secret,
            ami_reload_username=s.ami_reload_username,
            ami_reload_secret=s.ami_reload_secret,
            log=typer.echo,
        )
    except (RootfsError, AsteriskError, OSError) as exc:
        fail(str(exc), 3)
    typer.echo(
        f"Asterisk runs: SIP 127.0.0.1:{instance.ports.sip_port}, "
        f"AMI 127.0.0.1:{instance.ports.ami_port}; recordings in {instance.monitor_dir}"
    )


@asterisk_app.command("down")
def asterisk_down() -> None:
    from lab.asterisk import down

    if not down(_state_dir(), log=typer.echo):
        typer.echo("no local Asterisk was running")


@asterisk_app.command("status")
def asterisk_status() -> None:
    from lab.asterisk import status

    info = status(_state_dir())
    typer.echo(json.dumps(info, indent=2, default=str))
    if not info.get("running"):
        raise typer.Exit(1)


stack_app = typer.Typer(
    no_args_is_help=True,
    help="The compose stack (docker/compose.yaml) on this machine, with podman on the host "
    "network (lab/stack.py).",
)


def _stack() -> Stack:
    from lab.stack import Stack

    return Stack(settings().var_dir / "stack", log=typer.echo)


@stack_app.command("up")
def stack_up() -> None:
    """Build the images (local bases, no registry) and start Asterisk, the service,
    Redis and PostgreSQL on free ports of 127.0.0.1; secrets generated (var/stack)."""
    from lab.containers import ContainerError
    from lab.stack import StackError

    try:
        state = _stack().up()
    except (StackError, ContainerError, OSError) as exc:
        fail(f"stack: {exc}", 3)
    ports = state.ports
    typer.echo(
        f"Asterisk SIP udp/127.0.0.1:{ports.sip} (desk1 / {_desk_password()}), AMI "
        f"{ports.ami}; console http://127.0.0.1:{ports.http}/; PostgreSQL {ports.postgres}, "
        f"Redis {ports.redis}; the lab's carrier trunk: udp/127.0.0.1:{ports.carrier}"
    )


def _desk_password() -> str:
    from lab.demo import DESK_PASSWORD

    return DESK_PASSWORD


@stack_app.command("status")
def stack_status() -> None:
    """Whether each service's container runs, the ports, the volumes (exit 1: not up)."""
    info = _stack().status()
    typer.echo(json.dumps(info, indent=2, default=str))
    if not info.get("running"):
        raise typer.Exit(1)


@stack_app.command("demo")
def stack_demo(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
) -> None:
    """The demo call through the running stack: desk1 (SIPp) dials a revealed number,
    the service in its container decides, a SIPp carrier answers."""
    from lab.containers import ContainerError
    from lab.demo import DemoFailed
    from lab.sipp import SippError
    from lab.stack import StackError, demo

    try:
        result = demo(_stack(), say=lambda m: typer.echo(m, err=as_json))
    except (StackError, ContainerError, DemoFailed, SippError, OSError) as exc:
        fail(f"stack demo failed: {exc}", 1)
    if as_json:
        typer.echo(json.dumps({"ok": True, **result}, indent=2, default=str))


@stack_app.command("down")
def stack_down(
    volumes: Annotated[bool, typer.Option(help="Remove the data (volumes) and secrets too")] = (
        False
    ),
) -> None:
    """Stop and remove the containers (the data stays unless --volumes)."""
    if not _stack().down(volumes=volumes):
        typer.echo("no stack was running")


BENCHMARKS = {
    "agi": ["lab.benchmarks.agi_load"],
    "reveal": ["lab.benchmarks.reveal_rate"],
    "worklist": ["lab.benchmarks.worklist"],
    "identify": ["lab.benchmarks.identify"],
    "e2e": ["lab.benchmarks.e2e"],
    "crash": ["lab.benchmarks.crash"],
    "faults": ["lab.faults"],
}


def bench(
    ctx: typer.Context,
    which: Annotated[
        str,
        typer.Argument(
            help="agi (FastAGI load), e2e (calls through Asterisk), crash (kill -9 under load), "
            "faults (calls while parts fail: lab/faults), reveal (pool), worklist (campaigns) "
            "or identify (hotline); further arguments go to it (masking bench faults -- --help)"
        ),
    ] = "agi",
) -> None:
    """Run a benchmark (lab/benchmarks, lab/faults) and print its table."""
    if which not in BENCHMARKS:
        fail(f"benchmark: choose one of {', '.join(BENCHMARKS)}")
    raise typer.Exit(subprocess.call([sys.executable, "-m", *BENCHMARKS[which], *ctx.args]))
