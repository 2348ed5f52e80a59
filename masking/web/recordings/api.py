"""``/api/v1/recordings``: list, sample, play (HTTP Range) and purge recordings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import Field

from masking.web.auth import Service, Who
from masking.web.recordings.service import (
    list_recordings,
    purge_recordings,
    recording_file,
    sample_recordings,
)
from masking.web.schemas import CallId, Offset, SiteFilter, Strict

router = APIRouter()


class PurgeIn(Strict):
    days: int = Field(ge=1, le=3650)
    dry_run: bool = False


@router.get("/recordings", tags=["recordings"])
def recordings(
    service: Service,
    p: Who,
    site: SiteFilter = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Any:
    return list_recordings(service, p, site, limit, offset)


@router.get("/recordings/sample", tags=["recordings"])
def recordings_sample(
    service: Service,
    p: Who,
    site: Annotated[str, Query(max_length=64)],
    size: Annotated[int, Query(ge=1, le=100)] = 5,
    days: Annotated[int, Query(ge=1, le=3650)] = 7,
) -> Any:
    """A random sample of the site's recorded calls for review."""
    return sample_recordings(service, p, site, size, days)


@router.post("/recordings/purge", tags=["recordings"])
def recordings_purge(service: Service, p: Who, body: PurgeIn) -> Any:
    """Retention: delete recordings of calls older than ``days`` days."""
    return purge_recordings(service, p, body.days, body.dry_run)


@router.get("/recordings/{call_id}", tags=["recordings"], response_class=FileResponse)
def recording(service: Service, p: Who, call_id: CallId) -> Any:
    """The WAV file; supports HTTP Range requests (seeking in the player)."""
    return FileResponse(
        recording_file(service, p, call_id),
        media_type="audio/wav",
        headers={"Cache-Control": "private, no-store"},
        content_disposition_type="inline",
    )
