"""``masking staff ...``: staff accounts, roles, number visibility, API tokens, passwords,
switching an account off and on."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from masking import accounts, sites
from masking.cli.common import (
    JsonOpt,
    T,
    emit,
    fail,
    session_scope,
)
from masking.storage.models import Staff, utcnow

staff_app = typer.Typer(
    no_args_is_help=True, help="Staff: roles, visibility, tokens, passwords, disable/enable."
)
PasswordStdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]


def _read_password(from_stdin: bool) -> str:
    """The new password from stdin or a hidden prompt (never argv: ``ps`` shows it)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    if not password:
        fail("password: empty")
    return password


@staff_app.command("add")
def staff_add(
    login: str,
    role: Annotated[str, typer.Option(help="owner, staff_manager, employee, admin, qa")],
    site: Annotated[str | None, typer.Option(help="Site code (not for admin/qa)")] = None,
    endpoint: Annotated[str | None, typer.Option(help="PJSIP endpoint of the desk phone")] = None,
    name: str = "",
    visible: Annotated[bool, typer.Option(help="Employee may see numbers")] = False,
    password: Annotated[
        str | None, typer.Option(help="Console password (prefer --password-stdin)")
    ] = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    if password_stdin:
        password = _read_password(True)
    with session_scope() as session:
        site_obj = sites.get_site(session, site) if site else None
        accounts.add_staff(
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
            query = query.where(Staff.site_id == sites.get_site(session, site).id)
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
    return _account_change(login, lambda _, staff: change(staff))


def _account_change(login: str, change: Callable[[Session, Staff], T]) -> T:
    with session_scope() as session:
        return change(session, accounts.get_staff(session, login))


@staff_app.command("set-role")
def staff_set_role(login: str, role: str) -> None:
    _staff_change(login, lambda s: accounts.set_role(s, role))
    typer.echo(f"staff {login}: role {role}")


@staff_app.command("grant")
def staff_grant(login: str) -> None:
    """Let an employee see customer numbers (the owner's switch)."""
    _staff_change(login, lambda s: accounts.set_numbers_visible(s, True))
    typer.echo(f"staff {login}: numbers visible")


@staff_app.command("revoke")
def staff_revoke(login: str) -> None:
    _staff_change(login, lambda s: accounts.set_numbers_visible(s, False))
    typer.echo(f"staff {login}: numbers hidden")


@staff_app.command("token")
def staff_token(login: str) -> None:
    """Issue a new API token (shown once; stored hashed)."""
    token = _staff_change(login, accounts.issue_token)
    typer.echo(token)


@staff_app.command("disable")
def staff_disable(login: str) -> None:
    """Switch an account off at once: console sessions end, token and desk phone refused."""
    _account_change(login, lambda session, s: accounts.set_active(session, s, False, utcnow()))
    typer.echo(f"staff {login}: disabled")


@staff_app.command("enable")
def staff_enable(login: str) -> None:
    _account_change(login, lambda session, s: accounts.set_active(session, s, True, utcnow()))
    typer.echo(f"staff {login}: enabled")


@staff_app.command("set-password")
def staff_set_password(login: str, password_stdin: PasswordStdinOpt = False) -> None:
    """Set a new console password (prompted, or --password-stdin); sessions end."""
    password = _read_password(password_stdin)
    _account_change(login, lambda session, s: accounts.set_password(session, s, password, utcnow()))
    typer.echo(f"staff {login}: password set, console sessions ended")
