"""The HTTP API, ``/api/v1``: item search, reveal, click-to-call, calls, team, admin,
recordings. Authentication: ``Authorization: Bearer <token>`` (or the console session).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from masking.calls.contract import Originator
from masking.service import MaskingService
from masking.web import ops
from masking.web.auth import Principal, require_principal, service_of
from masking.web.errors import ApiError, bad_input

router = APIRouter(prefix="/api/v1")
Who = Annotated[Principal, Depends(require_principal)]

IDEMPOTENCY_TTL_S = 24 * 3600
IDEMPOTENCY_PENDING_S = 60
_IDEM_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
SSE_POLL_S = 0.5
SSE_MAX_S = 15 * 60
SSE_HEARTBEAT_S = 15.0


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RevealIn(Strict):
    shipment: str = Field(min_length=1, max_length=64, examples=["PVZ1-00001"])
    reason: str = Field(min_length=1, max_length=40, examples=["item_found_later"])


class VisibilityIn(Strict):
    visible: bool


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


class NumbersIn(Strict):
    numbers: list[Annotated[str, Field(max_length=40)]] = Field(min_length=1, max_length=5000)
    region: str | None = Field(None, min_length=2, max_length=2)


class ReasonIn(Strict):
    code: str = Field(min_length=2, max_length=40)
    title_ru: str = Field(min_length=1, max_length=300)
    title_en: str = Field(min_length=1, max_length=300)
    kind: str = "pickup_point"


class ReasonPatch(Strict):
    active: bool | None = None
    title_ru: str | None = Field(None, max_length=300)
    title_en: str | None = Field(None, max_length=300)


class PurgeIn(Strict):
    days: int = Field(ge=1, le=3650)
    dry_run: bool = False


def originator_of(request: Request) -> Originator | None:
    originator: Originator | None = request.app.state.originator
    return originator


# ---- idempotency -----------------------------------------------------------------------
async def idempotent(
    request: Request,
    p: Principal,
    scope: str,
    payload: dict[str, Any],
    run: Callable[[], Awaitable[dict[str, Any]]],
    status: int = 200,
) -> JSONResponse:
    """Replay the stored answer for a repeated ``Idempotency-Key`` (per staff member)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return JSONResponse(await run(), status_code=status)
    if not _IDEM_KEY.match(key):
        raise bad_input("Idempotency-Key: 1-200 visible ASCII characters")
    service = service_of(request)
    redis = service.pool.redis
    digest = hashlib.sha256(key.encode()).hexdigest()
    name = f"{service.pool.prefix}idem:{p.id}:{scope}:{digest}"
    fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    pending = json.dumps({"state": "pending", "fp": fingerprint})
    if not redis.set(name, pending, nx=True, ex=IDEMPOTENCY_PENDING_S):
        raw = redis.get(name)
        stored = json.loads(raw) if raw else {}
        if stored.get("fp") != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
        if stored.get("state") != "done":
            raise ApiError(
                409, "idempotency_in_progress", "the same request is still being processed"
            )
        return JSONResponse(
            stored["body"], status_code=stored["status"], headers={"Idempotent-Replayed": "true"}
        )
    try:
        body = await run()
    except BaseException:
        redis.delete(name)
        raise
    redis.set(
        name,
        json.dumps({"state": "done", "fp": fingerprint, "status": status, "body": body}),
        ex=IDEMPOTENCY_TTL_S,
    )
    return JSONResponse(body, status_code=status)


# ---- who am I --------------------------------------------------------------------------
@router.get("/me", tags=["session"])
def me(p: Who) -> dict[str, Any]:
    return {
        "login": p.login,
        "name": p.display_name,
        "role": p.role,
        "site": p.site_code,
        "sees_numbers": p.sees_numbers,
    }


# ---- item search, reveal, click-to-call --------------------------------------------------
@router.get("/items/{shipment}", tags=["items"])
def item(request: Request, p: Who, shipment: Annotated[str, Path(max_length=64)]) -> Any:
    """A shipment's status and whether a live temporary number exists (never the number)."""
    return ops.search_item(service_of(request), p, shipment)


