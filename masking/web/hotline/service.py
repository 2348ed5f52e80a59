"""The hotline on behalf of a :class:`Principal` (issue 12, seed 004): the agent's live pop,
verifying the caller without revealing them, the voice flag, and what an identified
caller may have done; the recent contacts, read-only, for the site's managers, admin and
QA.

Who may do what (:mod:`masking.policy`):

- ``work_hotline`` (owner, staff manager, employee of the hotline's site): the pop of the
  contact their desk phone answered, and everything on it; a contact answered by a
  colleague is theirs (403 ``not_your_contact``);
- ``see_hotline`` (owner and staff manager of the site, admin, QA): the recent contacts
  and a contact's audit, never acting on them.

No view carries the customer's name, address or number; the caller's number is masked.
What the agent typed is never sent back: a verification answers per field ``match``,
``close`` or ``no_match``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.cases import lifecycle
from masking.cases.rules import RuleBroken
from masking.hotline import contacts, verify
from masking.policy import Action, may
from masking.service import MaskingService
from masking.states import MatchType
from masking.storage.models import (
    CallRecord,
    CaseEvent,
    Hotline,
    HotlineContact,
    Shipment,
    Site,
)
from masking.web.auth import Principal, need
from masking.web.case_views import login_of, notes_view
from masking.web.errors import ApiError, bad_input, forbidden, not_found, other_site
from masking.web.lookups import iso, site_for

MAX_PAGE = 200
# a rule the domain refuses with, answered 403 (who) rather than 409 (the contact's state)
_WHO_RULES = frozenset({"not_your_contact"})
TYPO_MATCHES = (MatchType.TYPO_1.value, MatchType.TYPO_2.value)


# ---- errors ------------------------------------------------------------------------------
def _rule(exc: RuleBroken) -> ApiError:
    status = 403 if exc.rule in _WHO_RULES else 409
    return ApiError(status, exc.rule, str(exc), params=dict(exc.params))


def _domain_error(exc: Exception) -> ApiError:
    if isinstance(exc, RuleBroken):
        return _rule(exc)
    if isinstance(exc, verify.ContactNotFound):
        return not_found("contact")
    return bad_input(str(exc))


_DOMAIN_ERRORS = (RuleBroken, verify.ContactNotFound, ValueError)


def _worker(p: Principal) -> None:
    need(p, Action.WORK_HOTLINE, "the hotline is answered by the staff of its site")


# ---- views -------------------------------------------------------------------------------
def order_fields(view: verify.OrderView) -> dict[str, Any]:
    """An order as the agent sees it (no name, address or number of the customer)."""
    data = asdict(view)
    data["created_at"] = iso(view.created_at)
    return data


def _candidates(session: Session, contact: HotlineContact) -> list[dict[str, Any]]:
    shown = []
    hotline = session.get(Hotline, contact.hotline_id)
    for item in contact.candidates or []:
        if not isinstance(item, Mapping):
            continue
        shipment_id, distance = item.get("shipment_id"), item.get("distance")
        shipment = session.get(Shipment, shipment_id) if isinstance(shipment_id, int) else None
        if shipment is None or hotline is None or shipment.site_id != hotline.site_id:
            continue
        shown.append({"distance": distance, **order_fields(verify.order_view(session, shipment))})
    return shown


def _events(session: Session, case_id: str) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
    )


def contact_view(
    session: Session,
    contact: HotlineContact,
    now: datetime,
    pop: contacts.PopView | None = None,
) -> dict[str, Any]:
    """The contact as its agent's screen shows it: the match, the candidate orders, the
    state of the verification and which actions are open now."""
    hotline = session.get(Hotline, contact.hotline_id)
    assert hotline is not None
    call = session.get(CallRecord, contact.call_id) if contact.call_id else None
    candidates = _candidates(session, contact)
    proven = next((c for c in candidates if c["shipment_id"] == contact.shipment_id), None)
    if proven is None and contact.shipment_id is not None:
        shipment = session.get(Shipment, contact.shipment_id)
        if shipment is not None:
            proven = order_fields(verify.order_view(session, shipment))
    identified = contact.identified_at is not None and proven is not None
    may_change = identified and not contact.voice_mismatch
    opened = any(e.action == "opened" for e in _events(session, contact.case_id))
    typo = contact.match_type in TYPO_MATCHES
    live = call is None or call.ended_at is None
    caller = pop.caller_masked if pop is not None else contacts.mask_caller(contact.caller_number)
    ambiguous = pop.ambiguous if pop is not None else False
    return {
        "id": contact.id,
        "code": contact.code,
        "brand": hotline.brand,
        "support_email": hotline.support_email,
        "match_type": contact.match_type,
        "ambiguous": ambiguous,
        "caller": caller,
        "answered_at": iso(contact.answered_at),
        "live": live,
        # how long the conversation has lasted (the console's clock runs on from it)
        "seconds": int((now - contact.answered_at).total_seconds())
        if live and contact.answered_at is not None
        else None,
        "ended_at": iso(call.ended_at) if call is not None else None,
        "candidates": candidates,
        "tries": contact.tries,
        "tries_left": max(0, verify.MAX_TRIES - contact.tries),
        "max_tries": verify.MAX_TRIES,
        "verified": dict(contact.verified or {}),
        "identified": identified,
        "identified_at": iso(contact.identified_at),
        "order": proven,
        "voice_mismatch": contact.voice_mismatch,
        "opened": opened,
        "may_change": may_change,
        "may_correct_number": may_change and typo,
        "may_confirm": may_change and bool(proven and proven["awaiting_confirmation"]),
    }


def _contact(session: Session, p: Principal, contact_id: str) -> HotlineContact:
    """The contact, if ``p`` may see it: its agent, or a reader of its site's hotline."""
    if not (may(p.role, Action.WORK_HOTLINE) or may(p.role, Action.SEE_HOTLINE)):
        raise forbidden()
    contact = session.get(HotlineContact, contact_id) if len(contact_id) <= 32 else None
    if contact is None:
        raise not_found("contact")
    hotline = session.get(Hotline, contact.hotline_id)
    assert hotline is not None
    if p.site_id is not None and hotline.site_id != p.site_id:
        raise other_site()
    if contact.agent_id != p.id and not may(p.role, Action.SEE_HOTLINE):
        raise ApiError(403, "not_your_contact", "contact: it was answered by another agent")
    return contact


