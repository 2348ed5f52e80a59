"""The pool's virtual numbers in the database: import (validated first) and usage stats.

The live state of the same numbers is in Redis (:mod:`masking.numbers.pool`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from masking.numbers.phones import InvalidPhoneNumber, normalize, region_of
from masking.shapes import AdminError, ImportReport, check_region
from masking.storage.models import Binding, VirtualNumber


def _virtual(raw: str, region: str | None, field: str) -> tuple[str, str]:
    try:
        number = normalize(raw, region or "ZZ", field=field)
    except InvalidPhoneNumber as exc:
        raise AdminError(str(exc)) from None
    found = region_of(number)
    if found is None:
        raise AdminError(f"{field}: cannot tell the region of the number")
    if region and found != region:
        raise AdminError(f"{field}: number belongs to region {found}, not {region}")
    return number, found


def add_numbers(
    session: Session, raw_numbers: Iterable[str], region: str | None = None, *, line_offset: int = 0
) -> tuple[ImportReport, dict[str, list[str]]]:
    """Validate all numbers first, then add the new ones. Returns new numbers by region."""
    region = check_region(region) if region else None
    parsed: list[tuple[str, str]] = []
    for index, raw in enumerate(raw_numbers, start=1):
        parsed.append(_virtual(raw, region, f"line {index + line_offset}"))
    existing = set(
        session.scalars(
            select(VirtualNumber.number).where(VirtualNumber.number.in_([p[0] for p in parsed]))
        )
    )
    added: dict[str, list[str]] = {}
    for number, found in parsed:
        if number in existing:
            continue
        existing.add(number)
        session.add(VirtualNumber(number=number, region=found))
        added.setdefault(found, []).append(number)
    session.flush()
    count = sum(len(v) for v in added.values())
    return ImportReport(added=count, skipped=len(parsed) - count), added


def pool_stats(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Per region: numbers in the pool and numbers in live use by at least one site."""
    totals = dict(
        session.execute(
            select(VirtualNumber.region, func.count())
            .where(VirtualNumber.active)
            .group_by(VirtualNumber.region)
        ).all()
    )
    in_use = dict(
        session.execute(
            select(VirtualNumber.region, func.count(func.distinct(Binding.virtual_number)))
            .join(Binding, Binding.virtual_number == VirtualNumber.number)
            .where(Binding.live_at(now))
            .group_by(VirtualNumber.region)
        ).all()
    )
    return [
        {"region": r, "numbers": int(n), "bound_somewhere": int(in_use.get(r, 0))}
        for r, n in sorted(totals.items())
    ]


def _busiest_site_bindings(session: Session, now: datetime) -> dict[str, int]:
    """Per region: the live bindings of the site that has most of them."""
    busiest: dict[str, int] = {}
    rows = session.execute(
        select(VirtualNumber.region, Binding.site_id, func.count(func.distinct(Binding.id)))
        .join(Binding, Binding.virtual_number == VirtualNumber.number)
        .where(Binding.live_at(now), VirtualNumber.active)
        .group_by(VirtualNumber.region, Binding.site_id)
    ).all()
    for region, _site, count in rows:
        busiest[region] = max(busiest.get(region, 0), int(count))
    return busiest


def pool_levels(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Per region, :func:`pool_stats` and what the console and the metrics show of it:
    ``free`` (numbers in live use by no site), ``busiest_site_bindings`` and ``headroom``.
    A site needs a number of its own per live binding, so the pool minus its busiest
    site's bindings is how many more reveals that site can make (0: exhausted for it)."""
    busiest = _busiest_site_bindings(session, now)
    levels = []
    for row in pool_stats(session, now):
        most = busiest.get(row["region"], 0)
        levels.append(
            {
                **row,
                "free": row["numbers"] - row["bound_somewhere"],
                "busiest_site_bindings": most,
                "headroom": max(row["numbers"] - most, 0),
            }
        )
    return levels
