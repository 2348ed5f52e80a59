"""``/api/v1/hotline``: the agent's live pop, verifying the caller without revealing them
(per field ``match`` / ``close`` / ``no_match``), the voice flag, and what an identified
caller may have done; the recent contacts and one contact's audit, read-only."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from masking.web.auth import Service, Who
from masking.web.hotline import service as hotline
from masking.web.schemas import SiteFilter, Strict

router = APIRouter()
TAGS: list[str | Enum] = ["hotline"]

ContactId = Annotated[str, Path(max_length=64)]


class VerifyIn(Strict):
    shipment_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="the candidate order (else inferred)"
    )
    name: str | None = Field(default=None, max_length=300, examples=["Anna Ivanova"])
    order: str | None = Field(default=None, max_length=300, examples=["100042"])
    city: str | None = Field(default=None, max_length=300, examples=["Ust-Kamenogorsk"])
    address: str | None = Field(default=None, max_length=300)


class NoteIn(Strict):
    note: str = Field(default="", max_length=4000)


class TextIn(Strict):
    text: str = Field(min_length=1, max_length=4000)


class FindIn(Strict):
    order: str = Field(min_length=1, max_length=64, examples=["100042"])


@router.get("/hotline/pop", tags=TAGS)
def pop(service: Service, p: Who) -> Any:
    """Your screen pop: the hotline contact your desk phone answered last, while the call
    is up and for 10 minutes after (``contact`` null otherwise). The match type (exact,
    typo_1, typo_2, none), whether the best candidates are several customers
    (``ambiguous``), the candidate orders (number, status, model, store), the caller's
    number masked, the verification so far and which actions are open. Never the
    customer's name, address or number. Poll it every 1-2 s."""
    return hotline.pop(service, p)


@router.get("/hotline/contacts", tags=TAGS)
def contacts(
    service: Service,
    p: Who,
    site: SiteFilter = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Recent hotline contacts of the site, newest first (owner, staff manager, admin, QA;
    read-only): match, agent, tries, identified, the voice flag."""
    return hotline.recent(service, p, site=site, limit=limit)


@router.get("/hotline/contacts/{contact}", tags=TAGS)
def contact(service: Service, p: Who, contact: ContactId) -> Any:
    """One contact with its audit: which fields matched on each try, never what was said."""
    return hotline.contact_detail(service, p, contact)


@router.post("/hotline/contacts/{contact}/verify", tags=TAGS)
def verify(service: Service, p: Who, contact: ContactId, body: VerifyIn) -> Any:
    """One try (of 3) at identifying the caller on a candidate order: type what the caller
    said. ``results``: per field ``match``, ``close`` (ask again) or ``no_match``; name,
    order number and city (or address) matched in one try identify the caller. 409
    ``tries_exhausted``, ``already_identified``, ``not_a_candidate``, ``call_ended``."""
    return hotline.check(service, p, contact, body.model_dump(exclude_none=True))


@router.post("/hotline/contacts/{contact}/voice-mismatch", tags=TAGS)
def voice_mismatch(service: Service, p: Who, contact: ContactId, body: NoteIn) -> Any:
    """The voice is clearly not the buyer's: no change on this call (409 ``voice_mismatch``
    on every change); the buyer must call the hotline himself."""
    return hotline.flag_voice(service, p, contact, body.note)


@router.post("/hotline/contacts/{contact}/open", tags=TAGS)
def open_order(service: Service, p: Who, contact: ContactId) -> Any:
    """Open the proven order for changes (identified callers only; audited)."""
    return hotline.open_order(service, p, contact)


@router.post("/hotline/contacts/{contact}/find-order", tags=TAGS)
def find_order(service: Service, p: Who, contact: ContactId, body: FindIn) -> Any:
    """A service question after purchase: find an order of the site by its number (status,
    model, store); no identification needed."""
    return hotline.find_order(service, p, contact, body.order)


@router.post("/hotline/contacts/{contact}/correct-number", tags=TAGS)
def correct_number(service: Service, p: Who, contact: ContactId, body: NoteIn) -> Any:
    """The typo case: the identified caller's order gets the number they call from; its
    temporary numbers are revoked."""
    return hotline.correct_number(service, p, contact, body.note)


@router.post("/hotline/contacts/{contact}/confirm", tags=TAGS)
def confirm(service: Service, p: Who, contact: ContactId, body: NoteIn) -> Any:
    """Confirm the identified caller's order awaiting confirmation: this call is the
    conversation that counts (at least 10 s since it was answered); a note is required."""
    return hotline.confirm(service, p, contact, body.note)


@router.post("/hotline/contacts/{contact}/cancel", tags=TAGS)
def cancel(service: Service, p: Who, contact: ContactId, body: NoteIn) -> Any:
    """Ask the shop to cancel the identified caller's order (an event out); a note says
    why."""
    return hotline.request_change(service, p, contact, "cancel", body.note)


@router.post("/hotline/contacts/{contact}/change", tags=TAGS)
def change(service: Service, p: Who, contact: ContactId, body: NoteIn) -> Any:
    """Ask the shop to change the identified caller's order (an event out); the note says
    what."""
    return hotline.request_change(service, p, contact, "change", body.note)


@router.post("/hotline/contacts/{contact}/notes", tags=TAGS)
def note(service: Service, p: Who, contact: ContactId, body: TextIn) -> Any:
    return hotline.add_note(service, p, contact, body.text)
