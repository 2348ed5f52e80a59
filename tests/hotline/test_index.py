"""The typo index: numbers read as (country, national significant number), the keys, the
distance, and the keys kept current by the ORM hook and by ``rebuild`` on both backends."""

from __future__ import annotations

import itertools
import logging
import random
from typing import Any

import pytest
from sqlalchemy import delete, event, func, insert, select

from masking import shipments as shipment_records
from masking.hotline import index
from masking.hotline.index import distance, encode, national, query_keys, stored_keys
from masking.service import MaskingService
from masking.storage.db import Database
from masking.storage.models import PhoneKey, Shipment, Site
from tests.support.factories import seed_site
from tests.support.leaks import digit_leaks

KZ = "+77771234567"
RU = "+79161234567"

# ---------------------------------------------------------------- reading numbers


@pytest.mark.parametrize(
    "raw",
    [
        "+77771234567",
        "+7 777 123 45 67",
        "+7 (777) 123-45-67",
        "8 (777) 123-45-67",
        "8-777-123-45-67",
        "87771234567",
        "77771234567",
        "7 777 123 45 67",
        "7771234567",
        "777.123.45.67",
        "  +7 777 1234567\t",
        "007 777 123 45 67",
    ],
)
@pytest.mark.parametrize("region", ["KZ", "RU", "kz"])
def test_formatting_variants_of_a_kz_number_are_one_number(raw: str, region: str) -> None:
    assert national(raw, region) == (7, "7771234567")


@pytest.mark.parametrize(
    "raw", ["+7 916 123-45-67", "8 916 123 45 67", "79161234567", "9161234567", "8(916)1234567"]
)
@pytest.mark.parametrize("region", ["KZ", "RU"])
def test_formatting_variants_of_a_ru_number_are_one_number(raw: str, region: str) -> None:
    assert national(raw, region) == (7, "9161234567")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+375 29 123-45-67", "KZ", (375, "291234567")),
        ("375291234567", "KZ", (375, "291234567")),  # international, no + (a carrier's form)
        ("00375291234567", "RU", (375, "291234567")),
        ("8 10 375 29 123 45 67", "RU", (375, "291234567")),  # the RU/KZ international prefix
        ("+49 30 1234567", "KZ", (49, "301234567")),
        ("+1 777 123 4567", "KZ", (1, "7771234567")),
    ],
)
def test_other_countries_keep_their_country_code(
    raw: str, region: str, expected: tuple[int, str]
) -> None:
    assert national(raw, region) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "anonymous",
        "Anonymous",
        "unknown",
        "restricted",
        "+",
        "()",
        "112",
        "0",
        "1234",
        "7771234",  # a local number without the area code
        "+7 777 123456",  # too short for +7
        "+7 777 123 45 67 89",  # too long
        "1" * 41,
        "9" * 40,
        "+7 777 ABC 45 67",  # letters: phonenumbers would read them as keypad digits
        "+7 777 123 45 6x",
        "٧٧٧١٢٣٤٥٦٧",  # other scripts' digits
        "７７７１２３４５６７",
        "+7 777\n123 45 67",
        "+7 777 123 45 67\x00",
        "<script>alert(1)</script>",
        "'; DROP TABLE shipments; --",
        "sip:+77771234567@evil",
    ],
)
@pytest.mark.parametrize("region", ["KZ", "", "XX"])
def test_what_is_not_a_number_reads_as_none(raw: str, region: str) -> None:
    assert national(raw, region) is None


def test_no_reading_raises_on_random_punctuation_and_digits() -> None:
    rng = random.Random(12)
    alphabet = "0123456789+()-. \t"
    for _ in range(3000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 45)))
        parsed = national(raw, rng.choice(["KZ", "RU", "", "ZZ", "BY"]))
        assert parsed is None or (0 < parsed[0] < 1000 and parsed[1].isdigit())


def test_a_wrong_type_reads_as_none() -> None:
    assert national(None, "KZ") is None  # type: ignore[arg-type]
    assert national(77771234567, "KZ") is None  # type: ignore[arg-type]


# ---------------------------------------------------------------- keys


