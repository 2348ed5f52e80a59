"""``/api/v1/sites``: sites, their hours and exceptions, suspension."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from masking.web.auth import Service, Who
from masking.web.schemas import Strict
from masking.web.sites.service import (
    add_exception,
    delete_exception,
    get_site,
    list_sites,
    resume,
    set_hours,
    suspend,
)

router = APIRouter()
SiteCode = Annotated[str, Path(max_length=64)]


class HoursIn(Strict):
    hours: str | dict[str, list[list[str]]] = Field(
        examples=["mon-fri 09:00-21:00; sat 10:00-18:00"]
    )


class ExceptionIn(Strict):
    intervals: list[Annotated[str, Field(max_length=20)]] = Field(
        default_factory=list, max_length=10, examples=[["10:00-16:00"]]
    )
    note: str = Field("", max_length=200)


class SuspendIn(Strict):
    reason: str = Field(min_length=1, max_length=1000)


@router.get("/sites", tags=["admin"])
def sites(service: Service, p: Who) -> Any:
    return list_sites(service, p)


@router.get("/sites/{code}", tags=["admin"])
def site(service: Service, p: Who, code: SiteCode) -> Any:
    return get_site(service, p, code)


@router.put("/sites/{code}/hours", tags=["admin"])
def site_hours(service: Service, p: Who, code: SiteCode, body: HoursIn) -> Any:
    return set_hours(service, p, code, body.hours)


@router.put("/sites/{code}/exceptions/{day}", tags=["admin"])
def site_exception(service: Service, p: Who, code: SiteCode, day: date, body: ExceptionIn) -> Any:
    """A dated exception: no intervals means closed all day."""
    return add_exception(service, p, code, day, body.intervals, body.note)


@router.delete("/sites/{code}/exceptions/{day}", tags=["admin"])
def site_exception_delete(service: Service, p: Who, code: SiteCode, day: date) -> Any:
    return delete_exception(service, p, code, day)


@router.post("/sites/{code}/suspend", tags=["admin"])
def site_suspend(service: Service, p: Who, code: SiteCode, body: SuspendIn) -> Any:
    """Hide the site's numbers: reveals and calls are refused until resumed."""
    return suspend(service, p, code, body.reason)


@router.post("/sites/{code}/resume", tags=["admin"])
def site_resume(service: Service, p: Who, code: SiteCode) -> Any:
    return resume(service, p, code)
