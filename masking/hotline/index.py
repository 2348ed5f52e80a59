"""The typo index of customers' numbers (deletion-neighbourhood keys).

Every shipment's number is stored in ``phone_keys`` as keys: its national significant
number (NSN) itself and each of its one-digit deletions, each key also holding the
country calling code and the length (:func:`encode`). A caller's NSN is expanded to every
string within one edit (substitution, adjacent transposition, deletion, insertion) and
those strings to their stored keys (:func:`query_keys`). Every stored number within
Damerau-Levenshtein distance 2 (optimal string alignment) of the caller's shares a key
with that expansion: with ``q -> v -> s`` two edits, ``s`` and ``v`` are one edit apart
and then share ``s`` or ``v`` (deletion, insertion) or the deletion of the edited
position (substitution, transposition). So the lookup is a set of indexed key probes,
never a scan; what it finds is verified with the real :func:`distance`.

The index is kept current in ONE place: :func:`after_flush`, registered on every ORM
``Session`` by :mod:`masking.storage.hooks`, re-keys each shipment inserted or whose
``customer_phone`` changed, in the flush (and so the transaction) that wrote it. Core
statements and the ORM's bulk operations (``session.execute(insert(Shipment), rows)``,
``update(Shipment)``, ``bulk_save_objects``) bypass it: :func:`rebuild` re-keys every
shipment.

Numbers are personal data: logs show them masked (:func:`masking.numbers.phones.mask_number`),
errors never hold them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumber,
    PhoneNumberType,
    is_possible_number_for_type_with_reason,
)
from sqlalchemy import Connection, Table, delete, inspect, select, text
from sqlalchemy.orm import Session

from masking.numbers.phones import mask_number
from masking.storage.models import PhoneKey, Shipment, Site

if TYPE_CHECKING:
    from masking.service import MaskingService

log = logging.getLogger(__name__)

IS_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE

KEYS = cast(Table, PhoneKey.__table__)
SHIPMENTS = cast(Table, Shipment.__table__)

REBUILD_BATCH = 5000  # shipments re-keyed per transaction by :func:`rebuild`
LOOKUP_BATCH = 5000  # keys per ``IN (...)`` (a caller has ~1,500: one statement)
WRITE_BATCH = 1000  # shipment ids per ``IN (...)`` when old keys are deleted

MAX_DIGITS = 15  # a key's digits: E.164 allows 15 digits with the country code
_DIGIT_BITS = 51  # int("1" + 15 digits) < 2 * 10**15 < 2**51
_MAX_NSN = 14  # a stored NSN: at most 15 E.164 digits, the country code has one or more
_DIGITS = "0123456789"
# What a caller ID or a stored number may hold: ASCII digits and the usual punctuation.
# Letters (vanity numbers: phonenumbers would read "ABC" as "222"), other scripts' digits
# and anything long are refused before phonenumbers sees them.
_ALLOWED = re.compile(r"[0-9+()\-. \t]{1,40}")


def national(number: str, region: str) -> tuple[int, str] | None:
    """``(country calling code, national significant number)`` of ``number``, or None when
    it is not a possible phone number (empty, anonymous, letters, too short or too long).

    ``+7 777 123 45 67``, ``8 (777) 123-45-67``, ``77771234567`` and ``7771234567`` (region
    KZ) all give ``(7, "7771234567")``. A number without its country prefix is read in
    ``region``; when that reading is not a valid number, the digits are tried as an
    international number (``375291234567`` calling a KZ hotline is Belarus). Never raises.
    """
    if not isinstance(number, str):
        return None
    text = number.strip()
    if not _ALLOWED.fullmatch(text):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if not digits:
        return None
    readings: list[PhoneNumber] = []
    if text.startswith("+"):
        readings += _parse("+" + digits, None)
    elif text.startswith("00"):
        readings += _parse("+" + digits[2:], None)
    else:
        readings += _parse(text, (region or "").upper() or None)
        readings += _parse("+" + digits, None)
    chosen = next((n for n in readings if phonenumbers.is_valid_number(n)), None)
    if chosen is None:
        chosen = next((n for n in readings if _possible_subscriber(n)), None)
    if chosen is None or not chosen.country_code:
        return None
    nsn = phonenumbers.national_significant_number(chosen)
    if not nsn.isdigit() or len(nsn) > _MAX_NSN or not 0 < chosen.country_code < 1000:
        return None
    return chosen.country_code, nsn


def _possible_subscriber(number: PhoneNumber) -> bool:
    """A length a mobile or fixed line of its country may have (numbers of new ranges
    are not valid yet for phonenumbers). Not a local-only length (7 digits without the
    area code in RU), nor the 14 digits +7 allows for service numbers."""
    return any(
        is_possible_number_for_type_with_reason(number, kind) == IS_POSSIBLE
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
    )


def _parse(text: str, region: str | None) -> list[PhoneNumber]:
    try:
        return [phonenumbers.parse(text, region)]
    except NumberParseException:
        return []


def e164(country: int, nsn: str) -> str:
    """``+`` country code and NSN: the form ``Shipment.customer_phone`` holds."""
    return f"+{country}{nsn}"


def encode(country: int, digits: str) -> int:
    """One key: a positive signed 64-bit integer, distinct for distinct ``(country,
    digits)`` including the length (a leading 1 keeps leading zeros and the length)."""
    if not 0 < country < 1000:
        raise ValueError("country calling code out of range")
    if len(digits) > MAX_DIGITS or re.fullmatch(r"[0-9]*", digits) is None:
        raise ValueError("a key holds at most 15 ASCII digits")
    return (country << _DIGIT_BITS) | int("1" + digits)


def _deletions(digits: str) -> set[str]:
    return {digits[:i] + digits[i + 1 :] for i in range(len(digits))}


def _neighbours(digits: str) -> set[str]:
    """``digits`` and every string one edit away (substitution, adjacent transposition,
    deletion, insertion)."""
    found = {digits} | _deletions(digits)
    for i in range(len(digits) + 1):
        head, tail = digits[:i], digits[i:]
        for d in _DIGITS:
            found.add(head + d + tail)
            if tail:
                found.add(head + d + tail[1:])
        if len(tail) >= 2:
            found.add(head + tail[1] + tail[0] + tail[2:])
    return found


def stored_keys(country: int, nsn: str) -> set[int]:
    """The keys stored for a number: its NSN and each one-digit deletion of it."""
    encode(country, nsn)  # validates: its deletions are shorter strings of the same digits
    base = country << _DIGIT_BITS
    return {base | int("1" + s) for s in {nsn} | _deletions(nsn)}


def query_keys(country: int, nsn: str) -> set[int]:
    """The keys to look up for a caller: the stored keys of every string within one edit
    of the NSN (a superset of the keys of every number within distance 2)."""
    encode(country, nsn)  # validates; the variants below are digits of the same kind
    strings: set[str] = set()
    for variant in _neighbours(nsn):
        if len(variant) <= MAX_DIGITS:
            strings.add(variant)
            strings |= _deletions(variant)
    base = country << _DIGIT_BITS
    return {base | int("1" + s) for s in strings}


def distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: substitutions, insertions,
    deletions, adjacent transpositions), or ``limit + 1`` as soon as it exceeds ``limit``."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    # a common prefix and suffix never cost anything: the table shrinks to what differs
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end = 0
    while end < len(a) - start and end < len(b) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    if not a or not b:
        return min(len(a) + len(b), limit + 1)
    # Only the band |i - j| <= limit of the table can hold values <= limit; every value is
    # kept at most ``over`` (min and +1 commute with that cap, so the result is exact).
    over = limit + 1
    before: list[int] = []
    previous = [min(j, over) for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        current = [over] * (len(b) + 1)
        current[0] = min(i, over)
        low, high = max(1, i - limit), min(len(b), i + limit)
        for j in range(low, high + 1):
            value = previous[j - 1] + (a[i - 1] != b[j - 1])
            value = min(value, previous[j] + 1, current[j - 1] + 1)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = min(value, over)
        # every alignment crosses each row (a transposition skips one, but the row it
        # skips holds a value at most one above where it started): once a whole row is
        # over the limit, so is the result
        if min(current[low - 1 : high + 1]) >= over:
            return over
        before, previous = previous, current
    return previous[-1]


def keys_of(phone: str | None, region: str) -> set[int]:
    """The stored keys of a shipment's number (none when it is not a possible number)."""
    parsed = national(phone or "", region)
    return stored_keys(*parsed) if parsed else set()


