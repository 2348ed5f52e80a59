"""The ``masking`` command: the one CLI root. It composes the verbs, each defined in its
own module (and the local lab's verbs from :mod:`lab.cli`); no verb module imports it."""

from __future__ import annotations

import sys

import typer

from lab.cli import asterisk_app, bench, demo, stack_app
from masking import logs
from masking.cli import (
    appeals,
    campaigns,
    config,
    db,
    hotline,
    pool,
    recordings,
    reveal,
    shipments,
    sites,
    staff,
    telephony,
)
from masking.cli.common import err
from masking.config import ConfigError, get_settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Masked calling through rotating temporary numbers on Asterisk.",
)
app.add_typer(db.db_app, name="db")
app.add_typer(sites.site_app, name="site")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(pool.pool_app, name="pool")
app.add_typer(shipments.shipment_app, name="shipment")
app.add_typer(appeals.appeal_app, name="appeal")
app.add_typer(campaigns.order_app, name="order")
app.add_typer(campaigns.campaign_app, name="campaign")
app.add_typer(hotline.hotline_app, name="hotline")
app.add_typer(recordings.recordings_app, name="recordings")
app.add_typer(telephony.dialplan_app, name="dialplan")
app.add_typer(asterisk_app, name="asterisk")
app.add_typer(stack_app, name="stack")
app.command("reveal")(reveal.reveal)
app.command("bindings")(reveal.list_bindings)
app.command("reasons")(reveal.list_reasons)
app.command("config")(config.show_config)
app.command("serve")(telephony.serve)
app.command("demo")(demo)
# extra arguments go to the benchmark (masking bench faults --faults redis --seconds 30)
app.command("bench", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    bench
)


def main() -> None:
    try:
        log_format = get_settings().log_format
    except ConfigError:
        log_format = "text"  # the command itself reports the bad setting
    logs.configure(log_format)
    try:
        app()
    except ConfigError as exc:
        err.print(f"error: {exc}")
        sys.exit(2)
