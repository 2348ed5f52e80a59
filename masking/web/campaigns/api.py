"""``/api/v1``: orders from the shop's system (idempotent by source and order_id), the
confirmation campaigns and their assignments, the worklist with "why not now", preview
calls, an order's outcome, progressive dial sessions and the day report (JSON or CSV)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from masking.web.auth import Service, Who
from masking.web.campaigns import service as campaigns
from masking.web.idempotency import idempotent
from masking.web.items.api import originator_of
from masking.web.schemas import Offset, SiteFilter, Strict

router = APIRouter()
TAGS: list[str | Enum] = ["campaigns"]

CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OrderId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SessionId = Annotated[str, Path(max_length=64)]
Codes = list[Annotated[str, Field(max_length=64)]]


class OrderIn(Strict):
    site: str | None = Field(default=None, max_length=64, examples=["pvz1"])
    source: str = Field(max_length=64, examples=["magna"])
    order_id: str = Field(max_length=64, examples=["100042"])
    status: str = Field(max_length=40, examples=["pending_payment"])
    payment_method: str = Field(max_length=40, examples=["wire_transfer"])
    store: str = Field(default="", max_length=64, examples=["country_ua"])
    created_at: datetime = Field(examples=["2026-11-18T09:00:00+02:00"])
    phone: str | None = Field(default=None, max_length=40)
    customer_tz: str | None = Field(default=None, max_length=64, examples=["Europe/Kyiv"])
    # what the hotline asks the caller to say (never shown, never sent back)
    model: str | None = Field(default=None, max_length=120, examples=["Haier HRF-600"])
    name: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)


class WindowIn(Strict):
    name: str = Field(max_length=40, examples=["evening"])
    start: str = Field(max_length=5, examples=["17:00"])
    end: str = Field(max_length=5, examples=["20:00"])


class PolicyIn(Strict):
    windows: list[WindowIn] | None = Field(default=None, max_length=24)
    min_gap_minutes: int | None = None
    daily_cap: int | None = None
    busy_retry_minutes: int | None = None
    callback_handover_minutes: int | None = None
    min_bridged_seconds: int | None = None


class CampaignIn(Strict):
    site: str | None = Field(default=None, max_length=64)
    code: str = Field(max_length=64, examples=["unpaid-wire"])
    title: str = Field(default="", max_length=200, examples=["Unpaid wire transfers"])
    tz: str | None = Field(default=None, max_length=64, examples=["Europe/Kyiv"])
    payment_methods: Codes = Field(default_factory=list, max_length=20)
    statuses: Codes = Field(default_factory=list, max_length=20)
    stores: Codes = Field(default_factory=list, max_length=50)
    lookback_days: int = Field(default=1, examples=[1])
    monday_from_friday: bool = True
    policy: PolicyIn | None = None


class AssignmentIn(Strict):
    staff: str = Field(max_length=100, examples=["pvz1-emp"])
    starts_on: date
    ends_on: date | None = None


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=4000)


class OutcomeIn(Strict):
    note: str = Field(default="", max_length=4000)


class CallbackIn(Strict):
    at: datetime = Field(examples=["2026-11-18T15:30:00+02:00"])


# ---- orders in ---------------------------------------------------------------------------
@router.post("/orders", tags=TAGS, status_code=201)
def receive_order(service: Service, p: Who, body: OrderIn) -> JSONResponse:
    """Send an order to confirm: 201 with the new order, 200 with the same order updated
    when the same source and order_id were sent before. The phone is needed for a new
    order and never shown back; a changed phone replaces the customer's number."""
    view, created = campaigns.receive_order(service, p, body.model_dump(exclude_none=True))
    return JSONResponse(view, status_code=201 if created else 200)


# ---- campaigns ---------------------------------------------------------------------------
@router.get("/campaigns", tags=TAGS)
def list_campaigns(service: Service, p: Who, site: SiteFilter = None) -> Any:
    """The campaigns you may see: an employee only the one assigned to them today."""
    return campaigns.list_campaigns(service, p, site=site)


@router.post("/campaigns", tags=TAGS, status_code=201)
def save_campaign(service: Service, p: Who, body: CampaignIn) -> JSONResponse:
    """Create a campaign (201) or change the one with this site and code (200)."""
    data = body.model_dump(exclude_none=True)
    if body.policy is not None:
        data["policy"] = body.policy.model_dump(exclude_none=True)
    view, created = campaigns.save_campaign(service, p, data)
    return JSONResponse(view, status_code=201 if created else 200)


@router.get("/campaigns/{campaign}", tags=TAGS)
def campaign(service: Service, p: Who, campaign: CampaignId) -> Any:
    """The campaign, its rule, policy, today's assignee and recent assignments."""
    return campaigns.campaign_detail(service, p, campaign)


@router.post("/campaigns/{campaign}/assignments", tags=TAGS, status_code=201)
def assign(service: Service, p: Who, campaign: CampaignId, body: AssignmentIn) -> Any:
    """Assign the campaign to one staff member of its site (a week when ``ends_on`` is
    not given); periods of one campaign do not overlap."""
    return campaigns.assign(service, p, campaign, body.model_dump())


