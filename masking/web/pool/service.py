"""The number pool on behalf of a platform admin."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select

from masking import shapes
from masking.numbers import bindings, virtual
from masking.policy import Action
from masking.service import MaskingService
from masking.storage.models import VirtualNumber
from masking.web.auth import Principal, need
from masking.web.errors import bad_input

LOW_SHARE = 0.2
MAX_NUMBERS = 5000
ADDS_NUMBERS = "only a platform admin adds numbers"


def pool_view(service: MaskingService, p: Principal) -> dict[str, Any]:
    need(p, Action.MANAGE_POOL, "only a platform admin sees the pool")
    now = service.clock()
    with service.db.session() as session:
        levels = virtual.pool_levels(session, now)
    regions = []
    warnings = []
    for row in levels:
        low = max(2, math.ceil(row["numbers"] * LOW_SHARE))
        headroom = row["headroom"]
        level = "exhausted" if headroom <= 0 else "low" if headroom < low else "ok"
        regions.append({**row, "level": level})
        if level != "ok":
            warnings.append(
                {
                    "region": row["region"],
                    "level": level,
                    "message": f"region {row['region']}: "
                    + (
                        "no number is left for the busiest site; add numbers now"
                        if level == "exhausted"
                        else f"only {headroom} numbers left for the busiest site; add numbers"
                    ),
                }
            )
    return {"regions": regions, "warnings": warnings}


def add_numbers(
    service: MaskingService, p: Principal, numbers: list[str], region: str | None
) -> dict[str, Any]:
    need(p, Action.MANAGE_POOL, ADDS_NUMBERS)
    numbers = [n.strip() for n in numbers if n and n.strip()]
    if not numbers:
        raise bad_input("numbers: give at least one number")
    if len(numbers) > MAX_NUMBERS:
        raise bad_input(f"numbers: at most {MAX_NUMBERS} at once")
    before = _pool_count(service)
    try:
        added = bindings.add_pool_numbers(service, numbers, region or None)
    except shapes.AdminError as exc:
        raise bad_input(str(exc)) from None
    return {"added": added, "skipped": len(numbers) - added, "pool_size": before + added}


def import_numbers(
    service: MaskingService, p: Principal, text: str, region: str | None
) -> dict[str, Any]:
    need(p, Action.MANAGE_POOL, ADDS_NUMBERS)
    try:
        rows = shapes.read_csv_column(text, "number")
    except shapes.AdminError as exc:
        raise bad_input(str(exc)) from None
    except Exception:
        raise bad_input("csv: the file is not readable CSV") from None
    return add_numbers(service, p, [row.get("number") or "" for _, row in rows], region)


def _pool_count(service: MaskingService) -> int:
    with service.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(VirtualNumber)) or 0)
