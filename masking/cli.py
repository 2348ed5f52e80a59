"""The ``masking`` command: admin verbs, the service, the local Asterisk and the demo."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from masking import admin
from masking.config import ConfigError, Settings, get_settings
from masking.db import Database
from masking.hours import weekly_text
from masking.models import Binding, Reason, Site, Staff
from masking.phones import InvalidPhoneNumber, mask_number
from masking.pool import PoolError
from masking.service import Masking, RevealRefused

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Masked calling through rotating temporary numbers on Asterisk.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
site_app = typer.Typer(no_args_is_help=True, help="Sites: hours, exceptions, suspension.")
staff_app = typer.Typer(no_args_is_help=True, help="Staff: roles, visibility, tokens.")
pool_app = typer.Typer(no_args_is_help=True, help="The pool of virtual numbers.")
shipment_app = typer.Typer(no_args_is_help=True, help="Shipments and their customers.")
app.add_typer(db_app, name="db")
app.add_typer(site_app, name="site")
app.add_typer(staff_app, name="staff")
app.add_typer(pool_app, name="pool")
app.add_typer(shipment_app, name="shipment")

out = Console()
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        fail(str(exc))


@contextmanager
def guarded() -> Iterator[None]:
    """Turn the domain's errors into one clear line and a non-zero exit."""
    try:
        yield
    except (admin.AdminError, InvalidPhoneNumber) as exc:
        fail(str(exc))
    except RevealRefused as exc:
        fail(f"refused ({exc.code}): {exc}")
    except PoolError as exc:
        fail(str(exc), 3)
    except OperationalError as exc:
        fail(f"database unavailable or not upgraded ({exc.orig}); run 'masking db upgrade'", 3)
    except ConfigError as exc:
        fail(str(exc))


@contextmanager
def session_scope() -> Iterator[Session]:
    db = Database(settings().effective_database_url)
    try:
        with guarded(), db.session() as session:
            yield session
    finally:
        db.dispose()


@contextmanager
def service_scope() -> Iterator[Masking]:
    service = Masking.from_settings(settings())
    try:
        with guarded():
            yield service
    finally:
        service.db.dispose()


def emit(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(title=title)
    for key in rows[0].keys() if rows else ["(none)"]:
        table.add_column(key)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)


# ---- db -------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema (SQLite file by default, or MASKING_DATABASE_URL)."""
    db = Database(settings().effective_database_url)
    with guarded():
        db.upgrade()
    typer.echo(f"database at {_safe_url(db.url)} is up to date")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# ---- sites ----------------------------------------------------------------------------
@site_app.command("create")
def site_create(
    code: str,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone")] = "Europe/Moscow",
    region: Annotated[str, typer.Option(help="Phone region for local numbers")] = "RU",
    hours: Annotated[str, typer.Option(help="e.g. 'mon-fri 09:00-21:00; sat 10:00-18:00'")] = (
        "daily 09:00-21:00"
    ),
    ttl_hours: Annotated[float | None, typer.Option(help="Binding lifetime")] = None,
    ring: Annotated[list[str] | None, typer.Option(help="Endpoint to ring on call-backs")] = None,
) -> None:
    """Create a site (pickup point or call-centre desk)."""
    with session_scope() as session:
        site = admin.create_site(
            session,
            code=code,
            name=name,
            timezone=tz,
            region=region,
            hours=hours,
            ttl_hours=ttl_hours,
            ring_endpoints=ring or [],
        )
        typer.echo(f"site {site.code} created")


@site_app.command("list")
def site_list(as_json: JsonOpt = False) -> None:
    with session_scope() as session:
        rows = [
            {
                "code": s.code,
                "name": s.name,
                "timezone": s.timezone,
                "region": s.phone_region,
                "hours": weekly_text(s.weekly_hours),
                "suspended": s.suspended_reason if s.suspended else None,
                "ring": ",".join(s.ring_endpoints),
            }
            for s in session.scalars(select(Site).order_by(Site.code))
        ]
    emit(rows, as_json, "Sites")


@site_app.command("set-hours")
def site_set_hours(code: str, hours: str) -> None:
    """Replace the weekly schedule, e.g. 'mon-fri 09:00-21:00; sat 10:00-16:00'."""
    with session_scope() as session:
        admin.set_hours(session, admin.get_site(session, code), hours)
    typer.echo(f"site {code}: hours set")


