"""The lab's verbs on the ``masking`` command: ``asterisk up | down | status`` (a local
Asterisk 22), ``demo`` (a real masked call between simulated phones) and ``bench``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from lab.demo import demo
from masking.cli.common import fail, settings

__all__ = ["asterisk_app", "bench", "demo"]

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
