"""Verifying a hotline caller without revealing who they are (seed 004).

The agent never says the customer's name or address: the customer says them, the agent
types what was said, and the service answers per field *match*, *close* or *no match*,
never the stored value (not in a return value, an error, an audit detail or a log line).

Comparison (:func:`normalise`, :func:`compare`) is forgiving where people differ in
writing, not in substance: case, ё/е, whitespace and punctuation, Latin vs Cyrillic
spellings ("Ivanov" / "Иванов", "Shcherbakov" / "Щербаков", "Yulia" / "Юлия"), name parts
in another order, "г." / "ул." and the like. A small typo, or a name with one part
missing, is *close*: the agent asks again; it never counts as a match.

Full identification (:data:`REQUIRED`): the name, the order number and the city (or the
address) matched in one try, against one of the contact's candidate orders. At most
:data:`MAX_TRIES` tries per contact; each is audited on the contact's case with which
fields matched, never what was said. Only an identified caller, whose voice the agent did
not flag as not the buyer's, may have the order opened for changes: confirm an order
awaiting confirmation (the hotline call is the evidence), ask the shop to cancel or change
it, or, in the typo case, correct the order's number to the one the caller calls from.
The light path (a service question after purchase) needs none of that: the candidates'
store and model are on the pop, and :func:`find_order` finds an order by its number.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.campaigns import orders
from masking.cases import lifecycle, outbox
from masking.cases.rules import OPEN, Attempt, RuleBroken
from masking.numbers.phones import mask_number
from masking.policy import Action, may
from masking.service import MaskingService
from masking.states import Disposition, FieldMatch, MatchType
from masking.storage.models import (
    Binding,
    CallRecord,
    Case,
    CaseNote,
    Hotline,
    HotlineContact,
    Order,
    Shipment,
    Staff,
)

log = logging.getLogger("masking.hotline.verify")

# what the customer says, as the agent types it
FIELDS = ("name", "order", "city", "address")
# full identification: all of these matched in one try; the address stands in for the city
REQUIRED = ("name", "order", "city")
ALTERNATIVES: dict[str, tuple[str, ...]] = {"city": ("city", "address")}
MAX_TRIES = 3
MAX_SAID = 300  # characters of one field
# after the call ended the agent may still finish (a note, the action agreed on the phone)
WRAP_UP = timedelta(minutes=10)
# events out, for the shop's system (through the outbox, like every case event)
CANCEL_REQUESTED = "order.cancel_requested"
CHANGE_REQUESTED = "order.change_requested"
NUMBER_CORRECTED = "order.phone_corrected"


class ContactNotFound(LookupError):
    pass


# ---- normalising -------------------------------------------------------------------------
_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "",
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
    # Ukrainian, Belarusian
    "і": "i",
    "ї": "i",
    "є": "e",
    "ґ": "g",
    "ў": "u",
    # Kazakh
    "ә": "a",
    "ғ": "g",
    "қ": "k",
    "ң": "n",
    "ө": "o",
    "ұ": "u",
    "ү": "u",
    "һ": "h",
}
# scholarly / ISO 9 letters before their accents are stripped
_LATIN_SPECIAL = {"š": "sh", "ž": "zh", "č": "ch", "ŝ": "sh", "ß": "ss", "ø": "o", "æ": "ae"}
# the usual Latin spellings of Russian names, rewritten to one form (both sides alike)
_LATIN_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"shch|sch|shh", "sh"),
        (r"kh", "h"),
        (r"x", "ks"),
        (r"w", "v"),
        (r"ph", "f"),
        (r"ck|q", "k"),
        (r"tz", "ts"),
        (r"c(?!h)", "k"),
        (r"[jy]", "i"),
        (r"i[eo]", "e"),  # Yelena / Елена, Afanasyev / Афанасьев, Fyodor / Фёдор
        (r"([a-z])\1+", r"\1"),  # Anna / Анна, Mariia / Maria (letters only: never digits)
    )
)
_NOT_WORD = re.compile(r"[^0-9a-z]+")
# words around a place that people say or leave out
_PLACE_WORDS = frozenset(
    {
        "g",
        "gor",
        "gorod",
        "city",
        "s",
        "selo",
        "pos",
        "poselok",
        "pgt",
        "aul",
        "d",
        "dom",
        "der",
        "kv",
        "kvartira",
        "ul",
        "ulitsa",
        "pr",
        "prt",
        "prosp",
        "prospekt",
        "mkr",
        "mkrn",
        "mikroraion",
        "korp",
        "korpus",
        "str",
        "stroenie",
        "street",
        "st",
        "ave",
        "apt",
        "of",
        "ofis",
        "per",
        "pereulok",
        "bulvar",
        "bul",
        "shose",
        "pl",
        "ploshad",
        "obl",
        "oblast",
        "raion",
        "r",
        "n",
    }
)


def _latin(text: str) -> str:
    out = [_CYRILLIC.get(char, _LATIN_SPECIAL.get(char, char)) for char in text]
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _skeleton(token: str) -> str:
    for pattern, replacement in _LATIN_RULES:
        token = pattern.sub(replacement, token)
    return token


def normalise(text: str) -> str:
    """One form for what people write differently: lower case, ё as е, Cyrillic and
    Latin spellings transliterated to one Latin form (:data:`_LATIN_RULES`), punctuation
    as spaces, single spaces. ``"Щербаков-Иванов, Ёлка"`` and ``"shcherbakov ivanov
    yolka"`` give the same string."""
    text = unicodedata.normalize("NFKC", (text or "").replace("№", " ")).lower()
    words = _NOT_WORD.split(_latin(text))
    return " ".join(_skeleton(word) for word in words if word)