@site_app.command("add-exception")
def site_add_exception(
    code: str,
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    hours: Annotated[list[str] | None, typer.Option(help="HH:MM-HH:MM; none = closed")] = None,
    note: str = "",
) -> None:
    """A holiday (no --hours) or a short day on a date."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        fail(f"day: {day!r} is not a date (YYYY-MM-DD)")
    with session_scope() as session:
        admin.add_exception(session, admin.get_site(session, code), parsed, hours or [], note)
    typer.echo(f"site {code}: {day} {'closed' if not hours else ', '.join(hours)}")


@site_app.command("suspend")
def site_suspend(
    code: str,
    reason: Annotated[str, typer.Option(help="Why")],
    by: Annotated[str, typer.Option(help="Who")] = "admin",
) -> None:
    """Hide the site's numbers: reveals and calls are refused until resumed."""
    with session_scope() as session:
        admin.suspend(admin.get_site(session, code), reason=reason, by=by)
    typer.echo(f"site {code}: suspended")


@site_app.command("resume")
def site_resume(code: str) -> None:
    with session_scope() as session:
        admin.resume(admin.get_site(session, code))
    typer.echo(f"site {code}: resumed")


# ---- staff ----------------------------------------------------------------------------
@staff_app.command("add")
def staff_add(
    login: str,
    role: Annotated[str, typer.Option(help="owner, staff_manager, employee, admin, qa")],
    site: Annotated[str | None, typer.Option(help="Site code (not for admin/qa)")] = None,
    endpoint: Annotated[str | None, typer.Option(help="PJSIP endpoint of the desk phone")] = None,
    name: str = "",
    visible: Annotated[bool, typer.Option(help="Employee may see numbers")] = False,
    password: Annotated[str | None, typer.Option(help="Console password")] = None,
) -> None:
    with session_scope() as session:
        site_obj = admin.get_site(session, site) if site else None
        admin.add_staff(
            session,
            login=login,
            role=role,
            site=site_obj,
            name=name,
            endpoint=endpoint,
            visible=visible,
            password=password,
        )
    typer.echo(f"staff {login} added as {role}")


@staff_app.command("list")
def staff_list(site: str | None = None, as_json: JsonOpt = False) -> None:
    with session_scope() as session:
        query = select(Staff).order_by(Staff.login)
        if site:
            query = query.where(Staff.site_id == admin.get_site(session, site).id)
        rows = [
            {
                "login": s.login,
                "role": s.role,
                "site": s.site.code if s.site else None,
                "endpoint": s.sip_endpoint,
                "numbers_visible": s.numbers_visible,
                "active": s.active,
            }
            for s in session.scalars(query)
        ]
    emit(rows, as_json, "Staff")


def _staff_change(login: str, change: Callable[[Staff], T]) -> T:
    with session_scope() as session:
        return change(admin.get_staff(session, login))


@staff_app.command("set-role")
def staff_set_role(login: str, role: str) -> None:
    _staff_change(login, lambda s: admin.set_role(s, role))
    typer.echo(f"staff {login}: role {role}")


@staff_app.command("grant")
def staff_grant(login: str) -> None:
    """Let an employee see customer numbers (the owner's switch)."""
    _staff_change(login, lambda s: setattr(s, "numbers_visible", True))
    typer.echo(f"staff {login}: numbers visible")


@staff_app.command("revoke")
def staff_revoke(login: str) -> None:
    _staff_change(login, lambda s: setattr(s, "numbers_visible", False))
    typer.echo(f"staff {login}: numbers hidden")


@staff_app.command("token")
def staff_token(login: str) -> None:
    """Issue a new API token (shown once; stored hashed)."""
    token = _staff_change(login, admin.issue_token)
    typer.echo(token)


# ---- pool -----------------------------------------------------------------------------
@pool_app.command("add")
def pool_add(numbers: list[str], region: str | None = None) -> None:
    """Add virtual numbers (E.164) to the pool."""
    with service_scope() as service:
        added = service.add_pool_numbers(numbers, region)
    typer.echo(f"{added} numbers added, {len(numbers) - added} already in the pool")


@pool_app.command("import")
def pool_import(path: Path, region: str | None = None) -> None:
    """Import a CSV with a 'number' column; nothing is added if any row is bad."""
    text = _read(path)
    with guarded():
        rows = admin.read_csv_column(text, "number")
    numbers = [row.get("number") or "" for _, row in rows]
    with service_scope() as service:
        added = service.add_pool_numbers(numbers, region)
    typer.echo(f"{added} numbers added, {len(numbers) - added} already in the pool")


