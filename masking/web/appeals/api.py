"""``/api/v1/appeals``: intake (idempotent by source and appeal_id), the queue, one
appeal, take / notes / status, the masked call back and the report (JSON or CSV)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from masking.web.appeals import service as appeals
from masking.web.auth import Service, Who
from masking.web.idempotency import idempotent
from masking.web.items.api import originator_of
from masking.web.schemas import Offset, SiteFilter, StaffFilter, Strict

router = APIRouter()

AppealId = Annotated[str, Path(max_length=64)]


class AppealIn(Strict):
    site: str | None = Field(default=None, max_length=64, examples=["pvz1"])
    source: str = Field(max_length=64, examples=["market"])
    appeal_id: str = Field(max_length=64, examples=["A-1001"])
    type: str = Field(max_length=40, examples=["delivery_question"])
    channel: str = Field(max_length=20, examples=["chat"])
    order: str = Field(max_length=64, examples=["PVZ1-00001"])
    phone: str | None = Field(default=None, max_length=40)
    text: str = Field(default="", max_length=4000)
    received_at: datetime | None = Field(default=None, examples=["2026-11-18T09:00:00+03:00"])


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=4000)


class StatusIn(Strict):
    status: str = Field(max_length=20, examples=["resolved"])
    note: str = Field(default="", max_length=4000)


@router.post("/appeals", tags=["appeals"], status_code=201)
def receive(service: Service, p: Who, body: AppealIn) -> JSONResponse:
    """Receive an appeal: 201 with the new appeal, 200 with the existing one when the same
    source and appeal_id were sent before. The phone is needed only for an unknown order."""
    view, created = appeals.receive(service, p, body.model_dump())
    return JSONResponse(view, status_code=201 if created else 200)


@router.get("/appeals", tags=["appeals"])
def queue(
    service: Service,
    p: Who,
    site: SiteFilter = None,
    type: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    assignee: StaffFilter = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> Any:
    """The queue by time left: open appeals soonest due first, then closed ones."""
    return appeals.queue(
        service,
        p,
        site=site,
        topic=type,
        status=status,
        assignee=assignee,
        limit=limit,
        offset=offset,
    )


@router.get("/appeals/report", tags=["appeals"])
def report(
    service: Service,
    p: Who,
    site: SiteFilter = None,
    since: date | None = None,
    until: date | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Per site and period (local dates, both inclusive; default the last 30 days)."""
    data = appeals.report(service, p, site=site, since=since, until=until)
    if format == "csv":
        name = f"appeals-{data['site']}-{data['since']}-{data['until']}.csv"
        return Response(
            appeals.report_csv(data),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return data


@router.get("/appeals/{appeal}", tags=["appeals"])
def appeal(service: Service, p: Who, appeal: AppealId) -> Any:
    """One appeal with its call attempts, notes and audit."""
    return appeals.detail(service, p, appeal)


@router.post("/appeals/{appeal}/take", tags=["appeals"])
def take(service: Service, p: Who, appeal: AppealId) -> Any:
    """Assign the appeal to yourself (New becomes In progress)."""
    return appeals.take(service, p, appeal)


@router.post("/appeals/{appeal}/notes", tags=["appeals"])
def note(service: Service, p: Who, appeal: AppealId, body: NoteIn) -> Any:
    return appeals.note(service, p, appeal, body.text)


@router.put("/appeals/{appeal}/status", tags=["appeals"])
def status(service: Service, p: Who, appeal: AppealId, body: StatusIn) -> Any:
    """Resolved needs an answered call of at least 10 s, Not resolved at least one
    attempt, both a note; otherwise 409 with the rule as the error code."""
    return appeals.set_status(service, p, appeal, body.status, body.note)


@router.post("/appeals/{appeal}/calls", tags=["appeals"], status_code=201)
async def call(request: Request, service: Service, p: Who, appeal: AppealId) -> JSONResponse:
    """Ring your desk phone, then the appeal's customer through the order's temporary
    number (reason ``appeal_callback``); returns the call. Accepts ``Idempotency-Key``."""
    originator = originator_of(request)

    async def run() -> dict[str, Any]:
        return await appeals.call(service, p, appeal, originator)

    return await idempotent(request, p, "appeal_call", {"appeal": appeal}, run, status=201)