def test_keys_are_distinct_per_country_digits_and_length() -> None:
    seen = {}
    for country in (1, 7, 43, 375, 999):
        for length in range(16):
            for digits in {"0" * length, "1" * length, "9" * length, "01"[:length] * length}:
                if len(digits) != length:
                    continue
                key = encode(country, digits)
                assert 0 < key < 2**63
                assert seen.setdefault(key, (country, digits)) == (country, digits)
    assert encode(7, "0123") != encode(7, "123") != encode(7, "1230")
    assert encode(7, "") != encode(1, "")


@pytest.mark.parametrize(("country", "digits"), [(0, "1"), (1000, "1"), (7, "1" * 16), (7, "12a")])
def test_a_key_out_of_range_is_refused(country: int, digits: str) -> None:
    with pytest.raises(ValueError):
        encode(country, digits)


def test_stored_keys_are_the_number_and_its_one_digit_deletions() -> None:
    keys = stored_keys(7, "7051234567")
    expected = {"7051234567"} | {"7051234567"[:i] + "7051234567"[i + 1 :] for i in range(10)}
    assert keys == {encode(7, s) for s in expected}
    assert len(stored_keys(7, "7777777777")) == 2  # itself and "777777777"


def edits(digits: str) -> set[str]:
    """Every string one edit away (the test's own enumeration)."""
    out = set()
    for i in range(len(digits) + 1):
        for d in "0123456789":
            out.add(digits[:i] + d + digits[i:])
    for i in range(len(digits)):
        out.add(digits[:i] + digits[i + 1 :])
        for d in "0123456789":
            out.add(digits[:i] + d + digits[i + 1 :])
        if i + 1 < len(digits):
            out.add(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :])
    out.discard(digits)
    return out


def test_every_number_within_two_edits_shares_a_key() -> None:
    """Completeness of the neighbourhood, over every string two edits from a few NSNs."""
    for nsn in ("7771234567", "0120", "291234567"):
        query = query_keys(7, nsn)
        one = edits(nsn)
        two = set().union(*(edits(v) for v in one))
        for stored in {nsn} | one | two:
            if len(stored) <= index.MAX_DIGITS:
                assert stored_keys(7, stored) & query, (nsn, stored)


def test_the_keys_hold_the_country() -> None:
    assert not stored_keys(1, "7771234567") & query_keys(7, "7771234567")
    assert not stored_keys(375, "7771234567") & query_keys(7, "7771234568")


def test_a_caller_expands_to_about_1500_keys() -> None:
    assert 1000 < len(query_keys(7, "7771234567")) < 2000


# ---------------------------------------------------------------- distance


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("7771234567", "7771234567", 0),
        ("7771234567", "7771234568", 1),  # substitution
        ("7771234567", "7771234576", 1),  # transposition
        ("7771234567", "777123456", 1),  # deletion
        ("7771234567", "77712345678", 1),  # insertion
        ("7771234567", "7717234576", 2),  # two transpositions
        ("7771234567", "7771234500", 2),  # two substitutions
        ("7771234567", "7712345678", 2),  # a deletion and an insertion (shifted)
        ("7771234567", "7771230000", 3),  # beyond: limit + 1
        ("7771234567", "1111111111", 3),
        ("", "12", 2),
        ("", "123", 3),
        ("ca", "abc", 3),  # optimal string alignment (true Damerau-Levenshtein says 2)
    ],
)
def test_distance(a: str, b: str, expected: int) -> None:
    assert distance(a, b) == expected
    assert distance(b, a) == expected


def test_distance_stops_early_at_the_limit() -> None:
    assert distance("7771234567", "7771234500", limit=1) == 2
    assert distance("7771234567", "0000000000", limit=0) == 1
    assert distance("12345", "12345678", limit=2) == 3


def reference_osa(a: str, b: str) -> int:
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i, j in itertools.product(range(1, len(a) + 1), range(1, len(b) + 1)):
        cost = 0 if a[i - 1] == b[j - 1] else 1
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
        if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
            d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_distance_agrees_with_the_full_table() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        a = "".join(rng.choice("0123") for _ in range(rng.randint(0, 8)))
        b = "".join(rng.choice("0123") for _ in range(rng.randint(0, 8)))
        full = reference_osa(a, b)
        for limit in (0, 1, 2, 3):
            assert distance(a, b, limit) == min(full, limit + 1), (a, b, limit)


