"""Identifying a hotline caller among the team's shipments, on SQLite and PostgreSQL:
formatting variants, typos of one and two digits, other countries, short numbers, nothing
beyond two, ambiguous sets, the candidate cap, hostile caller IDs, and a randomized check
against a brute-force scan."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable

import pytest
from sqlalchemy import func, select

from masking.hotline import index
from masking.hotline.identify import MAX_CANDIDATES, Candidate, Identification, identify
from masking.numbers.phones import try_normalize
from masking.service import MaskingService
from masking.states import MatchType
from masking.storage.models import Shipment, Site
from tests.support.factories import seed_site
from tests.support.leaks import digit_leaks

KZ = "+77771234567"
RU = "+79161234567"
KZ_PREFIXES = ["700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777"]
RU_PREFIXES = ["900", "903", "905", "912", "916", "925", "926", "950", "977", "999"]


def add(service: MaskingService, phones: Iterable[str], site_code: str = "pvz1") -> list[int]:
    """Shipments of ``site_code`` with ``phones`` as stored (E.164), through the ORM: the
    hook keys them."""
    with service.db.session() as session:
        site_id = session.scalars(select(Site.id).where(Site.code == site_code)).one()
        start = session.scalar(select(func.count()).select_from(Shipment)) or 0
        added = [
            Shipment(site_id=site_id, external_number=f"S-{start + i}", customer_phone=phone)
            for i, phone in enumerate(phones)
        ]
        session.add_all(added)
        session.flush()
        return [shipment.id for shipment in added]


def who(
    service: MaskingService, caller_id: str, region: str = "KZ", site: str = "pvz1"
) -> Identification:
    with service.db.session() as session:
        site_id = session.scalars(select(Site.id).where(Site.code == site)).one()
        return identify(session, site_id=site_id, caller_id=caller_id, region=region)


@pytest.fixture
def team(service: MaskingService) -> MaskingService:
    seed_site(service)
    seed_site(service, "pvz2")
    return service


@pytest.mark.parametrize(
    ("caller_id", "region"),
    [
        ("+77771234567", "KZ"),
        ("+7 777 123 45 67", "KZ"),
        ("8 (777) 123-45-67", "KZ"),
        ("87771234567", "KZ"),
        ("77771234567", "KZ"),
        ("7771234567", "KZ"),
        ("+7(777)123-45-67", "RU"),
        ("8-777-123-4567", "RU"),
        (" 007 777 1234567 ", "KZ"),
    ],
)
def test_formatting_variants_match_exactly(
    team: MaskingService, caller_id: str, region: str
) -> None:
    [shipment_id] = add(team, [KZ])
    found = who(team, caller_id, region)
    assert found == Identification(KZ, MatchType.EXACT, (Candidate(shipment_id, 0),), False)


@pytest.mark.parametrize(
    "caller_id", ["89161234567", "79161234567", "9161234567", "+7 916 123-45-67"]
)
def test_a_ru_number_calling_a_kz_hotline(team: MaskingService, caller_id: str) -> None:
    [shipment_id] = add(team, [RU])
    found = who(team, caller_id, "KZ")
    assert found.caller == RU
    assert found.match_type == MatchType.EXACT
    assert found.candidates == (Candidate(shipment_id, 0),)


@pytest.mark.parametrize(
    ("stored", "kind"),
    [
        ("+77771234568", "substitution, last digit"),
        ("+77071234567", "substitution, first digit"),
        ("+77771234576", "transposition, end"),
        ("+77771324567", "transposition, middle"),
        ("+77717234567", "transposition, inside the prefix"),
    ],
)
def test_one_digit_off_is_typo_1(team: MaskingService, stored: str, kind: str) -> None:
    [shipment_id] = add(team, [stored])
    found = who(team, "8 777 123 45 67")
    assert found.match_type == MatchType.TYPO_1, kind
    assert found.candidates == (Candidate(shipment_id, 1),)
    assert found.caller == KZ and not found.ambiguous


@pytest.mark.parametrize(
    ("stored", "kind"),
    [
        ("+77771234500", "two substitutions"),
        ("+77071234568", "substitutions far apart"),
        ("+77771235476", "two transpositions"),
        ("+77771324560", "a substitution and a transposition"),
        ("+77712345678", "one digit missing and one extra (a shift)"),
        ("+77771345678", "a digit missing in the middle, one extra at the end"),
        ("+77077123456", "one extra inside, one missing at the end"),
    ],
)
def test_two_digits_off_is_typo_2(team: MaskingService, stored: str, kind: str) -> None:
    [shipment_id] = add(team, [stored])
    found = who(team, KZ)
    assert found.match_type == MatchType.TYPO_2, kind
    assert found.candidates == (Candidate(shipment_id, 2),)


def test_deletions_and_insertions_where_lengths_vary(team: MaskingService) -> None:
    """Austria's numbers vary in length: a missing or an extra digit is one edit."""
    shorter, longer, two_short = add(team, ["+43664123456", "+4366412345678", "+4366412345"])
    found = who(team, "+43 664 1234567")
    assert found.match_type == MatchType.TYPO_1
    assert set(found.candidates) == {
        Candidate(shorter, 1),
        Candidate(longer, 1),
        Candidate(two_short, 2),
    }
    assert found.candidates[-1] == Candidate(two_short, 2)
    assert found.ambiguous  # two customers one digit off


