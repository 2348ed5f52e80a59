"""Who is calling the hotline: the team's shipments whose number is the caller's, or
one or two digits off it (seed 004: "a number that differs by 1-2 digits is a typo case").

The caller ID is normalised first (spaces, brackets, dashes, +7 / 8 / 7 prefixes: one
number), then an exact match on the stored E.164 number; only without one, the typo index
(:mod:`masking.hotline.index`) finds the numbers of the same country within
Damerau-Levenshtein distance 2 of the national significant number, verified with the real
distance; nothing beyond 2. The caller ID may be anything (anonymous, letters, too long):
that is an identification with no caller and no match, never an exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking.hotline import index
from masking.states import MatchType
from masking.storage.models import Shipment

log = logging.getLogger(__name__)

MAX_DISTANCE = 2
MAX_CANDIDATES = 10
_MATCH_TYPES = {0: MatchType.EXACT, 1: MatchType.TYPO_1, 2: MatchType.TYPO_2}


@dataclass(frozen=True)
class Candidate:
    shipment_id: int
    distance: int  # 0 exact, 1 or 2 digits off (substitution, transposition, missing, extra)


@dataclass(frozen=True)
class Identification:
    caller: str | None  # E.164 (``+77771234567``); None when the caller ID is not a number
    match_type: MatchType
    candidates: tuple[Candidate, ...] = ()  # closest first, newest shipment first
    ambiguous: bool = False  # more than one customer (distinct numbers) at the best distance


def identify(session: Session, *, site_id: int, caller_id: str, region: str) -> Identification:
    """Identify ``caller_id`` among the shipments of site ``site_id`` (orders and cases
    hang on them). ``region`` (the hotline's) reads a caller ID without its country
    prefix. Exact matches first, and then only them; otherwise the shipments within
    distance 1 and 2 of the same country, closest first, at most :data:`MAX_CANDIDATES`."""
    parsed = index.national(caller_id, region)
    if parsed is None:
        log.debug("hotline caller ID is not a phone number: no identification")
        return Identification(None, MatchType.NONE)
    country, nsn = parsed
    caller = index.e164(country, nsn)
    exact = _exact(session, site_id, caller)
    if exact:
        return _found(caller, [Candidate(shipment_id, 0) for shipment_id in exact], 1)

    rows = index.lookup(session, site_id, index.query_keys(country, nsn))
    readings = {phone: _read(phone, country, region) for _, phone in rows}
    distances = {
        phone: index.distance(reading[1], nsn, MAX_DISTANCE)
        if reading is not None and reading[0] == country
        else MAX_DISTANCE + 1
        for phone, reading in readings.items()
    }
    candidates = sorted(
        (
            Candidate(shipment_id, distances[phone])
            for shipment_id, phone in rows
            if distances[phone] <= MAX_DISTANCE
        ),
        key=lambda c: (c.distance, -c.shipment_id),
    )
    if not candidates:
        log.debug("hotline caller: no shipment within %d digits", MAX_DISTANCE)
        return Identification(caller, MatchType.NONE)
    best = candidates[0].distance
    customers = {phone for phone, found in distances.items() if found == best}
    at_best = len({index.e164(*r) for p in customers if (r := readings[p]) is not None})
    return _found(caller, candidates[:MAX_CANDIDATES], at_best)


def _read(phone: str, country: int, region: str) -> tuple[int, str] | None:
    """A stored number as (country, NSN): E.164 of the caller's country is split where the
    country code ends (country codes are a prefix code); anything else is parsed."""
    prefix = f"+{country}"
    if phone.startswith(prefix) and phone.isascii() and phone[1:].isdigit():
        return country, phone[len(prefix) :]
    return index.national(phone, region)


def _found(caller: str, candidates: list[Candidate], at_best: int) -> Identification:
    match = _MATCH_TYPES[candidates[0].distance] if candidates else MatchType.NONE
    log.debug("hotline caller: %s, %d candidate(s)", match.value, len(candidates))
    return Identification(
        caller, match, tuple(candidates), ambiguous=at_best > 1 and bool(candidates)
    )


def _exact(session: Session, site_id: int, caller: str) -> list[int]:
    """Ids of the site's shipments with the caller's number, newest first (capped)."""
    return list(
        session.scalars(
            select(Shipment.id)
            .where(Shipment.site_id == site_id, Shipment.customer_phone == caller)
            .order_by(Shipment.id.desc())
            .limit(MAX_CANDIDATES)
        )
    )
