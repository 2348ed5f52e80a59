"""``/api/v1/reasons``: the reasons for a call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from masking.states import ReasonKind
from masking.web.auth import Service, Who
from masking.web.reasons.service import create_reason, list_reasons, update_reason
from masking.web.schemas import Strict

router = APIRouter()


class ReasonIn(Strict):
    code: str = Field(min_length=2, max_length=40)
    title_ru: str = Field(min_length=1, max_length=300)
    title_en: str = Field(min_length=1, max_length=300)
    kind: str = ReasonKind.PICKUP_POINT.value


class ReasonPatch(Strict):
    active: bool | None = None
    title_ru: str | None = Field(None, max_length=300)
    title_en: str | None = Field(None, max_length=300)


@router.get("/reasons", tags=["reasons"])
def reasons(service: Service, p: Who, all: bool = False) -> Any:
    return list_reasons(service, p, all)


@router.post("/reasons", tags=["reasons"], status_code=201)
def reason_create(service: Service, p: Who, body: ReasonIn) -> Any:
    return create_reason(service, p, body.code, body.title_ru, body.title_en, body.kind)


@router.patch("/reasons/{code}", tags=["reasons"])
def reason_update(
    service: Service, p: Who, code: Annotated[str, Path(max_length=40)], body: ReasonPatch
) -> Any:
    return update_reason(
        service, p, code, active=body.active, title_ru=body.title_ru, title_en=body.title_en
    )