def test_nothing_beyond_two_digits(team: MaskingService) -> None:
    # three edits: a transposition and two substitutions; a shift and a substitution;
    # three substitutions; a shift in the middle and one at the end
    far = ["+77771324500", "+77012345670", "+77771234999", "+77707213456", "+77771230000"]
    assert all(index.distance(p[2:], KZ[2:], 9) >= 3 for p in far)
    add(team, far)
    assert who(team, KZ) == Identification(KZ, MatchType.NONE, (), False)


def test_other_countries_never_match(team: MaskingService) -> None:
    # the same national digits, and one digit off, under other country codes
    us, us_near, belarus = add(team, ["+17771234567", "+17771234568", "+375291234568"])
    assert who(team, KZ).match_type == MatchType.NONE
    assert who(team, "+375291234567").candidates == (Candidate(belarus, 1),)
    assert who(team, "+1 777 123 4567").candidates == (Candidate(us, 0),)
    assert who(team, "+1 777 123 4569").candidates == (Candidate(us_near, 1), Candidate(us, 1))


def test_other_teams_shipments_never_match(team: MaskingService) -> None:
    add(team, [KZ, "+77771234568"], "pvz2")
    assert who(team, KZ).match_type == MatchType.NONE
    assert who(team, KZ, site="pvz2").match_type == MatchType.EXACT


@pytest.mark.parametrize("caller_id", ["112", "103", "0", "1234", "7771234", "+7 777 123", "911"])
def test_short_numbers_are_no_caller(team: MaskingService, caller_id: str) -> None:
    add(team, [KZ, "+77771123456"])
    assert who(team, caller_id) == Identification(None, MatchType.NONE)


def test_short_national_numbers_still_match_in_their_country(team: MaskingService) -> None:
    """Belarus mobile numbers have 9 national digits."""
    [same, off] = add(team, ["+375291234567", "+375291234576"])
    found = who(team, "8 10 375 29 123 45 67", "RU")
    assert found.match_type == MatchType.EXACT and found.candidates == (Candidate(same, 0),)
    with team.db.session() as session:
        shipment = session.get(Shipment, same)
        assert shipment is not None
        session.delete(shipment)
    assert who(team, "+375291234567").candidates == (Candidate(off, 1),)


def test_exact_matches_come_alone_and_newest_first(team: MaskingService) -> None:
    first, second, near = add(team, [KZ, KZ, "+77771234568"])
    found = who(team, KZ)
    assert found == Identification(
        KZ, MatchType.EXACT, (Candidate(second, 0), Candidate(first, 0)), False
    )
    assert near not in [c.shipment_id for c in found.candidates]


def test_an_ambiguous_set(team: MaskingService) -> None:
    one, other, farther = add(team, ["+77771234568", "+77771234569", "+77771234500"])
    found = who(team, KZ)
    assert found.match_type == MatchType.TYPO_1
    assert found.ambiguous
    assert found.candidates == (Candidate(other, 1), Candidate(one, 1), Candidate(farther, 2))


def test_one_customer_with_several_orders_is_not_ambiguous(team: MaskingService) -> None:
    first, second, farther = add(team, ["+77771234568", "+77771234568", "+77771234500"])
    found = who(team, KZ)
    assert found.match_type == MatchType.TYPO_1 and not found.ambiguous
    assert found.candidates == (Candidate(second, 1), Candidate(first, 1), Candidate(farther, 2))


def test_two_customers_two_digits_off_are_ambiguous(team: MaskingService) -> None:
    add(team, ["+77771234500", "+77771234511"])
    found = who(team, KZ)
    assert found.match_type == MatchType.TYPO_2 and found.ambiguous


