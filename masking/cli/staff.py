"""``masking staff ...``: staff accounts, roles, number visibility, API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy import select

from masking import accounts, sites
from masking.cli.common import (
    JsonOpt,
    T,
    emit,
    session_scope,
)
from masking.storage.models import Staff

staff_app = typer.Typer(no_args_is_help=True, help="Staff: roles, visibility, tokens.")


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
    with session_scope() as session:
        return change(accounts.get_staff(session, login))


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