# ---------------------------------------------------------------- kept current (both backends)


def keys_of(service: MaskingService, shipment_id: int | None = None) -> set[int]:
    with service.db.session() as session:
        query = select(PhoneKey.key)
        if shipment_id is not None:
            query = query.where(PhoneKey.shipment_id == shipment_id)
        return set(session.scalars(query))


def all_keys(service: MaskingService) -> set[tuple[int, int]]:
    with service.db.session() as session:
        return {(k, s) for k, s in session.execute(select(PhoneKey.key, PhoneKey.shipment_id))}


def add(service: MaskingService, number: str, phone: str, site_code: str = "pvz1") -> int:
    with service.db.session() as session:
        site = session.scalars(select(Site).where(Site.code == site_code)).one()
        return shipment_records.add_shipment(session, site, number, phone).id


def test_the_hook_is_on_every_session_once_storage_is_imported() -> None:
    from sqlalchemy.orm import Session

    from masking.storage import hooks

    assert event.contains(Session, "after_flush", hooks._phone_index)
    hooks.install()  # idempotent


def test_an_inserted_shipment_is_keyed_in_its_transaction(service: MaskingService) -> None:
    seed_site(service)
    shipment_id = add(service, "A-1", "+7 777 123 45 67")
    assert keys_of(service, shipment_id) == stored_keys(7, "7771234567")


def test_a_phone_change_rekeys_and_drops_the_old_keys(service: MaskingService) -> None:
    seed_site(service)
    shipment_id = add(service, "A-1", KZ)
    other = add(service, "A-2", RU)
    with service.db.session() as session:
        shipment = session.get(Shipment, shipment_id)
        assert shipment is not None
        shipment.customer_phone = "+79031112233"
    assert keys_of(service, shipment_id) == stored_keys(7, "9031112233")
    assert keys_of(service, other) == stored_keys(7, "9161234567")
    # the import path changes the number of a known shipment too
    add(service, "A-1", "+77011112233")
    assert keys_of(service, shipment_id) == stored_keys(7, "7011112233")


def test_other_changes_leave_the_keys(service: MaskingService) -> None:
    seed_site(service)
    shipment_id = add(service, "A-1", KZ)
    with service.db.session() as session:
        session.execute(delete(PhoneKey).where(PhoneKey.key == encode(7, "7771234567")))
    with service.db.session() as session:
        shipment = session.get(Shipment, shipment_id)
        assert shipment is not None
        shipment.status = "issued"
        shipment.customer_phone = KZ  # the same number: no change
    assert encode(7, "7771234567") not in keys_of(service, shipment_id)  # not re-keyed


def test_a_deleted_shipment_takes_its_keys(service: MaskingService) -> None:
    seed_site(service)
    shipment_id = add(service, "A-1", KZ)
    with service.db.session() as session:
        shipment = session.get(Shipment, shipment_id)
        session.delete(shipment)
    assert keys_of(service) == set()


def test_a_rolled_back_insert_leaves_no_keys(service: MaskingService) -> None:
    world = seed_site(service)
    with pytest.raises(RuntimeError), service.db.session() as session:
        session.add(Shipment(site_id=world.site_id, external_number="A-1", customer_phone=KZ))
        session.flush()
        assert session.scalar(select(func.count()).select_from(PhoneKey)) == len(
            stored_keys(7, "7771234567")
        )
        raise RuntimeError("abort")
    assert keys_of(service) == set()


def test_a_number_without_its_plus_is_read_in_the_sites_region(service: MaskingService) -> None:
    world = seed_site(service)  # region RU
    with service.db.session() as session:
        session.add(
            Shipment(site_id=world.site_id, external_number="A-1", customer_phone="8 916 123 45 67")
        )
    assert keys_of(service) == stored_keys(7, "9161234567")


