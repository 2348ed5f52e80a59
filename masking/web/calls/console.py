"""``/calls``: the call history with filters."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from masking.states import Direction, Disposition
from masking.web.auth import Service
from masking.web.calls.service import list_calls
from masking.web.pages import fetch, render, who

router = APIRouter(include_in_schema=False)


@router.get("/calls")
def calls_page(
    request: Request,
    service: Service,
    site: str = "",
    direction: str = "",
    disposition: str = "",
    shipment: str = "",
    since: date | None = None,
    until: date | None = None,
    offset: int = 0,
) -> Response:
    p = who(request)
    offset = max(0, offset)
    result, error = fetch(
        lambda: list_calls(
            service,
            p,
            site=site or None,
            direction=direction or None,
            disposition=disposition or None,
            shipment=shipment.strip() or None,
            since=since,
            until=until,
            limit=50,
            offset=offset,
        ),
        {"total": 0, "calls": []},
    )
    query: dict[str, str] = {"site": site, "direction": direction, "disposition": disposition}
    query |= {"shipment": shipment, "since": str(since or ""), "until": str(until or "")}
    return render(
        request,
        "calls.html",
        p,
        result=result,
        error=error,
        query=query,
        offset=offset,
        more_url="/calls?" + urlencode({**query, "offset": offset + 50}),
        directions=[d.value for d in Direction],
        dispositions=[d.value for d in Disposition],
    )
