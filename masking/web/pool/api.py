"""``/api/v1/pool``: numbers per region and adding numbers (a list or a CSV file)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import Field

from masking.web.auth import Service, Who
from masking.web.pool.service import MAX_NUMBERS, add_numbers, import_numbers, pool_view
from masking.web.schemas import Strict

router = APIRouter()


class NumbersIn(Strict):
    numbers: list[Annotated[str, Field(max_length=40)]] = Field(
        min_length=1, max_length=MAX_NUMBERS
    )
    region: str | None = Field(None, min_length=2, max_length=2)


@router.get("/pool", tags=["admin"])
def pool(service: Service, p: Who) -> Any:
    """Numbers per region, how many are free, and exhaustion warnings."""
    return pool_view(service, p)


@router.post("/pool/numbers", tags=["admin"])
def pool_add(service: Service, p: Who, body: NumbersIn) -> Any:
    return add_numbers(service, p, body.numbers, body.region)


@router.post("/pool/import", tags=["admin"])
def pool_import(
    service: Service,
    p: Who,
    body: Annotated[str, Body(media_type="text/csv", max_length=1_000_000)],
    region: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> Any:
    """CSV with a ``number`` column (all rows validated before any is added)."""
    return import_numbers(service, p, body, region)