def _order_key(text: str) -> str:
    """An order number as said: case, punctuation and spaces aside, Cyrillic letters read
    as Latin ("ПВЗ1-00011" is "pvz100011"); no spelling rules (a doubled letter counts)."""
    text = unicodedata.normalize("NFKC", (text or "").replace("№", " ")).lower()
    return _NOT_WORD.sub("", _latin(text))


def distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) of ``a`` and ``b``; once
    it exceeds ``limit``, ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def _tolerance(token: str) -> int:
    """Edits a word may be off and still be *close*: one per 8 letters; numbers (a house,
    a flat) none."""
    if token.isdigit() or len(token) < 4:
        return 0
    return (len(token) + 7) // 8


def _tokens(field: str, text: str) -> list[str]:
    words = normalise(text).split()
    if field in ("city", "address"):
        kept = [w for w in words if w not in _PLACE_WORDS]
        return kept or words
    return words


def _assign(said: Sequence[str], stored: Sequence[str]) -> list[int | None]:
    """For each stored word, its distance to the said word paired with it (each said word
    used once, the closest pairs first), None when no said word is within its
    tolerance."""
    pairs = sorted(
        (d, k, i)
        for k, word in enumerate(stored)
        for i, heard in enumerate(said)
        if (d := distance(word, heard, _tolerance(word))) <= _tolerance(word)
    )
    result: list[int | None] = [None] * len(stored)
    used: set[int] = set()
    for d, k, i in pairs:
        if result[k] is None and i not in used:
            result[k] = d
            used.add(i)
    return result


def compare(field: str, said: str, stored: str) -> FieldMatch:
    """What the customer said against what the order holds, as *match*, *close* or *no
    match* (never anything of ``stored``). Nothing stored, or nothing said: no match.

    - ``order``: the same characters (spaces and punctuation aside); one slip in a number
      of 6 or more characters is close.
    - ``name``, ``city``, ``address``: words in any order; every stored word said exactly
      (at most one word more said: a patronymic the order lacks) is a match; one stored
      word not said, or said with a small typo (one edit per 8 letters, none in a
      number), the others exact and no other word said, is close.
    """
    if field not in FIELDS:
        raise ValueError(f"field: one of {', '.join(FIELDS)}")
    if field == "order":
        a, b = _order_key(said), _order_key(stored)
        if not a or not b:
            return FieldMatch.NO_MATCH
        if a == b:
            return FieldMatch.MATCH
        if len(b) >= 6 and distance(a, b, 1) <= 1:
            return FieldMatch.CLOSE
        return FieldMatch.NO_MATCH
    heard, known = _tokens(field, said), _tokens(field, stored)
    if not heard or not known:
        return FieldMatch.NO_MATCH
    if sorted(heard) == sorted(known) or "".join(heard) == "".join(known):
        return FieldMatch.MATCH
    paired = _assign(heard, known)
    exact = sum(1 for d in paired if d == 0)
    typos = sum(1 for d in paired if d)
    missing = sum(1 for d in paired if d is None)
    extra = len(heard) - (exact + typos)
    if missing == 0 and typos == 0 and extra <= 1:
        return FieldMatch.MATCH
    # close: one word with a small typo, or one word not said; never a wrong word said
    # ("Петров Иван" for "Иванов Иван" is no match, not "the first name is right")
    if extra == 0 and typos + missing == 1 and (exact >= 1 or typos == 1):
        return FieldMatch.CLOSE
    return FieldMatch.NO_MATCH


