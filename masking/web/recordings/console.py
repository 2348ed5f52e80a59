"""``/qa/recordings``: recordings to play, filtered by site, or a random sample."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from masking.web.auth import Service
from masking.web.errors import ApiError
from masking.web.pages import render, who
from masking.web.recordings.service import list_recordings, sample_recordings
from masking.web.sites.service import list_sites

router = APIRouter(include_in_schema=False)


@router.get("/qa/recordings")
def recordings_page(
    request: Request,
    service: Service,
    site: str = "",
    sample: int = 0,
    size: int = 5,
    days: int = 7,
) -> Response:
    p = who(request)
    rows: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    error = None
    try:
        sites = list_sites(service, p)
        if sample:
            rows = sample_recordings(service, p, site, size, days)["recordings"]
        else:
            rows = list_recordings(service, p, site or None, 50, 0)["recordings"]
    except ApiError as exc:
        error = exc
    return render(
        request,
        "recordings.html",
        p,
        rows=rows,
        sites=sites,
        site=site,
        sample=sample,
        size=size,
        days=days,
        error=error,
    )
