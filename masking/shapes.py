"""The shapes of every identifier the service accepts: one pattern each, used by the
domain, the adapters (AGI, AMI, web, CLI) and the dialplan check alike.

A value that does not match is refused before it reaches the database, a log line or
an Asterisk application argument.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import phonenumbers

# A PJSIP endpoint name: starts with a letter or digit (a leading "_" or "." means a
# pattern or a hidden name to Asterisk), then letters, digits, "_", "." or "-".
ENDPOINT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A call record's id: 32 lower-case hex digits (uuid4().hex); also the recording's stem.
CALL_ID_RE = re.compile(r"^[0-9a-f]{32}$")
# A site code.
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# A staff login.
LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
# A shipment (order) number from the upstream system.
SHIPMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# A reason code.
REASON_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# Dialed digits or a caller ID number as Asterisk hands them over (untrusted).
DIGITS_RE = re.compile(r"^\+?[0-9]{3,20}$")
# A caller ID number the service presents (a virtual number): "+" and digits only.
CALLERID_NUMBER_RE = re.compile(r"^\+?[0-9]{1,20}$")
# An Asterisk server's name (MASKING_ASTERISK_NAME, call records): its ``systemname``
# (asterisk.conf), which prefixes the uniqueid of every channel it creates.
ASTERISK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# a channel's uniqueid when its Asterisk has a systemname: "<systemname>-<epoch>.<sequence>"
_NAMED_UNIQUEID_RE = re.compile(r"^(.+)-[0-9]{1,12}\.[0-9]{1,12}$")


class AdminError(ValueError):
    """Bad input for an administrative operation; the message names the field."""


def is_endpoint(value: str | None) -> bool:
    return bool(ENDPOINT_RE.match(value or "")) and ".." not in (value or "")


def is_call_id(value: str | None) -> bool:
    return bool(CALL_ID_RE.match(value or ""))


def is_digits(value: str | None) -> bool:
    return bool(DIGITS_RE.match(value or ""))


def is_callerid_number(value: str | None) -> bool:
    return bool(CALLERID_NUMBER_RE.match(value or ""))


def is_asterisk_name(value: str | None) -> bool:
    return bool(ASTERISK_NAME_RE.match(value or ""))


def asterisk_of_channel(uniqueid: str | None) -> str | None:
    """The name of the Asterisk that created the channel ``uniqueid``: the ``systemname``
    prefix Asterisk puts on every uniqueid when one is set. None without one (or for
    anything that is not such a uniqueid)."""
    match = _NAMED_UNIQUEID_RE.match(uniqueid or "")
    if match is None or not is_asterisk_name(match[1]):
        return None
    return match[1]


def check_endpoint(name: str) -> str:
    if not is_endpoint(name):
        raise AdminError(f"endpoint: {name!r} is not a valid PJSIP endpoint name")
    return name


def check_region(region: str) -> str:
    region = (region or "").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise AdminError(f"region: unknown phone region {region!r} (use an ISO code like RU)")
    return region


@dataclass(frozen=True)
class ImportReport:
    added: int
    skipped: int


def read_csv_column(text: str, column: str) -> list[tuple[int, dict[str, str]]]:
    """Rows as (line number, row) from CSV text with a header; raises on a missing column."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or column not in reader.fieldnames:
        raise AdminError(f"csv: the header must contain a {column!r} column")
    return [(reader.line_num, row) for row in reader]


T = TypeVar("T")


def require_columns(rows: list[tuple[int, dict[str, str]]], columns: Iterable[str]) -> None:
    """Raise, naming the first one, if the header lacks any of ``columns``."""
    missing = [c for c in columns if rows and c not in rows[0][1]]
    if missing:
        raise AdminError(f"csv: the header must contain a {missing[0]!r} column")


def csv_time(row: dict[str, str], column: str, where: str) -> datetime:
    """``row[column]`` as an ISO 8601 time (the offset is checked by the caller)."""
    try:
        return datetime.fromisoformat((row.get(column) or "").strip())
    except ValueError:
        raise AdminError(f"{where}{column}: is not an ISO 8601 time with an offset") from None


def check_csv_rows(
    rows: list[tuple[int, dict[str, str]]],
    check: Callable[[str, dict[str, str]], T],
    key: Callable[[T], str],
    key_column: str,
) -> list[tuple[str, T]]:
    """Every row checked before anything is written (all or nothing): ``check(where, row)``
    raises :class:`AdminError` after ``where`` ("line N: "); the same ``key`` on two lines
    is refused naming both. Returns ``(where, checked row)`` in file order."""
    checked: list[tuple[str, T]] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        where = f"line {line}: "
        item = check(where, row)
        ref = key(item)
        if ref in seen:
            raise AdminError(f"{where}{key_column}: {ref} is also on line {seen[ref]}")
        seen[ref] = line
        checked.append((where, item))
    return checked