def test_the_candidates_are_capped_closest_first(team: MaskingService) -> None:
    exact = add(team, [KZ] * (MAX_CANDIDATES + 3))
    found = who(team, KZ)
    assert [c.shipment_id for c in found.candidates] == sorted(exact, reverse=True)[:MAX_CANDIDATES]
    # typos: 12 customers one digit off, 5 two digits off
    team_two = "pvz2"
    ones = add(
        team,
        [f"+7777123456{d}" for d in "012345689"] + ["+77771234517", "+77771234467", "+77771234557"],
        team_two,
    )
    twos = add(team, [f"+777712345{d}{d}" for d in "01234"], team_two)
    found = who(team, KZ, site=team_two)
    assert found.match_type == MatchType.TYPO_1 and found.ambiguous
    assert len(found.candidates) == MAX_CANDIDATES
    assert {c.distance for c in found.candidates} == {1}
    assert {c.shipment_id for c in found.candidates} <= set(ones)
    assert not {c.shipment_id for c in found.candidates} & set(twos)


HOSTILE = [
    "",
    " ",
    "anonymous",
    "Anonymous",
    "unknown",
    "Restricted",
    "asterisk",
    "<unknown>",
    "+7 777 ABC 45 67",
    "77771234567abc",
    "1" * 1000,
    "+" + "7" * 30,
    "+7 777 123 45 67 89 00",
    "'; DROP TABLE shipments; --",
    "7777' OR '1'='1",
    "%",
    "\x00",
    "+7 777 123 45 67\x00",
    "٧٧٧١٢٣٤٥٦٧",
    "sip:+77771234567@example.com",
    '"Ivan" <77771234567>',
    "${CALLERID(num)}",
]


@pytest.mark.parametrize("caller_id", HOSTILE)
def test_a_hostile_caller_id_is_no_caller(team: MaskingService, caller_id: str) -> None:
    add(team, [KZ])
    assert who(team, caller_id) == Identification(None, MatchType.NONE)


def test_hostile_and_random_caller_ids_never_raise_nor_log_digits(
    team: MaskingService, caplog: pytest.LogCaptureFixture
) -> None:
    add(team, [KZ, "+77771234568"])
    caplog.set_level(logging.DEBUG)
    rng = random.Random(99)
    alphabet = "0123456789+()-. abcxyz@:<>\"'%\x00\n٧"
    tried = 0
    with team.db.session() as session:
        site_id = session.scalars(select(Site.id).where(Site.code == "pvz1")).one()
        for _ in range(300):
            raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
            result = identify(
                session, site_id=site_id, caller_id=raw, region=rng.choice(["KZ", "", "XX"])
            )
            assert result.match_type in set(MatchType)
            tried += 1
        assert identify(session, site_id=site_id, caller_id=None, region="KZ").caller is None  # type: ignore[arg-type]
        assert (
            identify(session, site_id=site_id, caller_id="+77771234568", region="KZ").match_type
            == MatchType.EXACT
        )
    assert tried == 300
    assert not digit_leaks(caplog.text, [KZ, "+77771234568"])


def test_the_caller_is_e164_even_without_a_match(team: MaskingService) -> None:
    assert who(team, "8 (701) 000-00-00") == Identification("+77010000000", MatchType.NONE)


def test_a_number_stored_without_keys_still_matches_exactly(team: MaskingService) -> None:
    """Exact matches read the shipments' numbers: a core bulk insert before ``rebuild``."""
    [shipment_id] = add(team, [KZ])
    with team.db.session() as session:
        session.execute(index.KEYS.delete())
    assert who(team, KZ).candidates == (Candidate(shipment_id, 0),)
    assert who(team, "+77771234568").match_type == MatchType.NONE
    index.rebuild(team)
    assert who(team, "+77771234568").candidates == (Candidate(shipment_id, 1),)


def test_a_number_stored_in_another_form_is_found_by_its_keys(team: MaskingService) -> None:
    """Not E.164 (a core import, an old row): keyed in the site's region, read back by
    phonenumbers; the exact match then comes from the keys (distance 0)."""
    [shipment_id] = add(team, ["8 (777) 123-45-68"])
    assert who(team, KZ).candidates == (Candidate(shipment_id, 1),)
    found = who(team, "+77771234568")
    assert found.match_type == MatchType.EXACT
    assert found.candidates == (Candidate(shipment_id, 0),)


