"""``/api/v1/items``, ``/api/v1/reveals`` and click-to-call (``POST /api/v1/calls``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from masking.calls.contract import Originator
from masking.web.auth import Service, Who
from masking.web.idempotency import idempotent
from masking.web.items.service import reveal_item, search_item, start_call
from masking.web.schemas import Strict

router = APIRouter()


class RevealIn(Strict):
    shipment: str = Field(min_length=1, max_length=64, examples=["PVZ1-00001"])
    reason: str = Field(min_length=1, max_length=40, examples=["item_found_later"])


def originator_of(request: Request) -> Originator | None:
    originator: Originator | None = request.app.state.originator
    return originator


@router.get("/items/{shipment}", tags=["items"])
def item(service: Service, p: Who, shipment: Annotated[str, Path(max_length=64)]) -> Any:
    """A shipment's status and whether a live temporary number exists (never the number)."""
    return search_item(service, p, shipment)


@router.post("/reveals", tags=["items"])
async def reveal(request: Request, service: Service, p: Who, body: RevealIn) -> JSONResponse:
    """The shipment's temporary number and its expiry (audited; needs a reason)."""

    async def run() -> dict[str, Any]:
        return await run_in_threadpool(reveal_item, service, p, body.shipment, body.reason)

    return await idempotent(request, p, "reveal", body.model_dump(), run)


@router.post("/calls", tags=["calls"], status_code=201)
async def click_to_call(request: Request, service: Service, p: Who, body: RevealIn) -> JSONResponse:
    """Ring the staff member's desk phone, then the customer; returns the call."""
    originator = originator_of(request)

    async def run() -> dict[str, Any]:
        return await start_call(service, p, originator, body.shipment, body.reason)

    return await idempotent(request, p, "call", body.model_dump(), run, status=201)