def identified_by(results: Mapping[str, FieldMatch]) -> bool:
    """Whether one try's results identify the caller (:data:`REQUIRED`)."""
    return all(
        any(results.get(name) == FieldMatch.MATCH for name in ALTERNATIVES.get(field, (field,)))
        for field in REQUIRED
    )


# ---- what the agent sees of an order ---------------------------------------------------------
@dataclass(frozen=True)
class OrderView:
    """An order as the agent may see it: never the customer's name, address or number."""

    shipment_id: int
    order: str  # the order's (shipment's) number
    status: str
    model: str
    store: str
    order_id: int | None  # the order to confirm (campaigns), if the shop sent one
    awaiting_confirmation: bool  # its confirmation case is open
    confirmed: bool  # confirmed by phone (the shop's status may still say otherwise)
    created_at: datetime | None


def order_view(session: Session, shipment: Shipment) -> OrderView:
    order = session.scalar(select(Order).where(Order.shipment_id == shipment.id))
    awaiting = False
    if order is not None:
        status = session.scalar(select(Case.status).where(Case.id == order.case_id))
        awaiting = status in OPEN and order.confirmed_at is None
    return OrderView(
        shipment_id=shipment.id,
        order=shipment.external_number,
        status=order.status if order is not None else shipment.status,
        model=order.model if order is not None else "",
        store=order.store if order is not None else "",
        order_id=order.id if order is not None else None,
        awaiting_confirmation=awaiting,
        confirmed=order is not None and order.confirmed_at is not None,
        created_at=order.created_at if order is not None else shipment.created_at,
    )


# ---- the contact and who works it --------------------------------------------------------
@dataclass
class _Work:
    session: Session
    contact: HotlineContact
    hotline: Hotline
    case: Case
    staff: Staff
    call: CallRecord | None


def _work(
    session: Session, contact_id: str, staff_id: int, now: datetime, *, live: bool = False
) -> _Work:
    """The contact, locked, if ``staff_id`` is the agent it popped to and its call is up
    (``live``) or ended less than :data:`WRAP_UP` ago."""
    contact = (
        session.get(HotlineContact, contact_id, with_for_update=True)
        if contact_id and len(contact_id) <= 32
        else None
    )
    if contact is None:
        raise ContactNotFound(contact_id)
    hotline = session.get(Hotline, contact.hotline_id)
    case = session.get(Case, contact.case_id)
    staff = session.get(Staff, staff_id)
    assert hotline is not None and case is not None
    if (
        staff is None
        or not staff.active
        or staff.site_id != hotline.site_id
        or not may(staff.role, Action.WORK_HOTLINE)
    ):
        raise RuleBroken("not_your_contact", "contact: it is not on your line")
    if contact.agent_id != staff_id:
        raise RuleBroken("not_your_contact", "contact: it was answered by another agent")
    call = session.get(CallRecord, contact.call_id) if contact.call_id else None
    if call is not None and call.ended_at is not None:
        if live:
            raise RuleBroken("call_ended", "contact: the call has ended")
        if now - call.ended_at > WRAP_UP:
            raise RuleBroken("call_ended", "contact: the call ended too long ago")
    return _Work(session, contact, hotline, case, staff, call)


def _candidate_ids(contact: HotlineContact) -> list[int]:
    ids = []
    for candidate in contact.candidates or []:
        value = candidate.get("shipment_id") if isinstance(candidate, Mapping) else None
        if isinstance(value, int):
            ids.append(value)
    return ids


def _changes_allowed(work: _Work) -> Shipment:
    """The proven order, if the caller is identified and their voice was not flagged."""
    contact = work.contact
    if contact.identified_at is None or contact.shipment_id is None:
        raise RuleBroken(
            "not_identified", "identification: the caller is not identified (name, order, city)"
        )
    if contact.voice_mismatch:
        raise RuleBroken(
            "voice_mismatch",
            "voice: it does not match the buyer; the buyer must call the hotline himself",
        )
    return _shipment(work.session, contact.shipment_id)


