"""``/api/v1/audit``: the reveal audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from masking.web.audit.service import list_audit
from masking.web.auth import Service, Who
from masking.web.schemas import Offset, SiteFilter, StaffFilter

router = APIRouter()


@router.get("/audit", tags=["admin"])
def audit(
    service: Service,
    p: Who,
    site: SiteFilter = None,
    staff: StaffFilter = None,
    granted: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> Any:
    """Every reveal, granted or refused: who, which shipment, reason, when."""
    return list_audit(
        service, p, site=site, staff=staff, granted=granted, limit=limit, offset=offset
    )
