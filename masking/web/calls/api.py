"""``/api/v1/calls``: the call log, one call, and its live status (server-sent events)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from masking.service import MaskingService
from masking.web.auth import Service, Who
from masking.web.calls.service import call_state, get_call, list_calls
from masking.web.schemas import CallId, Offset, SiteFilter, StaffFilter

router = APIRouter()

SSE_POLL_S = 0.5
SSE_MAX_S = 15 * 60
SSE_HEARTBEAT_S = 15.0


@router.get("/calls", tags=["calls"])
def calls(
    service: Service,
    p: Who,
    site: SiteFilter = None,
    staff: StaffFilter = None,
    direction: Annotated[str | None, Query(max_length=20)] = None,
    disposition: Annotated[str | None, Query(max_length=20)] = None,
    shipment: Annotated[str | None, Query(max_length=64)] = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> Any:
    """Call history (site staff: their site; employees: their own calls), newest first."""
    return list_calls(
        service,
        p,
        site=site,
        staff=staff,
        direction=direction,
        disposition=disposition,
        shipment=shipment,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )


@router.get("/calls/{call_id}", tags=["calls"])
def call(service: Service, p: Who, call_id: CallId) -> Any:
    """One call record; poll it for the live status of a click-to-call."""
    return get_call(service, p, call_id)


@router.get("/calls/{call_id}/events", tags=["calls"])
async def call_events(
    request: Request, service: Service, p: Who, call_id: CallId
) -> StreamingResponse:
    """Server-sent events: one ``status`` event per change, the last one when it ended."""
    await run_in_threadpool(get_call, service, p, call_id)  # 404 / 403 before streaming
    return StreamingResponse(
        _events(request, service, call_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, service: MaskingService, call_id: str) -> AsyncIterator[str]:
    last: tuple[str, str] | None = None
    loop = asyncio.get_running_loop()
    started = loop.time()
    beat = started
    yield "retry: 1000\n\n"
    while loop.time() - started < SSE_MAX_S:
        state = await run_in_threadpool(call_state, service, call_id)
        if state != last:
            last = state
            data = json.dumps({"id": call_id, "status": state[0], "disposition": state[1]})
            yield f"event: status\ndata: {data}\n\n"
            beat = loop.time()
            if state[0] == "ended":
                return
        elif loop.time() - beat > SSE_HEARTBEAT_S:
            beat = loop.time()
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(SSE_POLL_S)
