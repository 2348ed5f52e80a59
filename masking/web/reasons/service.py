"""Reasons on behalf of a :class:`Principal`: everyone lists them, admins edit them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.policy import Action, may
from masking.service import MaskingService
from masking.shapes import REASON_RE
from masking.states import ReasonKind
from masking.storage.models import Reason
from masking.web.auth import Principal, need
from masking.web.errors import ApiError, bad_input, not_found
from masking.web.lookups import check_one_of

EDITS_REASONS = "only a platform admin edits reasons"


def reason_view(r: Reason) -> dict[str, Any]:
    return {
        "code": r.code,
        "title_ru": r.title_ru,
        "title_en": r.title_en,
        "kind": r.kind,
        "active": r.active,
    }


def reason_views(session: Session, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    query = select(Reason).order_by(Reason.kind.desc(), Reason.code)
    if not include_inactive:
        query = query.where(Reason.active)
    return [reason_view(r) for r in session.scalars(query)]


def list_reasons(
    service: MaskingService, p: Principal, include_inactive: bool
) -> list[dict[str, Any]]:
    with service.db.session() as session:
        return reason_views(
            session, include_inactive=include_inactive and may(p.role, Action.EDIT_REASONS)
        )


def _titles(title_ru: str | None, title_en: str | None) -> None:
    for name, value in (("title_ru", title_ru), ("title_en", title_en)):
        if value is not None and not 1 <= len(value.strip()) <= 300:
            raise bad_input(f"{name}: 1-300 characters")


def create_reason(
    service: MaskingService, p: Principal, code: str, title_ru: str, title_en: str, kind: str
) -> dict[str, Any]:
    need(p, Action.EDIT_REASONS, EDITS_REASONS)
    if not REASON_RE.match(code or ""):
        raise bad_input("code: 2-40 lower-case letters, digits or '_', starting with a letter")
    _titles(title_ru, title_en)
    check_one_of("kind", kind, ReasonKind)
    with service.db.session() as session:
        if session.get(Reason, code) is not None:
            raise ApiError(409, "exists", f"reason {code!r} already exists")
        reason = Reason(
            code=code, title_ru=title_ru.strip(), title_en=title_en.strip(), kind=kind, active=True
        )
        session.add(reason)
        session.flush()
        return reason_view(reason)


def update_reason(
    service: MaskingService,
    p: Principal,
    code: str,
    *,
    active: bool | None,
    title_ru: str | None,
    title_en: str | None,
) -> dict[str, Any]:
    need(p, Action.EDIT_REASONS, EDITS_REASONS)
    _titles(title_ru, title_en)
    with service.db.session() as session:
        reason = session.get(Reason, code) if REASON_RE.match(code or "") else None
        if reason is None:
            raise not_found("reason")
        if active is not None:
            reason.active = active
        if title_ru is not None:
            reason.title_ru = title_ru.strip()
        if title_en is not None:
            reason.title_en = title_en.strip()
        session.flush()
        return reason_view(reason)
