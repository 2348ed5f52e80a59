"""``/hotline``: the agent's screen pop (live: ``/static/hotline.js`` polls
``GET /api/v1/hotline/pop`` and swaps the pop in when it changes), the verification form
answering per field, the voice flag, the actions after identification, the light path
(find an order by its number) and, for the site's managers, admin and QA, the recent
contacts; ``/hotline/contacts/{id}``: one contact's audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from masking.policy import Action, may
from masking.web.auth import Principal, Service, check_csrf
from masking.web.errors import ApiError, not_found
from masking.web.hotline import service as hotline
from masking.web.pages import fetch, flash_redirect, render, who

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 1.5  # the pop is polled this often
RECENT = 30


def signature(contact: dict[str, Any] | None) -> str:
    """What the page's pop shows, in one string: the script swaps the pop in when the API's
    answer gives another (``hotline.js`` computes the same from the JSON)."""
    if contact is None:
        return "none"
    flags = ("identified", "voice_mismatch", "opened", "live", "may_confirm")
    return "|".join([contact["id"], str(contact["tries"])] + [str(int(contact[f])) for f in flags])


def _page(
    request: Request,
    service: Service,
    p: Principal,
    *,
    found: dict[str, Any] | None = None,
    error: ApiError | None = None,
    status: int = 200,
) -> Response:
    may_work = may(p.role, Action.WORK_HOTLINE)
    may_see = may(p.role, Action.SEE_HOTLINE)
    if not (may_work or may_see):
        return render(
            request,
            "hotline.html",
            p,
            status=403,
            error=ApiError(403, "forbidden", ""),
            may_work=False,
            c=None,
            recent=None,
            found=None,
        )
    contact = hotline.pop(service, p)["contact"] if may_work else None
    recent: dict[str, Any] | None = None
    if may_see:
        recent, _ = fetch(lambda: hotline.recent(service, p, limit=RECENT), None)
    return render(
        request,
        "hotline.html",
        p,
        status=status,
        error=error,
        may_work=may_work,
        c=contact,
        signature=signature(contact),
        poll=POLL_SECONDS,
        found=found,
        recent=recent,
        tz=hotline.site_zone(service, p.site_code),
    )


@router.get("/hotline")
def hotline_page(request: Request, service: Service) -> Response:
    p = who(request)
    return _page(request, service, p)


@router.get("/hotline/contacts/{contact_id}")
def contact_page(request: Request, service: Service, contact_id: str) -> Response:
    p = who(request)
    contact, error = fetch(lambda: hotline.contact_detail(service, p, contact_id), None)
    return render(
        request,
        "hotline_contact.html",
        p,
        status=200 if error is None else error.status,
        c=contact,
        error=error,
        tz=hotline.site_zone(service, p.site_code),
    )


def _form(
    request: Request, csrf: str, action: Callable[[Principal], object], ok: str = "saved"
) -> Response:
    p = who(request)
    try:
        check_csrf(request, csrf)
        action(p)
    except ApiError as exc:
        return flash_redirect(request, "/hotline#pop", err=exc)
    return flash_redirect(request, "/hotline#pop", ok=ok)


@router.post("/hotline/{contact_id}/verify")
def verify_form(
    request: Request,
    service: Service,
    contact_id: str,
    shipment_id: str = Form("", max_length=12),
    name: str = Form("", max_length=300),
    order: str = Form("", max_length=300),
    city: str = Form("", max_length=300),
    address: str = Form("", max_length=300),
    csrf: str = Form("", max_length=100),
) -> Response:
    """One try; the answer per field shows on the pop (never what was typed)."""
    body: dict[str, Any] = {"name": name, "order": order, "city": city, "address": address}
    if shipment_id.strip().isdigit():
        body["shipment_id"] = int(shipment_id)
    return _form(
        request, csrf, lambda p: hotline.check(service, p, contact_id, body), ok="hl_checked"
    )


@router.post("/hotline/{contact_id}/find")
def find_form(
    request: Request,
    service: Service,
    contact_id: str,
    order: str = Form("", max_length=64),
    csrf: str = Form("", max_length=100),
) -> Response:
    """The light path: the order found (or not) shows on the page."""
    p = who(request)
    try:
        check_csrf(request, csrf)
        found = hotline.find_order(service, p, contact_id, order)
    except ApiError as exc:
        return flash_redirect(request, "/hotline#light", err=exc)
    return _page(request, service, p, found={"order": found["order"], "asked": True})


@router.post("/hotline/{contact_id}/{action}")
def action_form(
    request: Request,
    service: Service,
    contact_id: str,
    action: str,
    note: str = Form("", max_length=4000),
    csrf: str = Form("", max_length=100),
) -> Response:
    """The voice flag, opening the order, and the actions after identification."""
    do: dict[str, Callable[[Principal], object]] = {
        "voice": lambda p: hotline.flag_voice(service, p, contact_id, note),
        "open": lambda p: hotline.open_order(service, p, contact_id),
        "correct-number": lambda p: hotline.correct_number(service, p, contact_id, note),
        "confirm": lambda p: hotline.confirm(service, p, contact_id, note),
        "cancel": lambda p: hotline.request_change(service, p, contact_id, "cancel", note),
        "change": lambda p: hotline.request_change(service, p, contact_id, "change", note),
        "note": lambda p: hotline.add_note(service, p, contact_id, note),
    }
    if action not in do:
        raise not_found("action")
    return _form(request, csrf, do[action])
