"""What every CLI verb shares: errors as one line, settings, database and service scopes,
and table-or-JSON output."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from masking import shapes
from masking.config import ConfigError, Settings, get_settings
from masking.numbers.phones import InvalidPhoneNumber, redact_numbers
from masking.numbers.pool import PoolError
from masking.refusals import Refused
from masking.service import MaskingService
from masking.storage.db import Database

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
    except (shapes.AdminError, InvalidPhoneNumber) as exc:
        fail(str(exc))
    except Refused as exc:
        fail(f"refused ({exc.code}): {exc}")
    except PoolError as exc:
        fail(str(exc), 3)
    except OperationalError as exc:
        reason = redact_numbers(str(exc.orig))
        fail(f"database unavailable or not upgraded ({reason}); run 'masking db upgrade'", 3)
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
def service_scope() -> Iterator[MaskingService]:
    service = MaskingService.from_settings(settings())
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


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text")


_SECRET_PARAM = re.compile(r"(^|&)((?:password|passwd|pass|secret|token)=)[^&#]*", re.I)


def safe_url(url: str) -> str:
    """``url`` with the password of its user part and of secret query parameters as
    ``***`` (``redis://:pw@host/0`` -> ``redis://:***@host/0``)."""
    head, question, query = url.partition("?")
    netloc = urlsplit(head).netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        safe_netloc = userinfo.split(":", 1)[0] + ":***@" + host
        head = head.replace("//" + netloc, "//" + safe_netloc, 1)
    return head + question + _SECRET_PARAM.sub(r"\1\2***", query)
