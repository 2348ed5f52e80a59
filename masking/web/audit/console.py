"""``/admin/audit``: the reveal audit, filtered by site and staff member."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from masking.web.audit.service import list_audit
from masking.web.auth import Service
from masking.web.pages import fetch, render, who

router = APIRouter(include_in_schema=False)


@router.get("/admin/audit")
def audit_page(
    request: Request, service: Service, site: str = "", staff: str = "", offset: int = 0
) -> Response:
    p = who(request)
    data, error = fetch(
        lambda: list_audit(
            service,
            p,
            site=site or None,
            staff=staff or None,
            granted=None,
            limit=100,
            offset=max(0, offset),
        ),
        {"total": 0, "entries": []},
    )
    return render(request, "audit.html", p, data=data, error=error, site=site, staff=staff)