@pool_app.command("stats")
def pool_stats(as_json: JsonOpt = False) -> None:
    with service_scope() as service, service.db.session() as session:
        rows = admin.pool_stats(session, service.clock())
    emit(rows, as_json, "Pool")


@pool_app.command("rebuild")
def pool_rebuild(
    clean: Annotated[bool, typer.Option(help="Drop Redis state first")] = False,
) -> None:
    """Rebuild the live state in Redis from the database."""
    with service_scope() as service:
        if clean:
            service.pool.flush()
        restored = service.restore_live_state()
    typer.echo(f"{restored} live bindings restored")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text")


# ---- shipments ------------------------------------------------------------------------
@shipment_app.command("import")
def shipment_import(site: str, path: Path) -> None:
    """Import a CSV (shipment,phone[,status]); a bad row aborts with its line number."""
    from rich.progress import Progress

    text = _read(path)
    total = max(text.count("\n") - 1, 1)
    with Progress(console=err, transient=True, disable=total < 2000) as progress:
        task = progress.add_task("checking rows", total=total)
        with session_scope() as session:
            report = admin.import_shipments(
                session,
                admin.get_site(session, site),
                text,
                progress=lambda n: progress.advance(task, n),
            )
    typer.echo(f"{report.added} shipments added, {report.skipped} updated")


@shipment_app.command("add")
def shipment_add(site: str, number: str, phone: str) -> None:
    with session_scope() as session:
        shipment = admin.add_shipment(session, admin.get_site(session, site), number, phone)
        typer.echo(f"shipment {number} for {mask_number(shipment.customer_phone)}")


# ---- reveal and bindings --------------------------------------------------------------
@app.command("reveal")
def reveal(
    shipment: str,
    staff: Annotated[str, typer.Option(help="Login of the staff member")],
    reason: Annotated[str, typer.Option(help="Reason code (see 'masking reasons')")],
    as_json: JsonOpt = False,
) -> None:
    """Give a staff member the shipment's temporary number (audited)."""
    with service_scope() as service:
        with service.db.session() as session:
            staff_id = admin.get_staff(session, staff).id
        result = service.reveal(staff_id=staff_id, shipment_number=shipment, reason=reason)
    row = {
        "shipment": result.shipment_number,
        "virtual_number": result.virtual_number,
        "expires_at": result.expires_at.isoformat(),
        "reason": result.reason,
        "new": result.new,
        "binding_id": result.binding_id,
    }
    if as_json:
        typer.echo(json.dumps(row))
    else:
        typer.echo(f"{result.virtual_number} (until {result.expires_at:%Y-%m-%d %H:%M} UTC)")


@app.command("bindings")
def bindings(site: str | None = None, as_json: JsonOpt = False) -> None:
    """List live bindings (customer numbers masked)."""
    with service_scope() as service:
        site_id = None
        if site:
            with service.db.session() as session:
                site_id = admin.get_site(session, site).id
        live: list[Binding] = service.live_bindings(site_id)
        with service.db.session() as session:
            codes = {row[0]: row[1] for row in session.execute(select(Site.id, Site.code))}
    rows = [
        {
            "id": b.id,
            "site": codes.get(b.site_id),
            "virtual_number": b.virtual_number,
            "customer": mask_number(b.customer_phone),
            "reason": b.reason_code,
            "expires_at": b.expires_at.isoformat(),
        }
        for b in live
    ]
    emit(rows, as_json, "Live bindings")


@app.command("reasons")
def reasons(as_json: JsonOpt = False) -> None:
    """Reason codes allowed at reveal."""
    with session_scope() as session:
        rows = [
            {"code": r.code, "kind": r.kind, "active": r.active, "title": r.title_en}
            for r in session.scalars(select(Reason).order_by(Reason.kind, Reason.code))
        ]
    emit(rows, as_json, "Reasons")


@app.command("config")
def show_config() -> None:
    """Print the effective configuration (secrets hidden)."""
    s = settings()
    data = s.model_dump(mode="json")
    for key in ("ami_secret", "session_secret"):
        data[key] = "***" if data.get(key) else ""
    data["database_url"] = _safe_url(s.effective_database_url)
    typer.echo(json.dumps(data, indent=2))


def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except ConfigError as exc:
        err.print(f"error: {exc}")
        sys.exit(2)


# Verbs defined in their own modules register themselves on ``app`` when imported.
from masking import cli_telephony, demo  # noqa: E402, F401
from masking.web.cli import recordings_app  # noqa: E402

app.add_typer(recordings_app, name="recordings")