def _shipment(session: Session, shipment_id: int) -> Shipment:
    shipment = session.get(Shipment, shipment_id)
    assert shipment is not None
    return shipment


def _note(session: Session, work: _Work, now: datetime, text: str) -> None:
    text = (text or "").strip()[: lifecycle.MAX_NOTE]
    if text:
        session.add(CaseNote(case_id=work.case.id, staff_id=work.staff.id, at=now, text=text))


def _summary(results: Mapping[str, FieldMatch]) -> str:
    return ", ".join(f"{name}={results[name].value}" for name in FIELDS if name in results)


# ---- use cases ---------------------------------------------------------------------------
def verify(
    service: MaskingService,
    contact_id: str,
    staff_id: int,
    *,
    shipment_id: int,
    said: Mapping[str, str],
) -> dict[str, FieldMatch]:
    """Compare what the caller said (``said``: field -> text, see :data:`FIELDS`) with the
    candidate order ``shipment_id``; one try of :data:`MAX_TRIES`, audited with the
    results only. All of :data:`REQUIRED` matched identifies the caller for that order.
    Raises :class:`RuleBroken` (``tries_exhausted``, ``already_identified``,
    ``not_a_candidate``, ``call_ended``, ``not_your_contact``) or ``ValueError`` (input)."""
    given = {}
    for name, value in said.items():
        if name not in FIELDS:
            raise ValueError(f"{name}: not a field; use {', '.join(FIELDS)}")
        if not isinstance(value, str) or len(value) > MAX_SAID:
            raise ValueError(f"{name}: at most {MAX_SAID} characters of text")
        if value.strip():
            given[name] = value
    if not given:
        raise ValueError("said: type what the caller said (name, order, city or address)")
    now = service.clock()
    with service.db.session() as session:
        work = _work(session, contact_id, staff_id, now, live=True)
        contact = work.contact
        if contact.identified_at is not None:
            raise RuleBroken("already_identified", "identification: the caller is identified")
        if contact.tries >= MAX_TRIES:
            raise RuleBroken(
                "tries_exhausted",
                f"identification: all {MAX_TRIES} tries are used",
                tries=MAX_TRIES,
            )
        if shipment_id not in _candidate_ids(contact):
            raise RuleBroken("not_a_candidate", "shipment_id: not an order of this caller")
        shipment = _shipment(session, shipment_id)
        stored = {
            "name": shipment.customer_name,
            "order": shipment.external_number,
            "city": shipment.customer_city,
            "address": shipment.customer_address,
        }
        results = {name: compare(name, value, stored[name]) for name, value in given.items()}
        contact.tries += 1
        contact.verified = {name: result.value for name, result in results.items()}
        detail = (
            f"order {shipment.external_number}: {_summary(results)}; "
            f"try {contact.tries} of {MAX_TRIES}"
        )
        lifecycle.audit(session, work.case, "verify", now, staff_id=staff_id, detail=detail)
        if identified_by(results):
            contact.shipment_id = shipment.id
            contact.identified_at = now
            # the case keeps no shipment: an open case on it would take the desk's calls to
            # that customer as its attempts (masking.cases.lifecycle.open_case_of_shipment)
            lifecycle.audit(
                session,
                work.case,
                "identified",
                now,
                staff_id=staff_id,
                detail=f"order {shipment.external_number}",
            )
        elif contact.tries >= MAX_TRIES:
            lifecycle.audit(session, work.case, "tries_exhausted", now, staff_id=staff_id)
        tries, identified = contact.tries, contact.identified_at is not None
    log.info(
        "hotline contact %s: try %d by staff %s: %s%s",
        contact_id,
        tries,
        staff_id,
        _summary(results),
        " (identified)" if identified else "",
    )
    return results


def flag_voice_mismatch(service: MaskingService, contact_id: str, staff_id: int, note: str) -> None:
    """The voice is clearly not the buyer's (seed 004): no change to the order on this
    call; the buyer must call the hotline himself. Audited; the note (optional) is kept."""
    now = service.clock()
    with service.db.session() as session:
        work = _work(session, contact_id, staff_id, now)
        if not work.contact.voice_mismatch:
            work.contact.voice_mismatch = True
            lifecycle.audit(session, work.case, "voice_mismatch", now, staff_id=staff_id)
        _note(session, work, now, note)
    log.info(
        "hotline contact %s: voice flagged as not the buyer's by staff %s", contact_id, staff_id
    )


