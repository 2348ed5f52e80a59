"""``masking serve`` and ``masking dialplan check | install | reload``: the verbs that run
the service or hand its dialplan to an Asterisk (the local lab's verbs are in
:mod:`lab.cli`)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

import typer

from agi.dialplan import DIALPLAN_DIR, FILES, REQUIRED_CONTEXTS, check
from masking.cli.common import fail, settings
from masking.config import ConfigError

dialplan_app = typer.Typer(no_args_is_help=True, help="The masking dialplan for admins.")


def serve(
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            envvar="MASKING_WORKERS",
            help="Processes serving FastAGI on the same port (SO_REUSEPORT); the console "
            "runs in the first; one process of the deployment leads (AMI events, timers)",
        ),
    ] = 1,
) -> None:
    """Run the FastAGI server, the AMI client and the web console until Ctrl-C."""
    from masking.runtime import EXIT_CANNOT_START, supervise
    from masking.runtime import serve as run

    try:
        if workers == 1:
            asyncio.run(run(settings()))
            return
        code = supervise(settings(), workers)
    except ConfigError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot start: {exc.strerror or exc}", 3)
    if code == EXIT_CANNOT_START:
        fail("cannot start: a worker could not start (see the log above)", 3)
    if code:
        raise typer.Exit(code)


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
        f"dialplan OK: {len(report.contexts)} contexts, {report.service_requests} requests "
        f"to the service through masking-sub-agi ({report.agi_calls} AGI call trying every "
        "server of MASKING_AGI_SERVERS), each followed by an AGISTATUS branch and sending "
        "the AGI secret; contract matches agi/variables.py; AMI users least privilege"
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

    s = settings()

    async def run() -> dict[str, bool]:
        # the reload user (write=command), not the service's least-privilege one
        reload_user = AmiClient(
            host=s.ami_host,
            port=s.ami_port,
            username=s.ami_reload_username,
            secret=s.ami_reload_secret,
        )
        async with reload_user as ami:
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