def _own_contact(service: MaskingService, p: Principal, contact_id: str) -> None:
    """Refuse unless ``p`` works the hotline and the contact is of their site (the
    domain then checks it is theirs)."""
    _worker(p)
    with service.db.session() as session:
        contact = _contact(session, p, contact_id)
        if contact.agent_id != p.id:
            raise ApiError(403, "not_your_contact", "contact: it was answered by another agent")


# ---- the agent's screen ----------------------------------------------------------------------
def pop(service: MaskingService, p: Principal) -> dict[str, Any]:
    """``{"contact": ...}``: the contact ``p``'s desk phone answered last, while its call is
    up and for the wrap-up after; ``null`` when there is none."""
    _worker(p)
    view = contacts.current_pop(service, p.id)
    if view is None:
        return {"contact": None}
    with service.db.session() as session:
        contact = session.get(HotlineContact, view.contact_id)
        if contact is None:
            return {"contact": None}
        return {"contact": contact_view(session, contact, service.clock(), view)}


def contact_detail(service: MaskingService, p: Principal, contact_id: str) -> dict[str, Any]:
    """The contact with its audit (what was checked and done, never what was said) and
    notes: for its agent and the readers of the site's hotline."""
    with service.db.session() as session:
        contact = _contact(session, p, contact_id)
        view = contact_view(session, contact, service.clock())
        view["agent"] = login_of(session, contact.agent_id)
        view["events"] = [
            {
                "at": iso(e.at),
                "staff": login_of(session, e.staff_id),
                "action": e.action,
                "detail": e.detail,
            }
            for e in _events(session, contact.case_id)
        ]
        view["notes"] = notes_view(session, contact.case_id)
        return view


def _after(service: MaskingService, p: Principal, contact_id: str) -> dict[str, Any]:
    with service.db.session() as session:
        contact = session.get(HotlineContact, contact_id)
        assert contact is not None
        return contact_view(session, contact, service.clock())


# ---- verification --------------------------------------------------------------------------
def _shipment_for(
    service: MaskingService, contact_id: str, shipment_id: Any, said: Mapping[str, str]
) -> int:
    """The candidate the caller is checked against: the one named, else the only one, else
    the one whose number the caller said."""
    if shipment_id is not None:
        if isinstance(shipment_id, bool) or not isinstance(shipment_id, int):
            raise bad_input("shipment_id: a candidate's shipment_id")
        return shipment_id
    with service.db.session() as session:
        contact = session.get(HotlineContact, contact_id)
        assert contact is not None
        candidates = _candidates(session, contact)
    if not candidates:
        raise ApiError(
            409, "not_a_candidate", "the caller's number matched no order: nothing to verify"
        )
    if len(candidates) == 1:
        return int(candidates[0]["shipment_id"])
    said_order = said.get("order") or ""
    for candidate in candidates:
        if verify.compare("order", said_order, candidate["order"]).value == "match":
            return int(candidate["shipment_id"])
    raise bad_input("shipment_id: choose the order the caller is asking about")