def open_for_changes(service: MaskingService, contact_id: str, staff_id: int) -> OrderView:
    """The proven order, opened for changes (audited): only for an identified caller whose
    voice was not flagged (:class:`RuleBroken` ``not_identified`` / ``voice_mismatch``)."""
    now = service.clock()
    with service.db.session() as session:
        work = _work(session, contact_id, staff_id, now)
        shipment = _changes_allowed(work)
        lifecycle.audit(
            session,
            work.case,
            "opened",
            now,
            staff_id=staff_id,
            detail=f"order {shipment.external_number}",
        )
        return order_view(session, shipment)


def find_order(
    service: MaskingService, contact_id: str, staff_id: int, order_ref: str
) -> OrderView | None:
    """The light path (a service question after purchase): the order with this number at
    the hotline's site, its status, model and store only; no identification needed.
    Audited (the number looked up)."""
    ref = " ".join((order_ref or "").split())
    if not ref or len(ref) > 64:
        raise ValueError("order: 1-64 characters")
    now = service.clock()
    with service.db.session() as session:
        work = _work(session, contact_id, staff_id, now)
        shipment = session.scalar(
            select(Shipment).where(
                Shipment.site_id == work.hotline.site_id, Shipment.external_number == ref
            )
        )
        lifecycle.audit(
            session,
            work.case,
            "order_lookup",
            now,
            staff_id=staff_id,
            detail=f"order {ref}: {'found' if shipment else 'not found'}",
        )
        return order_view(session, shipment) if shipment is not None else None


def _revoke_live(
    service: MaskingService, session: Session, shipment: Shipment, now: datetime
) -> int:
    """The order's number changed: its live temporary numbers still lead to the old one,
    so they are revoked and released from the live pool before the commit (if Redis
    cannot, nothing is written), as :mod:`masking.shipments` does on an import."""
    revoked = list(
        session.scalars(
            select(Binding).where(Binding.shipment_id == shipment.id, Binding.live_at(now))
        )
    )
    for binding in revoked:
        binding.revoked_at = now
        service.pool.release(binding.id)
        log.info(
            "shipment %s: phone corrected on a hotline call; revoked binding %s "
            "(temporary number %s, was for %s)",
            shipment.external_number,
            binding.id,
            binding.virtual_number,
            mask_number(binding.customer_phone),
        )
    return len(revoked)


def _e164(caller: str | None) -> str | None:
    digits = re.sub(r"\D", "", caller or "")
    return f"+{digits}" if 7 <= len(digits) <= 15 else None


def correct_number(service: MaskingService, contact_id: str, staff_id: int, note: str) -> None:
    """The typo case: the caller, identified on an order whose number differs from theirs
    by one or two digits, gives the right number by calling from it; the order's number
    becomes the caller's. Audited (never a digit), sent out, and the order's live
    temporary numbers are revoked; the typo index follows the change in the same
    transaction (its ORM hook)."""
    now = service.clock()
    with service.db.session() as session:
        work = _work(session, contact_id, staff_id, now)
        shipment = _changes_allowed(work)
        if work.contact.match_type not in (MatchType.TYPO_1, MatchType.TYPO_2):
            raise RuleBroken(
                "not_a_typo", "number: only a number one or two digits off is corrected"
            )
        caller = _e164(work.contact.caller_number)
        if caller is None:
            raise RuleBroken("not_a_typo", "number: the caller's number is not known")
        if shipment.customer_phone == caller:
            raise RuleBroken("not_a_typo", "number: the order already has the caller's number")
        shipment.customer_phone = caller
        revoked = _revoke_live(service, session, shipment, now)
        lifecycle.audit(
            session,
            work.case,
            "number_corrected",
            now,
            staff_id=staff_id,
            detail=f"order {shipment.external_number}: {work.contact.match_type}; "
            f"{revoked} temporary number(s) revoked",
        )
        _note(session, work, now, note)
        outbox.enqueue(
            session,
            work.case,
            NUMBER_CORRECTED,
            now,
            order=shipment.external_number,
            requested_by=staff_id,
        )
    log.info(
        "hotline contact %s: order number corrected to the caller's (%s) by staff %s",
        contact_id,
        mask_number(caller),
        staff_id,
    )