def _write(connection: Connection, entries: Sequence[tuple[int, str | None, str]]) -> int:
    """Replace the keys of the shipments ``(shipment id, phone, region)``; rows written."""
    ids = [shipment_id for shipment_id, _, _ in entries]
    for start in range(0, len(ids), WRITE_BATCH):
        batch = ids[start : start + WRITE_BATCH]
        connection.execute(delete(KEYS).where(KEYS.c.shipment_id.in_(batch)))
    rows = _rows(entries)
    if rows:
        connection.execute(KEYS.insert(), rows)
    return len(rows)


def _rows(entries: Iterable[tuple[int, str | None, str]]) -> list[dict[str, int]]:
    rows: list[dict[str, int]] = []
    for shipment_id, phone, region in entries:
        keys = keys_of(phone, region)
        if not keys and phone:
            log.warning(
                "shipment %s: its number %s is not indexed (not a possible number)",
                shipment_id,
                mask_number(phone),
            )
        rows.extend({"key": key, "shipment_id": shipment_id} for key in sorted(keys))
    return rows


def index_shipment(session: Session, shipment_id: int, phone: str | None, region: str) -> None:
    """(Re)write the keys of one shipment for ``phone`` (E.164; ``region`` reads a number
    without its country prefix). None or an impossible number leaves it without keys."""
    _write(session.connection(), [(shipment_id, phone, region)])


