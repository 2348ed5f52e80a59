"""``/search``: find a shipment, reveal its temporary number (the Call button uses the API)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from masking.refusals import Refusal
from masking.web.auth import Service, check_csrf
from masking.web.errors import ApiError, forbidden, refusal
from masking.web.items.service import reveal_item, search_item
from masking.web.pages import render, who

router = APIRouter(include_in_schema=False)


@router.get("/search")
def search_page(request: Request, service: Service, shipment: str = "") -> Response:
    p = who(request)
    item, error = None, None
    if shipment.strip():
        try:
            item = search_item(service, p, shipment)
        except ApiError as exc:
            error = exc
    elif p.site_id is None:
        error = forbidden("")
    return render(request, "search.html", p, shipment=shipment.strip()[:64], item=item, error=error)


@router.post("/search/reveal")
def search_reveal(
    request: Request,
    service: Service,
    shipment: str = Form("", max_length=64),
    reason: str = Form("", max_length=40),
    csrf: str = Form("", max_length=100),
) -> Response:
    p = who(request)
    revealed, error, item = None, None, None
    try:
        check_csrf(request, csrf)
        if not reason:
            raise refusal(Refusal.BAD_REASON)
        revealed = reveal_item(service, p, shipment, reason, channel="console")
    except ApiError as exc:
        error = exc
    try:
        item = search_item(service, p, shipment)
    except ApiError as exc:
        error = error or exc
    return render(
        request,
        "search.html",
        p,
        status=200 if error is None else error.status,
        shipment=shipment.strip(),
        item=item,
        revealed=revealed,
        reason=reason,
        error=error,
    )
