"""``/api/v1/hotline`` (issue 12, seed 004): the agent's live pop (match type, ambiguous
sets, candidate orders with number, status, model and store, the caller masked), the
verification answering per field without ever returning the stored value (every answer
of every test is scanned for the customer's name, city, address and number digits), the
tries, the voice flag, the actions after identification (confirm with the hotline call as
evidence, correct the number, cancel / change), the light path, and the role matrix of
every endpoint (own site / another site)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from masking import accounts
from masking.calls import call_log
from masking.service import MaskingService
from masking.states import CaseStatus, Disposition
from masking.storage.models import Case, Order, Shipment
from tests.support import hotline as support
from tests.support.clock import FakeClock
from tests.support.web import ROLES, Seeded

API = "/api/v1"
RIGHT = {"name": "Anna Ivanova", "order": support.ORDER, "city": "Ust-Kamenogorsk"}
OTHER_DID = "77272000200"
OTHER_REFS = ("200042", "200043")


@dataclass
class World:
    client: TestClient
    seeded: Seeded
    hl: support.SeededHotline  # pvz1's hotline
    other: support.SeededHotline  # pvz2's
    answers: list[Response] = field(default_factory=list)

    @property
    def service(self) -> MaskingService:
        return self.seeded.service

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        if who in self.seeded.tokens:
            return self.seeded.headers(who)
        with self.service.db.session() as session:
            token = accounts.issue_token(accounts.get_staff(session, who))
        self.seeded.tokens[who] = token
        return {"Authorization": f"Bearer {token}"}

    def __call__(self, who: str, method: str, path: str, **kwargs: Any) -> Response:
        response = self.client.request(method, API + path, headers=self.headers(who), **kwargs)
        self.answers.append(response)
        return response

    def call(self, caller: str, hl: support.SeededHotline | None = None) -> support.Contact:
        return support.contact(self.service, hl or self.hl, caller)


@pytest.fixture
def w(client: TestClient, world: Seeded, caplog: pytest.LogCaptureFixture) -> Iterator[World]:
    caplog.set_level(logging.DEBUG)
    hl = support.seed_hotline(world.service, "pvz1")
    other = support.seed_hotline(world.service, "pvz2", did=OTHER_DID, refs=OTHER_REFS)
    state = World(client, world, hl, other)
    yield state
    # not one answer of the test carried the customer's name, city, address or digits
    for response in state.answers:
        assert not support.secrets_in(response.text), (response.url, response.text[:300])
    # nor a line the service logged
    assert not support.secrets_in(caplog.text), support.secrets_in(caplog.text)


def test_the_pop_shows_the_match_and_never_the_customer(w: World) -> None:
    assert w("employee", "GET", "/hotline/pop").json() == {"contact": None}
    contact = w.call(support.CALLER_TYPO_1)
    body = w("employee", "GET", "/hotline/pop").json()["contact"]
    assert body["id"] == contact.id and body["code"] == contact.code
    assert body["brand"] == support.BRAND and body["support_email"] == support.SUPPORT_EMAIL
    assert body["match_type"] == "typo_1" and body["ambiguous"] is False
    assert body["caller"].startswith("+7 7") and body["caller"].endswith("79")
    assert body["live"] is True and body["identified"] is False and body["tries_left"] == 3
    [candidate] = body["candidates"]
    assert candidate == {
        "distance": 1,
        "shipment_id": w.hl.shipment_id,
        "order": support.ORDER,
        "status": "pending_payment",
        "model": support.MODEL,
        "store": support.STORE,
        "order_id": w.hl.order_id,
        "awaiting_confirmation": True,
        "confirmed": False,
        "created_at": candidate["created_at"],
    }
    assert body["may_change"] is False and body["order"] is None
    # the pop is the answering agent's only
    assert w("staff_manager", "GET", "/hotline/pop").json() == {"contact": None}


def test_match_types_in_the_pop(w: World, clock: FakeClock) -> None:
    for caller, expected in (
        (support.PHONE, "exact"),
        (support.CALLER_TYPO_2, "typo_2"),
        ("+77019999999", "none"),
    ):
        w.call(caller)
        body = w("employee", "GET", "/hotline/pop").json()["contact"]
        assert body["match_type"] == expected, caller
        clock.advance(seconds=30)
    assert body["candidates"] == [] and body["support_email"] == support.SUPPORT_EMAIL


def test_an_ambiguous_set_is_shown_as_such(w: World) -> None:
    # another customer whose number is also one digit off the caller's
    with w.service.db.session() as session:
        shipment = session.get(Shipment, w.hl.other_shipment_id)
        assert shipment is not None
        shipment.customer_phone = "+77012345670"
    w.call(support.CALLER_TYPO_1)
    body = w("employee", "GET", "/hotline/pop").json()["contact"]
    assert body["match_type"] == "typo_1" and body["ambiguous"] is True
    assert {c["order"] for c in body["candidates"]} == {support.ORDER, support.OTHER_ORDER}
    # without naming the order, the one whose number the caller said is checked
    answer = w("employee", "POST", f"/hotline/contacts/{body['id']}/verify", json=RIGHT).json()
    assert answer["identified"] is True and answer["contact"]["order"]["order"] == support.ORDER


def test_verification_answers_per_field_and_never_the_value(w: World) -> None:
    contact = w.call(support.CALLER_TYPO_1)
    path = f"/hotline/contacts/{contact.id}/verify"
    wrong = {"name": "Иванова", "order": "100043", "city": "Астана", "address": "Абая 12"}
    first = w("employee", "POST", path, json={"shipment_id": w.hl.shipment_id, **wrong})
    assert first.status_code == 200
    assert first.json()["results"] == {
        "name": "close",
        "order": "close",
        "city": "no_match",
        "address": "no_match",
    }
    assert first.json()["identified"] is False and first.json()["tries_left"] == 2
    # what was typed is not sent back either
    assert "Астана" not in first.text and "100043" not in first.text
    ok = w("employee", "POST", path, json=RIGHT).json()
    assert ok["results"] == {"name": "match", "order": "match", "city": "match"}
    assert ok["identified"] is True and ok["tries"] == 2
    assert ok["contact"]["may_change"] and ok["contact"]["may_correct_number"]
    again = w("employee", "POST", path, json=RIGHT)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_identified"
    detail = w("employee", "GET", f"/hotline/contacts/{contact.id}").json()
    checks = [e["detail"] for e in detail["events"] if e["action"] == "verify"]
    assert checks == [
        f"order {support.ORDER}: name=close, order=close, city=no_match, address=no_match; "
        "try 1 of 3",
        f"order {support.ORDER}: name=match, order=match, city=match; try 2 of 3",
    ]


def test_three_tries_then_refused(w: World) -> None:
    contact = w.call(support.CALLER_TYPO_1)
    path = f"/hotline/contacts/{contact.id}/verify"
    for _ in range(3):
        assert w("employee", "POST", path, json={"name": "Петров Пётр"}).status_code == 200
    refused = w("employee", "POST", path, json=RIGHT)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "tries_exhausted"
    body = w("employee", "GET", "/hotline/pop").json()["contact"]
    assert body["tries_left"] == 0 and body["identified"] is False
    opened = w("employee", "POST", f"/hotline/contacts/{contact.id}/open")
    assert opened.status_code == 409 and opened.json()["error"]["code"] == "not_identified"
    empty = w("employee", "POST", path, json={"name": "  "})
    assert empty.status_code in (409, 422)


def test_identified_caller_confirms_the_order_with_this_call(w: World, clock: FakeClock) -> None:
    contact = w.call(support.PHONE)
    base = f"/hotline/contacts/{contact.id}"
    assert w("employee", "POST", base + "/verify", json=RIGHT).json()["identified"]
    opened = w("employee", "POST", base + "/open").json()
    assert opened["order"]["order"] == support.ORDER and opened["contact"]["opened"] is True
    assert opened["contact"]["may_confirm"] is True
    too_soon = w("employee", "POST", base + "/confirm", json={"note": "подтвердила"})
    assert too_soon.status_code == 409
    assert too_soon.json()["error"]["code"] == "contact_required"
    assert too_soon.json()["error"]["params"]["seconds"] == 10
    clock.advance(seconds=30)  # the call is still up: 30 s of conversation count
    no_note = w("employee", "POST", base + "/confirm", json={"note": ""})
    assert no_note.status_code == 409 and no_note.json()["error"]["code"] == "note_required"
    done = w("employee", "POST", base + "/confirm", json={"note": "подтвердила по телефону"})
    assert done.status_code == 200 and done.json()["may_confirm"] is False
    with w.service.db.session() as session:
        order = session.get(Order, w.hl.order_id)
        assert order is not None and order.confirmed_at == clock.now
        case = session.get(Case, order.case_id)
        assert case is not None and case.status == CaseStatus.CONFIRMED
    # the exact match has nothing to correct
    fix = w("employee", "POST", base + "/correct-number", json={"note": ""})
    assert fix.status_code == 409 and fix.json()["error"]["code"] == "not_a_typo"


def test_the_typo_case_corrects_the_number_and_requests_go_out(w: World, clock: FakeClock) -> None:
    contact = w.call(support.CALLER_TYPO_2)
    base = f"/hotline/contacts/{contact.id}"
    w("employee", "POST", base + "/verify", json=RIGHT)
    assert w("employee", "POST", base + "/correct-number", json={"note": "опечатка"}).is_success
    with w.service.db.session() as session:
        shipment = session.get(Shipment, w.hl.shipment_id)
        assert shipment is not None and shipment.customer_phone == support.CALLER_TYPO_2
    for kind in ("change", "cancel"):
        answer = w("employee", "POST", f"{base}/{kind}", json={"note": f"{kind}: по просьбе"})
        assert answer.status_code == 200, answer.text
    events = [e["action"] for e in w("employee", "GET", base).json()["events"]]
    assert events[-3:] == ["number_corrected", "change_requested", "cancel_requested"]
    # the next call from the corrected number is an exact match
    clock.advance(minutes=1)
    w.call(support.CALLER_TYPO_2)
    assert w("employee", "GET", "/hotline/pop").json()["contact"]["match_type"] == "exact"


def test_voice_mismatch_blocks_changes_and_says_the_buyer_must_call(w: World) -> None:
    contact = w.call(support.PHONE)
    base = f"/hotline/contacts/{contact.id}"
    w("employee", "POST", base + "/verify", json=RIGHT)
    flagged = w("employee", "POST", base + "/voice-mismatch", json={"note": "мужской голос"})
    assert flagged.json()["voice_mismatch"] is True and flagged.json()["may_change"] is False
    for action in ("open", "confirm", "cancel", "change", "correct-number"):
        refused = w(
            "employee", "POST", f"{base}/{action}", json={} if action == "open" else {"note": "x"}
        )
        assert refused.status_code == 409, action
        error = refused.json()["error"]
        assert error["code"] == "voice_mismatch" and "must call" in error["message"]
    # a service question is still answered
    found = w("employee", "POST", base + "/find-order", json={"order": support.OTHER_ORDER})
    assert found.json()["order"]["model"] == "Thunderobot 911"


def test_the_light_path_and_notes(w: World) -> None:
    contact = w.call("+77019999999")
    base = f"/hotline/contacts/{contact.id}"
    nothing = w("employee", "POST", base + "/verify", json=RIGHT)
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "not_a_candidate"
    found = w("employee", "POST", base + "/find-order", json={"order": support.ORDER}).json()
    assert found["order"]["store"] == support.STORE and found["order"]["model"] == support.MODEL
    missing = w("employee", "POST", base + "/find-order", json={"order": "NOPE-1"}).json()
    assert missing["order"] is None
    other_site = w("employee", "POST", base + "/find-order", json={"order": OTHER_REFS[0]})
    assert other_site.json()["order"] is None  # another site's order is never found
    assert w("employee", "POST", base + "/notes", json={"text": "спросила про гарантию"}).is_success
    detail = w("owner", "GET", base).json()
    assert detail["notes"][0]["text"] == "спросила про гарантию"
    assert [e["action"] for e in detail["events"]].count("order_lookup") == 3


def test_the_pop_goes_after_the_wrap_up(w: World, clock: FakeClock) -> None:
    contact = w.call(support.PHONE)
    assert contact.call_id is not None
    call_log.mark_ended(
        w.service, contact.call_id, clock.now + timedelta(seconds=40), Disposition.ANSWERED
    )
    clock.advance(minutes=5)
    body = w("employee", "GET", "/hotline/pop").json()["contact"]
    assert body["live"] is False and body["seconds"] is None
    late = w("employee", "POST", f"/hotline/contacts/{contact.id}/verify", json=RIGHT)
    assert late.status_code == 409 and late.json()["error"]["code"] == "call_ended"
    clock.advance(minutes=10)
    assert w("employee", "GET", "/hotline/pop").json() == {"contact": None}


def test_recent_contacts_read_only(w: World) -> None:
    contact = w.call(support.CALLER_TYPO_1)
    w.call(support.PHONE, w.other)
    mine = w("owner", "GET", "/hotline/contacts").json()
    assert [c["id"] for c in mine["contacts"]] == [contact.id] and mine["site"] == "pvz1"
    row = mine["contacts"][0]
    assert row["agent"] == "pvz1-emp" and row["match_type"] == "typo_1"
    everyone = w("qa", "GET", "/hotline/contacts").json()
    assert len(everyone["contacts"]) == 2
    assert w("admin", "GET", "/hotline/contacts?site=pvz2").json()["site"] == "pvz2"
    assert w("employee", "GET", "/hotline/contacts").status_code == 403
    assert w("owner", "GET", "/hotline/contacts?site=pvz2").status_code == 403


# ---- the role matrix ---------------------------------------------------------------------------
AGENT = "employee"  # who answered the call of each site (its employee)
READERS = ("owner", "staff_manager", "admin", "qa")
Expect = Callable[[str, bool], int]


def agent_only(ok: int) -> Expect:
    """Only the agent who answered, on their own site; everyone else 403."""
    return lambda role, own: ok if role == AGENT and own else 403


def readers(role: str, own: bool) -> int:
    if role in ("admin", "qa"):
        return 200
    if role in ("owner", "staff_manager"):
        return 200 if own else 403
    return 200 if role == AGENT and own else 403


def site_roles(role: str, own: bool) -> int:
    return 403 if role in ("admin", "qa") else 200


def list_expect(role: str, own: bool) -> int:
    if role in ("admin", "qa"):
        return 200
    return 200 if role in ("owner", "staff_manager") and own else 403


@dataclass(frozen=True)
class Cell:
    name: str
    method: str
    path: str  # {c}: the contact of the site
    expect: Expect
    body: dict[str, Any] | None = None


CELLS = [
    Cell("pop", "GET", "/hotline/pop", site_roles),
    Cell("list", "GET", "/hotline/contacts?site={site}", list_expect),
    Cell("detail", "GET", "/hotline/contacts/{c}", readers),
    Cell("verify", "POST", "/hotline/contacts/{c}/verify", agent_only(200), {"name": "Петров"}),
    Cell("find", "POST", "/hotline/contacts/{c}/find-order", agent_only(200), {"order": "x"}),
    Cell("note", "POST", "/hotline/contacts/{c}/notes", agent_only(200), {"text": "matrix"}),
    Cell("open", "POST", "/hotline/contacts/{c}/open", agent_only(409)),
    Cell("confirm", "POST", "/hotline/contacts/{c}/confirm", agent_only(409), {"note": "x"}),
    Cell("cancel", "POST", "/hotline/contacts/{c}/cancel", agent_only(409), {"note": "x"}),
    Cell("change", "POST", "/hotline/contacts/{c}/change", agent_only(409), {"note": "x"}),
    Cell("fix", "POST", "/hotline/contacts/{c}/correct-number", agent_only(409), {"note": "x"}),
    Cell("voice", "POST", "/hotline/contacts/{c}/voice-mismatch", agent_only(200), {"note": ""}),
]


def test_role_matrix(w: World) -> None:
    contacts = {
        "pvz1": w.call(support.CALLER_TYPO_1).id,
        "pvz2": w.call(support.CALLER_TYPO_1, w.other).id,
    }
    failures = []
    for cell in CELLS:
        for role in (*ROLES, "anonymous"):
            for site in ("pvz1", "pvz2"):
                own = site == "pvz1"
                expected = 401 if role == "anonymous" else cell.expect(role, own)
                path = cell.path.format(c=contacts[site], site=site)
                kwargs = {"json": cell.body} if cell.body is not None else {}
                response = w(role, cell.method, path, **kwargs)
                if response.status_code != expected:
                    failures.append(
                        f"{cell.name} x {role} x {site}: {response.status_code} != {expected}: "
                        f"{response.text[:160]}"
                    )
                elif response.status_code >= 400:
                    error = response.json()["error"]
                    assert error["code"] and error["message"]
    assert not failures, "\n".join(failures)
    # a colleague of the agent is told why, not just "no"
    refused = w("owner", "POST", f"/hotline/contacts/{contacts['pvz1']}/verify", json=RIGHT)
    assert refused.json()["error"]["code"] == "not_your_contact"


def test_openapi_documents_the_hotline(w: World) -> None:
    spec = w.client.get("/openapi.json").json()
    assert "/api/v1/hotline/pop" in spec["paths"]
    assert "/api/v1/hotline/contacts/{contact}/verify" in spec["paths"]
    with w.service.db.session() as session:
        assert session.scalar(select(Shipment.customer_name).where(Shipment.id == w.hl.shipment_id))