def test_the_lookup_in_batches_finds_the_same(
    team: MaskingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    near = add(team, ["+77771234568", "+77771234500", "+77717234567", "+77712345678"])
    whole = who(team, KZ)
    assert {c.shipment_id for c in whole.candidates} == set(near)
    monkeypatch.setattr(index, "LOOKUP_BATCH", 97)
    assert who(team, KZ) == whole


# ---------------------------------------------------------------- randomized, brute force


def mobile(rng: random.Random) -> str:
    prefix = rng.choice(KZ_PREFIXES if rng.random() < 0.5 else RU_PREFIXES)
    return f"+7{prefix}{rng.randrange(10**7):07d}"


def mutate(rng: random.Random, digits: str, edits: int) -> str:
    """``digits`` with ``edits`` random edits (substitution, transposition, deletion,
    insertion); the result may be closer than ``edits`` (edits can cancel)."""
    for _ in range(edits):
        op = rng.choice(["sub", "swap", "del", "ins"])
        i = rng.randrange(len(digits))
        if op == "sub":
            digits = digits[:i] + rng.choice("0123456789".replace(digits[i], "")) + digits[i + 1 :]
        elif op == "swap" and i + 1 < len(digits):
            digits = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        elif op == "del":
            digits = digits[:i] + digits[i + 1 :]
        else:
            digits = digits[:i] + rng.choice("0123456789") + digits[i:]
    return digits


def histogram(digits: str) -> tuple[int, ...]:
    return tuple(digits.count(d) for d in "0123456789")


def brute_force(
    stored: dict[int, tuple[int, str]],
    caller: str,
    histograms: dict[int, tuple[int, ...]],
) -> list[Candidate]:
    """Every stored shipment within distance 2 of ``caller`` (E.164), by a full scan of
    ``stored`` (shipment id -> country, national number). A quick necessary test first:
    an edit changes the digits' histogram by at most 2 (L1), so distance 2 by at most 4
    (``histograms``: each stored number's, computed once for the whole scan)."""
    parsed = index.national(caller, "KZ")
    assert parsed is not None
    mine = histogram(parsed[1])
    found = []
    for shipment_id, (country, nsn) in stored.items():
        if country != parsed[0]:
            continue
        if sum(abs(x - y) for x, y in zip(mine, histograms[shipment_id], strict=True)) > 4:
            continue
        distance = index.distance(nsn, parsed[1], 2)
        if distance <= 2:
            found.append(Candidate(shipment_id, distance))
    return sorted(found, key=lambda c: (c.distance, -c.shipment_id))


def test_randomized_against_a_brute_force_scan(team: MaskingService) -> None:
    rng = random.Random(20261130)
    phones: list[str] = []
    while len(phones) < 2000:
        # a quarter are near another customer's number (same length), to make typos meet
        if phones and rng.random() < 0.25:
            base = rng.choice(phones)
            near = "+7" + mutate(rng, base[2:], rng.choice([1, 2]))
            if try_normalize(near, "KZ") == near:
                phones.append(near)
        else:
            phones.append(mobile(rng))
    ids = add(team, phones)
    readings = [index.national(phone, "KZ") for phone in phones]
    stored = {i: reading for i, reading in zip(ids, readings, strict=True) if reading}
    assert len(stored) == len(phones)
    histograms = {i: histogram(nsn) for i, (_, nsn) in stored.items()}
    checked = {kind: 0 for kind in MatchType}
    ambiguous = 0
    for _ in range(400):
        base = rng.choice(phones)[2:]
        edits = rng.choice([0, 1, 1, 2, 2, 3])
        caller = "+7" + mutate(rng, base, edits)
        if index.national(caller, "KZ") is None:
            caller = mobile(rng)  # a deletion or insertion made it impossible: a stranger
        found = who(team, caller)
        expected = brute_force(stored, caller, histograms)
        assert found.caller == caller
        if not expected:
            assert found == Identification(caller, MatchType.NONE), caller
        elif expected[0].distance == 0:
            exact = [c for c in expected if c.distance == 0]
            assert found.candidates == tuple(exact[:MAX_CANDIDATES])
            assert found.match_type == MatchType.EXACT and not found.ambiguous
        else:
            assert found.candidates == tuple(expected[:MAX_CANDIDATES]), caller
            best = [c for c in expected if c.distance == expected[0].distance]
            assert found.match_type == (
                MatchType.TYPO_1 if best[0].distance == 1 else MatchType.TYPO_2
            )
            assert found.ambiguous == (len({stored[c.shipment_id] for c in best}) > 1), caller
        checked[found.match_type] += 1
        ambiguous += found.ambiguous
    assert all(checked[kind] >= 20 for kind in MatchType), checked
    assert ambiguous >= 3, ambiguous
