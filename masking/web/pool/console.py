"""``/admin/pool``: the admin's view of the pool and a form to add numbers."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from masking.web.auth import Service
from masking.web.pages import act, fetch, render, who
from masking.web.pool.service import add_numbers, pool_view

router = APIRouter(include_in_schema=False)


@router.get("/admin/pool")
def pool_page(request: Request, service: Service) -> Response:
    p = who(request)
    data, error = fetch(lambda: pool_view(service, p), None)
    return render(request, "pool.html", p, data=data, error=error)


@router.post("/admin/pool")
def pool_add(
    request: Request,
    service: Service,
    numbers: str = Form("", max_length=200_000),
    region: str = Form("", max_length=2),
    csrf: str = Form(""),
) -> Response:
    lines = [n.strip() for n in numbers.splitlines() if n.strip()]
    return act(
        request,
        csrf,
        "/admin/pool",
        lambda p: add_numbers(service, p, lines, region.upper() or None),
    )