def check(
    service: MaskingService, p: Principal, contact_id: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """One try: what the caller said (``name``, ``order``, ``city``, ``address``) against
    a candidate order (``shipment_id``); per field ``match`` / ``close`` / ``no_match``,
    never the stored value nor what was said."""
    said: dict[str, str] = {}
    for name in verify.FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise bad_input(f"{name}: must be text")
        if value.strip():
            said[name] = value
    _own_contact(service, p, contact_id)
    shipment_id = _shipment_for(service, contact_id, body.get("shipment_id"), said)
    try:
        results = verify.verify(service, contact_id, p.id, shipment_id=shipment_id, said=said)
    except _DOMAIN_ERRORS as exc:
        raise _domain_error(exc) from None
    view = _after(service, p, contact_id)
    return {
        "results": {name: result.value for name, result in results.items()},
        "identified": view["identified"],
        "tries": view["tries"],
        "tries_left": view["tries_left"],
        "contact": view,
    }


def _act(service: MaskingService, p: Principal, contact_id: str, action: Any) -> dict[str, Any]:
    _own_contact(service, p, contact_id)
    try:
        action()
    except _DOMAIN_ERRORS as exc:
        raise _domain_error(exc) from None
    return _after(service, p, contact_id)


def _note(note: Any) -> str:
    if note is not None and not isinstance(note, str):
        raise bad_input("note: must be text")
    note = (note or "").strip()
    if len(note) > lifecycle.MAX_NOTE:
        raise bad_input(f"note: at most {lifecycle.MAX_NOTE} characters")
    return note


def flag_voice(service: MaskingService, p: Principal, contact_id: str, note: Any) -> dict[str, Any]:
    text = _note(note)
    return _act(
        service, p, contact_id, lambda: verify.flag_voice_mismatch(service, contact_id, p.id, text)
    )


def open_order(service: MaskingService, p: Principal, contact_id: str) -> dict[str, Any]:
    """The proven order, opened for changes (audited)."""
    opened: list[verify.OrderView] = []
    view = _act(
        service,
        p,
        contact_id,
        lambda: opened.append(verify.open_for_changes(service, contact_id, p.id)),
    )
    return {"order": order_fields(opened[0]), "contact": view}


def find_order(service: MaskingService, p: Principal, contact_id: str, ref: Any) -> dict[str, Any]:
    """The light path: an order of the site by its number (status, model, store)."""
    if not isinstance(ref, str):
        raise bad_input("order: the order's number")
    found: list[verify.OrderView | None] = []
    view = _act(
        service,
        p,
        contact_id,
        lambda: found.append(verify.find_order(service, contact_id, p.id, ref)),
    )
    return {"order": order_fields(found[0]) if found[0] else None, "contact": view}


def correct_number(
    service: MaskingService, p: Principal, contact_id: str, note: Any
) -> dict[str, Any]:
    text = _note(note)
    return _act(
        service, p, contact_id, lambda: verify.correct_number(service, contact_id, p.id, text)
    )


def confirm(service: MaskingService, p: Principal, contact_id: str, note: Any) -> dict[str, Any]:
    text = _note(note)
    return _act(
        service, p, contact_id, lambda: verify.confirm_order(service, contact_id, p.id, text)
    )


def request_change(
    service: MaskingService, p: Principal, contact_id: str, kind: str, note: Any
) -> dict[str, Any]:
    text = _note(note)
    return _act(
        service,
        p,
        contact_id,
        lambda: verify.request_change(service, contact_id, p.id, kind, text),
    )


def add_note(service: MaskingService, p: Principal, contact_id: str, text: Any) -> dict[str, Any]:
    note = _note(text)
    if not note:
        raise bad_input("text: write the note")
    return _act(service, p, contact_id, lambda: verify.add_note(service, contact_id, p.id, note))


def site_zone(service: MaskingService, code: str | None) -> str:
    """The time zone the site's contacts are shown in (the service's default without one)."""
    if code:
        with service.db.session() as session:
            tz = session.scalar(select(Site.timezone).where(Site.code == code))
        if tz:
            return tz
    return service.settings.timezone


# ---- the recent contacts (read-only) -----------------------------------------------------------
def recent(
    service: MaskingService, p: Principal, *, site: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """The hotline contacts of the site (admin and QA: every site, or the one named),
    newest first: match, agent, tries, outcome; never a number, a name or an address."""
    need(p, Action.SEE_HOTLINE)
    if not 1 <= limit <= MAX_PAGE:
        raise bad_input(f"limit: must be between 1 and {MAX_PAGE}")
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
        query = (
            select(HotlineContact, Hotline, Site.code)
            .join(Hotline, Hotline.id == HotlineContact.hotline_id)
            .join(Site, Site.id == Hotline.site_id)
            .order_by(HotlineContact.created_at.desc(), HotlineContact.id)
            .limit(limit)
        )
        if target is not None:
            query = query.where(Hotline.site_id == target.id)
        rows = session.execute(query).all()
        items = []
        for contact, hotline, code in rows:
            proven = session.get(Shipment, contact.shipment_id) if contact.shipment_id else None
            items.append(
                {
                    "id": contact.id,
                    "site": code,
                    "brand": hotline.brand,
                    "code": contact.code,
                    "created_at": iso(contact.created_at),
                    "match_type": contact.match_type,
                    "candidates": len(contact.candidates or []),
                    "agent": login_of(session, contact.agent_id),
                    "answered_at": iso(contact.answered_at),
                    "tries": contact.tries,
                    "identified": contact.identified_at is not None,
                    "order": proven.external_number if proven is not None else None,
                    "voice_mismatch": contact.voice_mismatch,
                }
            )
        return {"site": target.code if target else None, "contacts": items}