def after_flush(session: Session, _context: Any) -> None:
    """The ORM hook: re-key every Shipment the flush inserted or whose ``customer_phone``
    it changed, with the flush's connection (same transaction); drop the keys of deleted
    ones (the foreign key cascades too). ``new`` / ``dirty`` and attribute history still
    show the state before the flush here."""
    changed: list[Shipment] = []
    for obj in session.new:
        if isinstance(obj, Shipment):
            changed.append(obj)
    for obj in session.dirty:
        if isinstance(obj, Shipment) and inspect(obj).attrs.customer_phone.history.has_changes():
            changed.append(obj)
    gone = [obj.id for obj in session.deleted if isinstance(obj, Shipment)]
    if not changed and not gone:
        return
    connection = session.connection()
    if gone:
        connection.execute(delete(KEYS).where(KEYS.c.shipment_id.in_(gone)))
    if changed:
        regions = _regions(connection, changed)
        _write(
            connection,
            [(s.id, s.customer_phone, regions.get(s.site_id, "")) for s in changed],
        )


def _regions(connection: Connection, shipments: Sequence[Shipment]) -> dict[int, str]:
    """The sites' phone regions, read only for numbers stored without their ``+``."""
    site_ids = {s.site_id for s in shipments if not (s.customer_phone or "").startswith("+")}
    if not site_ids:
        return {}
    rows = connection.execute(
        select(Site.id, Site.phone_region).where(Site.id.in_(sorted(site_ids)))
    )
    return {site_id: region for site_id, region in rows}


def rebuild(service: MaskingService) -> int:
    """Re-key every shipment (after core or ORM bulk inserts, which bypass the hook, or for
    existing data), in batches of :data:`REBUILD_BATCH` shipments, one transaction each.
    The batch's shipments are locked (PostgreSQL) so that a number changed meanwhile is
    re-keyed after, by the hook. Returns the key rows written."""
    written = 0
    last = 0
    while True:
        with service.db.session() as session:
            batch = session.execute(
                select(Shipment.id, Shipment.customer_phone, Site.phone_region)
                .join(Site, Site.id == Shipment.site_id)
                .where(Shipment.id > last)
                .order_by(Shipment.id)
                .limit(REBUILD_BATCH)
                .with_for_update(of=Shipment)
            ).all()
            if not batch:
                break
            written += _write(session.connection(), batch)
            last = batch[-1].id
        log.info("phone index: shipments up to id %d re-keyed", last)
    with service.db.session() as session:
        # fresh statistics: the planners' choice of key probes relies on them
        session.execute(text("ANALYZE phone_keys"))
    return written


# The caller's keys drive the lookup: probes of the key index, then each hit's shipment by
# its primary key, whatever the planners estimate (they expect a row per key, ~1,500, and
# would then rather walk all the site's shipments): CROSS JOIN fixes the order on SQLite
# (its documented way), an ARRAY(subquery) evaluated first on PostgreSQL.
# The keys (integers computed here, ~1,500) and the site id go in as literals (on
# PostgreSQL one array literal, cheaper to parse than an IN list): bound one by one they
# cost more to bind than to look up, and on PostgreSQL, once psycopg prepares a statement,
# a generic plan does not hash a parameter's array (``key = ANY($1)`` as a filter would
# search the ~1,500 keys linearly for each row).
_LOOKUP = {
    "sqlite": "SELECT DISTINCT s.id, s.customer_phone FROM phone_keys AS k"
    " CROSS JOIN shipments AS s WHERE s.id = k.shipment_id AND s.site_id = {site}"
    " AND k.key IN ({keys})",
    "postgresql": "SELECT id, customer_phone FROM shipments WHERE site_id = {site}"
    " AND id = ANY(ARRAY(SELECT shipment_id FROM phone_keys"
    " WHERE key = ANY('{{{keys}}}'::bigint[])))",
}


def lookup(session: Session, site_id: int, keys: Collection[int]) -> list[tuple[int, str]]:
    """``(shipment id, stored number)`` of the site's shipments holding any of ``keys``:
    indexed probes of ``phone_keys`` (``IN`` lists of up to :data:`LOOKUP_BATCH` keys)."""
    ordered = sorted({int(key) for key in keys})  # integers only: they become SQL literals
    site = int(site_id)
    connection = session.connection()
    template = _LOOKUP.get(connection.dialect.name, _LOOKUP["postgresql"])
    found: set[tuple[int, str]] = set()
    for start in range(0, len(ordered), LOOKUP_BATCH):
        literals = ",".join(map(str, ordered[start : start + LOOKUP_BATCH]))
        sql = template.format(site=site, keys=literals)  # integers only
        found.update((shipment_id, phone) for shipment_id, phone in connection.exec_driver_sql(sql))
    return sorted(found)
