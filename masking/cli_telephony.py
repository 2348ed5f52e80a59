"""CLI verbs that touch Asterisk: serve, asterisk up/down/status, dialplan check/install/
reload. The composition root: the only place in ``masking`` that imports ``agi``."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from masking.cli import app, fail, settings
from masking.dialplan_check import FILES, REQUIRED_CONTEXTS, check
from masking.pbx.local import DIALPLAN_DIR

asterisk_app = typer.Typer(no_args_is_help=True, help="A local Asterisk 22 for trying things.")
dialplan_app = typer.Typer(no_args_is_help=True, help="The masking dialplan for admins.")
app.add_typer(asterisk_app, name="asterisk")
app.add_typer(dialplan_app, name="dialplan")


@app.command("serve")
def serve() -> None:
    """Run the FastAGI server, the AMI client and the web console until Ctrl-C."""
    from agi.app import serve as run

    try:
        asyncio.run(run(settings()))
    except OSError as exc:
        fail(f"cannot start: {exc.strerror or exc}", 3)


# ---- local Asterisk ------------------------------------------------------------------
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
    from masking.pbx import Ports, RootfsError, ensure_rootfs, up
    from masking.pbx.local import AsteriskError

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
    from masking.pbx import down

    if not down(_state_dir(), log=typer.echo):
        typer.echo("no local Asterisk was running")


@asterisk_app.command("status")
def asterisk_status() -> None:
    from masking.pbx import status

    info = status(_state_dir())
    typer.echo(json.dumps(info, indent=2, default=str))
    if not info.get("running"):
        raise typer.Exit(1)


# ---- dialplan ------------------------------------------------------------------------
DirOpt = Annotated[Path, typer.Option(help="Directory holding the dialplan files")]


@dialplan_app.command("check")
def dialplan_check(directory: DirOpt = DIALPLAN_DIR) -> None:
    """Check the dialplan: contract variables, AGISTATUS branches, filtered input."""
    report = check(directory)
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    if not report.ok:
        raise typer.Exit(1)
    typer.echo(
        f"dialplan OK: {len(report.contexts)} contexts, {report.agi_calls} AGI calls, "
        "each followed by an AGISTATUS branch; contract matches agi/variables.py"
    )


@dialplan_app.command("install")
def dialplan_install(
    target: Annotated[Path, typer.Option(help="Asterisk config directory")] = Path("/etc/asterisk"),
    sounds: Annotated[Path, typer.Option(help="Asterisk sounds directory")] = Path(
        "/usr/share/asterisk/sounds"
    ),
    source: DirOpt = DIALPLAN_DIR,
) -> None:
    """Copy the checked dialplan and its prompts into an Asterisk installation."""
    report = check(source)
    if not report.ok:
        fail("the dialplan does not pass 'masking dialplan check'; nothing installed")
    if not target.is_dir():
        fail(f"{target}: no such directory")
    for name in FILES:
        shutil.copy2(source / name, target / name)
    prompts = sounds / "masking"
    prompts.mkdir(parents=True, exist_ok=True)
    for prompt in (source / "sounds").glob("*.gsm"):
        shutil.copy2(prompt, prompts / prompt.name)
    typer.echo(f"installed {', '.join(FILES)} into {target} and prompts into {prompts}")
    extensions = target / "extensions.conf"
    text = extensions.read_text() if extensions.exists() else ""
    if '#include "masking.conf"' not in text or '#include "masking-globals.conf"' not in text:
        typer.echo(
            'add to extensions.conf: #include "masking-globals.conf" inside [globals], '
            'and #include "masking.conf" at the end; then: masking dialplan reload'
        )


@dialplan_app.command("reload")
def dialplan_reload() -> None:
    """Reload the dialplan over AMI and confirm the masking contexts are live."""
    from agi.ami import AmiClient, AmiError

    async def run() -> dict[str, bool]:
        async with AmiClient.from_settings(settings()) as ami:
            await ami.wait_connected(10)
            return await ami.reload_dialplan_and_confirm(list(REQUIRED_CONTEXTS))

    try:
        live = asyncio.run(run())
    except (AmiError, OSError, TimeoutError) as exc:
        fail(f"AMI: {exc or type(exc).__name__}", 3)
    for context, ok in live.items():
        typer.echo(f"{context}: {'live' if ok else 'MISSING'}")
    if not all(live.values()):
        raise typer.Exit(1)


@app.command("bench")
def bench(
    which: Annotated[str, typer.Argument(help="agi (FastAGI load) or reveal (pool)")] = "agi",
) -> None:
    """Run a benchmark from benchmarks/ and print its table (a source checkout is needed)."""
    import subprocess
    import sys

    from masking.config import PROJECT_ROOT

    scripts = {
        "agi": ["benchmarks/agi_load.py", "--desk", "benchmarks.agi_load:seeded_desk"],
        "reveal": ["benchmarks/reveal_rate.py"],
    }
    if which not in scripts:
        fail(f"benchmark: choose one of {', '.join(scripts)}")
    script = PROJECT_ROOT / scripts[which][0]
    if not script.exists():
        fail(f"{script}: not found (benchmarks live in the source checkout)")
    raise typer.Exit(subprocess.call([sys.executable, *scripts[which]], cwd=PROJECT_ROOT))