@router.post("/reveals", tags=["items"])
async def reveal(request: Request, p: Who, body: RevealIn) -> JSONResponse:
    """The shipment's temporary number and its expiry (audited; needs a reason)."""
    service = service_of(request)

    async def run() -> dict[str, Any]:
        return await run_in_threadpool(ops.reveal, service, p, body.shipment, body.reason, "api")

    return await idempotent(request, p, "reveal", body.model_dump(), run)


@router.post("/calls", tags=["calls"], status_code=201)
async def click_to_call(request: Request, p: Who, body: RevealIn) -> JSONResponse:
    """Ring the staff member's desk phone, then the customer; returns the call."""
    service = service_of(request)
    originator = originator_of(request)

    async def run() -> dict[str, Any]:
        return await ops.start_call(service, originator, p, body.shipment, body.reason, "api")

    return await idempotent(request, p, "call", body.model_dump(), run, status=201)


@router.get("/calls", tags=["calls"])
def calls(
    request: Request,
    p: Who,
    site: Annotated[str | None, Query(max_length=64)] = None,
    staff: Annotated[str | None, Query(max_length=100)] = None,
    direction: Annotated[str | None, Query(max_length=20)] = None,
    disposition: Annotated[str | None, Query(max_length=20)] = None,
    shipment: Annotated[str | None, Query(max_length=64)] = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    """Call history (site staff: their site; employees: their own calls), newest first."""
    return ops.list_calls(
        service_of(request),
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
def call(request: Request, p: Who, call_id: Annotated[str, Path(max_length=64)]) -> Any:
    """One call record; poll it for the live status of a click-to-call."""
    return ops.get_call(service_of(request), p, call_id)


@router.get("/calls/{call_id}/events", tags=["calls"])
async def call_events(
    request: Request, p: Who, call_id: Annotated[str, Path(max_length=64)]
) -> StreamingResponse:
    """Server-sent events: one ``status`` event per change, the last one when it ended."""
    service = service_of(request)
    await run_in_threadpool(ops.get_call, service, p, call_id)  # 404 / 403 before streaming
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
        state = await run_in_threadpool(ops.call_state, service, call_id)
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


# ---- team ------------------------------------------------------------------------------
@router.get("/team", tags=["team"])
def team(request: Request, p: Who, site: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    """The site's staff and who sees numbers (owners, staff managers, admins)."""
    return ops.team(service_of(request), p, site)


@router.put("/team/{login}/visibility", tags=["team"])
def visibility(
    request: Request, p: Who, login: Annotated[str, Path(max_length=100)], body: VisibilityIn
) -> Any:
    """Switch number visibility for an employee (the site's owner, or an admin)."""
    return ops.set_visibility(service_of(request), p, login, body.visible)


# ---- sites -----------------------------------------------------------------------------
SiteCode = Annotated[str, Path(max_length=64)]


@router.get("/sites", tags=["admin"])
def sites(request: Request, p: Who) -> Any:
    return ops.list_sites(service_of(request), p)


@router.get("/sites/{code}", tags=["admin"])
def site(request: Request, p: Who, code: SiteCode) -> Any:
    return ops.get_site(service_of(request), p, code)


@router.put("/sites/{code}/hours", tags=["admin"])
def site_hours(request: Request, p: Who, code: SiteCode, body: HoursIn) -> Any:
    return ops.set_hours(service_of(request), p, code, body.hours)


@router.put("/sites/{code}/exceptions/{day}", tags=["admin"])
def site_exception(request: Request, p: Who, code: SiteCode, day: date, body: ExceptionIn) -> Any:
    """A dated exception: no intervals means closed all day."""
    return ops.add_exception(service_of(request), p, code, day, body.intervals, body.note)


@router.delete("/sites/{code}/exceptions/{day}", tags=["admin"])
def site_exception_delete(request: Request, p: Who, code: SiteCode, day: date) -> Any:
    return ops.delete_exception(service_of(request), p, code, day)


@router.post("/sites/{code}/suspend", tags=["admin"])
def site_suspend(request: Request, p: Who, code: SiteCode, body: SuspendIn) -> Any:
    """Hide the site's numbers: reveals and calls are refused until resumed."""
    return ops.suspend(service_of(request), p, code, body.reason)


@router.post("/sites/{code}/resume", tags=["admin"])
def site_resume(request: Request, p: Who, code: SiteCode) -> Any:
    return ops.resume(service_of(request), p, code)


# ---- pool ------------------------------------------------------------------------------
@router.get("/pool", tags=["admin"])
def pool(request: Request, p: Who) -> Any:
    """Numbers per region, how many are free, and exhaustion warnings."""
    return ops.pool_view(service_of(request), p)


@router.post("/pool/numbers", tags=["admin"])
def pool_add(request: Request, p: Who, body: NumbersIn) -> Any:
    return ops.add_numbers(service_of(request), p, body.numbers, body.region)


@router.post("/pool/import", tags=["admin"])
def pool_import(
    request: Request,
    p: Who,
    body: Annotated[str, Body(media_type="text/csv", max_length=1_000_000)],
    region: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> Any:
    """CSV with a ``number`` column (all rows validated before any is added)."""
    return ops.import_numbers(service_of(request), p, body, region)


# ---- reasons ---------------------------------------------------------------------------
@router.get("/reasons", tags=["reasons"])
def reasons(request: Request, p: Who, all: bool = False) -> Any:
    return ops.list_reasons(service_of(request), p, all)


@router.post("/reasons", tags=["reasons"], status_code=201)
def reason_create(request: Request, p: Who, body: ReasonIn) -> Any:
    return ops.create_reason(
        service_of(request), p, body.code, body.title_ru, body.title_en, body.kind
    )


@router.patch("/reasons/{code}", tags=["reasons"])
def reason_update(
    request: Request, p: Who, code: Annotated[str, Path(max_length=40)], body: ReasonPatch
) -> Any:
    return ops.update_reason(
        service_of(request),
        p,
        code,
        active=body.active,
        title_ru=body.title_ru,
        title_en=body.title_en,
    )


# ---- audit -----------------------------------------------------------------------------
@router.get("/audit", tags=["admin"])
def audit(
    request: Request,
    p: Who,
    site: Annotated[str | None, Query(max_length=64)] = None,
    staff: Annotated[str | None, Query(max_length=100)] = None,
    granted: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    """Every reveal, granted or refused: who, which shipment, reason, when."""
    return ops.audit(
        service_of(request), p, site=site, staff=staff, granted=granted, limit=limit, offset=offset
    )


# ---- recordings ------------------------------------------------------------------------
@router.get("/recordings", tags=["recordings"])
def recordings(
    request: Request,
    p: Who,
    site: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    return ops.list_recordings(service_of(request), p, site, limit, offset)


@router.get("/recordings/sample", tags=["recordings"])
def recordings_sample(
    request: Request,
    p: Who,
    site: Annotated[str, Query(max_length=64)],
    size: Annotated[int, Query(ge=1, le=100)] = 5,
    days: Annotated[int, Query(ge=1, le=3650)] = 7,
) -> Any:
    """A random sample of the site's recorded calls for review."""
    return ops.sample_recordings(service_of(request), p, site, size, days)


@router.post("/recordings/purge", tags=["recordings"])
def recordings_purge(request: Request, p: Who, body: PurgeIn) -> Any:
    """Retention: delete recordings of calls older than ``days`` days."""
    return ops.purge_recordings(service_of(request), p, body.days, body.dry_run)


@router.get("/recordings/{call_id}", tags=["recordings"], response_class=FileResponse)
def recording(request: Request, p: Who, call_id: Annotated[str, Path(max_length=64)]) -> Any:
    """The WAV file; supports HTTP Range requests (seeking in the player)."""
    path = ops.recording_file(service_of(request), p, call_id)
    return FileResponse(
        path,
        media_type="audio/wav",
        headers={"Cache-Control": "private, no-store"},
        content_disposition_type="inline",
    )