def call_evidence(
    record: CallRecord | None, answered_at: datetime | None, now: datetime
) -> Attempt | None:
    """The hotline call as a call about the order: ended, as it ended; still up after
    being answered, answered for the seconds since."""
    if record is not None and record.ended_at is not None:
        return Attempt(disposition=record.disposition, bridged_seconds=record.bridged_seconds)
    answered = answered_at or (record.answered_at if record is not None else None)
    if answered is None:
        return None
    return Attempt(
        disposition=Disposition.ANSWERED,
        bridged_seconds=max(0, int((now - answered).total_seconds())),
    )


def confirm_order(service: MaskingService, contact_id: str, staff_id: int, note: str) -> None:
    """An order awaiting confirmation, confirmed on this call after identification (seed
    004 with seed 003): :func:`masking.campaigns.orders.confirm`, with the hotline call as
    the answered call that counts (its seconds so far when still up). Ends the order's
    campaign attempts. :class:`RuleBroken` as confirm raises it, or
    ``not_awaiting_confirmation``."""
    now = service.clock()
    with service.db.session() as session:
        work = _work(session, contact_id, staff_id, now)
        shipment = _changes_allowed(work)
        view = order_view(session, shipment)
        if view.order_id is None or not view.awaiting_confirmation:
            raise RuleBroken("not_awaiting_confirmation", "order: it is not awaiting confirmation")
        evidence = call_evidence(work.call, work.contact.answered_at, now)
        ref = shipment.external_number
    orders.confirm(service, view.order_id, staff_id, note, evidence=[evidence] if evidence else [])
    with service.db.session() as session:
        case = lifecycle.locked_case(session, _case_id(session, contact_id))
        lifecycle.audit(
            session, case, "order_confirmed", now, staff_id=staff_id, detail=f"order {ref}"
        )
    log.info("hotline contact %s: order %s confirmed by staff %s", contact_id, ref, staff_id)


def _case_id(session: Session, contact_id: str) -> str:
    case_id = session.scalar(select(HotlineContact.case_id).where(HotlineContact.id == contact_id))
    assert case_id is not None
    return case_id


def request_change(
    service: MaskingService, contact_id: str, staff_id: int, kind: str, note: str
) -> None:
    """The identified caller asks to cancel (``kind`` "cancel") or change ("change") the
    order: recorded on the contact's case (the note says what) and sent to the shop's
    system as an event (``order.cancel_requested`` / ``order.change_requested``), which
    makes the change; a note is required."""
    if kind not in ("cancel", "change"):
        raise ValueError("kind: cancel or change")
    text = (note or "").strip()
    if not text:
        raise RuleBroken("note_required", "note: say what the caller asked for")
    now = service.clock()
    with service.db.session() as session:
        work = _work(session, contact_id, staff_id, now)
        shipment = _changes_allowed(work)
        view = order_view(session, shipment)
        ref = shipment.external_number
        _note(session, work, now, text)
        lifecycle.audit(
            session,
            work.case,
            f"{kind}_requested",
            now,
            staff_id=staff_id,
            detail=f"order {shipment.external_number}",
        )
        outbox.enqueue(
            session,
            work.case,
            CANCEL_REQUESTED if kind == "cancel" else CHANGE_REQUESTED,
            now,
            order=shipment.external_number,
            order_id=view.order_id,
            store=view.store,
            requested_by=staff_id,
            note=text[: lifecycle.MAX_NOTE],
        )
    log.info(
        "hotline contact %s: %s of order %s asked by staff %s", contact_id, kind, ref, staff_id
    )


def cancel_order(service: MaskingService, contact_id: str, staff_id: int, note: str) -> None:
    request_change(service, contact_id, staff_id, "cancel", note)


def add_note(service: MaskingService, contact_id: str, staff_id: int, text: str) -> None:
    """A note on the contact's case (what the caller asked, the answer given)."""
    if not (text or "").strip():
        raise RuleBroken("note_required", "note: the note is empty")
    now = service.clock()
    with service.db.session() as session:
        work = _work(session, contact_id, staff_id, now)
        _note(session, work, now, text)
        lifecycle.audit(session, work.case, "note", now, staff_id=staff_id)