@router.get("/campaigns/{campaign}/worklist", tags=TAGS)
def worklist(
    service: Service,
    p: Who,
    campaign: CampaignId,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> Any:
    """The campaign's orders, newest first. Each row: ``dialable``; if not, ``reason``
    (a wait reason), ``until`` (UTC, when it becomes dialable) and ``window``."""
    return campaigns.worklist_view(service, p, campaign, limit=limit, offset=offset)


@router.post("/campaigns/{campaign}/next", tags=TAGS, status_code=201)
async def call_next(request: Request, service: Service, p: Who, campaign: CampaignId) -> Any:
    """Preview: pick the newest order that may be dialed now and call it (your desk
    phone, then the customer). 409 ``nothing_due`` with counts by reason and the earliest
    time otherwise. Accepts ``Idempotency-Key``."""
    originator = originator_of(request)

    async def run() -> dict[str, Any]:
        return await campaigns.call_next(service, p, campaign, originator)

    return await idempotent(request, p, "campaign_next", {"campaign": campaign}, run, status=201)


@router.get("/campaigns/{campaign}/report", tags=TAGS)
def report(
    service: Service,
    p: Who,
    campaign: CampaignId,
    day: date | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """The campaign's day (its own date; today by default)."""
    data = campaigns.day_report(service, p, campaign, day)
    if format == "csv":
        name = f"campaign-{data['code']}-{data['day']}.csv"
        return Response(
            campaigns.report_csv(data),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return data


@router.post("/campaigns/{campaign}/sessions", tags=TAGS, status_code=201)
def start_session(service: Service, p: Who, campaign: CampaignId) -> Any:
    """Start progressive dialing of a campaign assigned to you today."""
    return campaigns.start_session(service, p, campaign)


# ---- one order ---------------------------------------------------------------------------
@router.get("/orders/{order}", tags=TAGS)
def order(service: Service, p: Who, order: OrderId) -> Any:
    """The order: its verdict now, attempts, notes and audit (never the number)."""
    return campaigns.order_detail(service, p, order)


@router.post("/orders/{order}/call", tags=TAGS, status_code=201)
async def call_order(request: Request, service: Service, p: Who, order: OrderId) -> Any:
    """Preview: call this order now (409 ``not_dialable`` with ``reason`` and ``until``
    when it may not be dialed). Accepts ``Idempotency-Key``."""
    originator = originator_of(request)

    async def run() -> dict[str, Any]:
        return await campaigns.call_order(service, p, order, originator)

    return await idempotent(request, p, "order_call", {"order": order}, run, status=201)


@router.post("/orders/{order}/confirm", tags=TAGS)
def confirm(service: Service, p: Who, order: OrderId, body: OutcomeIn) -> Any:
    """Confirmed by the customer: needs an answered call of at least 10 s about the order
    and a note; otherwise 409 with the rule as the error code."""
    return campaigns.confirm(service, p, order, body.note)


@router.post("/orders/{order}/decline", tags=TAGS)
def decline(service: Service, p: Who, order: OrderId, body: OutcomeIn) -> Any:
    """Not confirmed (refused or cancelled on the phone): needs an attempt and a note."""
    return campaigns.decline(service, p, order, body.note)


@router.post("/orders/{order}/callback", tags=TAGS)
def callback(service: Service, p: Who, order: OrderId, body: CallbackIn) -> Any:
    """The customer asked to be called back then: yours for the hand-over time."""
    return campaigns.set_callback(service, p, order, body.at)


@router.post("/orders/{order}/payment-details", tags=TAGS)
def payment_details(service: Service, p: Who, order: OrderId) -> Any:
    """Ask the shop's system to send the payment details again (an event out)."""
    return campaigns.resend_payment_details(service, p, order)


@router.post("/orders/{order}/notes", tags=TAGS)
def note(service: Service, p: Who, order: OrderId, body: NoteIn) -> Any:
    return campaigns.add_note(service, p, order, body.text)


# ---- dial sessions -----------------------------------------------------------------------
@router.get("/dial-sessions/{dial_session}", tags=TAGS)
def dial_session(service: Service, p: Who, dial_session: SessionId) -> Any:
    """The session: state, current call's live status, note due, why it waits."""
    return campaigns.session_view(service, p, dial_session)


@router.post("/dial-sessions/{dial_session}/pause", tags=TAGS)
def pause(service: Service, p: Who, dial_session: SessionId) -> Any:
    """No new call starts until resumed (a call that is up is never cut)."""
    return campaigns.act_on_session(service, p, dial_session, "pause")


@router.post("/dial-sessions/{dial_session}/resume", tags=TAGS)
def resume(service: Service, p: Who, dial_session: SessionId) -> Any:
    return campaigns.act_on_session(service, p, dial_session, "resume")


@router.post("/dial-sessions/{dial_session}/stop", tags=TAGS)
def stop(service: Service, p: Who, dial_session: SessionId) -> Any:
    """End the session; the last call's note is still owed on its order."""
    return campaigns.act_on_session(service, p, dial_session, "stop")


@router.post("/dial-sessions/{dial_session}/note", tags=TAGS)
def session_note(service: Service, p: Who, dial_session: SessionId, body: NoteIn) -> Any:
    """The note of the last call; the next call waits for it."""
    return campaigns.session_note(service, p, dial_session, body.text)
