"""``/admin/reasons``: the admin's list of reasons, add and switch on or off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from masking.policy import Action
from masking.states import ReasonKind
from masking.web.auth import Service, need
from masking.web.pages import act, fetch, render, who
from masking.web.reasons.service import create_reason, list_reasons, update_reason

router = APIRouter(include_in_schema=False)


@router.get("/admin/reasons")
def reasons_page(request: Request, service: Service) -> Response:
    p = who(request)

    def load() -> list[dict[str, Any]]:
        need(p, Action.EDIT_REASONS)
        return list_reasons(service, p, True)

    reasons, error = fetch(load, list[dict[str, Any]]())
    return render(request, "reasons.html", p, reasons=reasons, error=error)


@router.post("/admin/reasons")
def reasons_add(
    request: Request,
    service: Service,
    code: str = Form("", max_length=40),
    title_ru: str = Form("", max_length=300),
    title_en: str = Form("", max_length=300),
    kind: str = Form(ReasonKind.PICKUP_POINT.value, max_length=20),
    csrf: str = Form(""),
) -> Response:
    return act(
        request,
        csrf,
        "/admin/reasons",
        lambda p: create_reason(service, p, code, title_ru, title_en, kind),
    )


@router.post("/admin/reasons/{code}/active")
def reasons_toggle(
    request: Request,
    service: Service,
    code: str,
    active: str = Form("0", max_length=1),
    csrf: str = Form(""),
) -> Response:
    return act(
        request,
        csrf,
        "/admin/reasons",
        lambda p: update_reason(
            service, p, code, active=active == "1", title_ru=None, title_en=None
        ),
    )