def test_an_unreadable_stored_number_is_not_keyed_and_not_logged(
    service: MaskingService, caplog: pytest.LogCaptureFixture
) -> None:
    world = seed_site(service)
    caplog.set_level(logging.DEBUG)
    with service.db.session() as session:
        session.add(
            Shipment(site_id=world.site_id, external_number="A-1", customer_phone="7771234")
        )
    assert keys_of(service) == set()
    assert "not indexed" in caplog.text
    assert not digit_leaks(caplog.text, ["7771234"])


def test_index_shipment_rewrites_one_shipment(service: MaskingService) -> None:
    seed_site(service)
    shipment_id = add(service, "A-1", KZ)
    other = add(service, "A-2", RU)
    with service.db.session() as session:
        index.index_shipment(session, shipment_id, "+375 29 123 45 67", "KZ")
    assert keys_of(service, shipment_id) == stored_keys(375, "291234567")
    with service.db.session() as session:
        index.index_shipment(session, shipment_id, None, "KZ")
    assert keys_of(service, shipment_id) == set()
    assert keys_of(service, other) == stored_keys(7, "9161234567")


BULK = ["+79031234567", "+375291234567", "89161112233", "bad"]


def test_rebuild_equals_the_hook(service: MaskingService, monkeypatch: pytest.MonkeyPatch) -> None:
    world = seed_site(service)
    seed_site(service, "pvz2")
    rng = random.Random(3)
    prefixes = ["700", "701", "705", "707", "747", "777", "916", "903"]
    phones = [f"+7{rng.choice(prefixes)}{rng.randrange(10**7):07d}" for _ in range(40)]
    for i, phone in enumerate(phones):
        add(service, f"A-{i}", phone, "pvz1" if i % 3 else "pvz2")
    by_hook = all_keys(service)
    assert len({s for _, s in by_hook}) == 40
    # core bulk inserts bypass the ORM: no keys until the rebuild
    with service.db.session() as session:
        session.execute(
            insert(Shipment),
            [
                {"site_id": world.site_id, "external_number": f"B-{i}", "customer_phone": phone}
                for i, phone in enumerate(["+79031234567", "+375291234567", "89161112233", "bad"])
            ],
        )
        found = session.execute(
            select(Shipment.external_number, Shipment.id).where(
                Shipment.external_number.like("B-%")
            )
        )
        bulk = {number: shipment_id for number, shipment_id in found}
    assert all_keys(service) == by_hook
    with service.db.session() as session:
        session.execute(delete(PhoneKey))
    monkeypatch.setattr(index, "REBUILD_BATCH", 7)
    written = index.rebuild(service)
    rebuilt = all_keys(service)
    assert written == len(rebuilt)
    expected_bulk = {
        (key, bulk[number])
        for number, keys in [
            ("B-0", stored_keys(7, "9031234567")),
            ("B-1", stored_keys(375, "291234567")),
            ("B-2", stored_keys(7, "9161112233")),  # no "+": read in the site's region (RU)
        ]
        for key in keys
    }
    assert rebuilt == by_hook | expected_bulk
    # idempotent: a second rebuild writes the same rows
    assert index.rebuild(service) == written
    assert all_keys(service) == rebuilt


def test_rebuild_on_an_empty_database(service: MaskingService) -> None:
    assert index.rebuild(service) == 0


def test_the_sqlite_lookup_searches_the_index(sqlite_url: str) -> None:
    """The statement :func:`index.lookup` runs probes the key index (no scan of the keys)."""
    db = Database(sqlite_url)
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    with db.session() as session:
        assert index.lookup(session, 1, query_keys(7, "7771234567")) == []
    event.remove(db.engine, "before_cursor_execute", grab)
    lookups = [(s, p) for s, p in seen if "phone_keys" in s]
    assert len(lookups) == 1  # about 1,500 keys: one statement
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + lookups[0][0], lookups[0][1]).all()
    db.dispose()
    details = " | ".join(str(row[-1]) for row in plan)
    assert details.startswith("SEARCH k USING COVERING INDEX"), details
    assert "SEARCH s USING INTEGER PRIMARY KEY" in details, details
    assert "SCAN" not in details, details
