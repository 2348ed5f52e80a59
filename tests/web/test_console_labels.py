"""What a new user sees in the console (issue 10): labels instead of raw codes, durations
with units, times in the site's zone with the zone named, and no customer digits on any
appeals page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from masking import accounts
from masking.storage.models import CallRecord
from masking.web import formatting, i18n
from tests.support import appeals
from tests.support.web import Seeded

ZONE = "Europe/Moscow, UTC+03:00"


def sign_in(client: TestClient, login: str, password: str) -> None:
    page = client.get("/login")
    csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    data = {"login": login, "password": password, "csrf": csrf}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


@pytest.fixture
def owner(client: TestClient) -> TestClient:
    sign_in(client, "pvz1-owner", "owner-pass")
    return client


def no_customer_digits(text: str, world: Seeded) -> None:
    for customer in world.customers:
        assert customer[2:] not in text and customer[1:] not in text


def test_durations_have_units() -> None:
    assert formatting.duration(12, "en") == "12 s"
    assert formatting.duration(65, "en") == "1 min 5 s"
    assert formatting.duration(65, "ru") == "1 мин 5 с"
    assert formatting.duration(3 * 3600 + 120, "en") == "3 h 2 min"
    assert formatting.duration(0, "en") == "0 s"
    assert formatting.duration(None, "en") == ""
    assert formatting.time_left(-30, "en") == "overdue by 30 min"


def test_appeal_types_in_three_languages() -> None:
    assert i18n.appeal_type("complaint", "ru") == "Жалоба"
    assert i18n.appeal_type("complaint", "en") == "Complaint"
    assert i18n.appeal_type("complaint", "uk") == "Скарга"
    assert i18n.appeal_type("nope", "en") == "nope"


def test_call_history_shows_labels_units_and_the_zone(owner: TestClient) -> None:
    page = owner.get("/calls?lang=en").text
    row = page.split('id="calls"')[1]
    assert "1 min" in row  # the seeded call bridged 60 s
    assert "Item could not be found quickly" in row
    assert "item_found_later" not in row
    assert ZONE in page
    assert 'lang="en"' in page.split('name="since"')[1].split(">")[0]


def test_item_search_shows_the_status_label(owner: TestClient) -> None:
    page = owner.get("/search?shipment=PVZ1-00001").text
    assert "в пункте выдачи" in page
    assert "at_pickup_point" not in page


def test_the_queue_shows_labels_states_and_no_customer(owner: TestClient, world: Seeded) -> None:
    service = world.service
    now = service.clock()
    appeals.receive(service, "A-1", received_at=now - timedelta(minutes=30))
    appeals.receive(service, "A-2", topic="complaint", received_at=now - timedelta(hours=3))
    appeals.receive(service, "A-3", topic="payment_question", received_at=now - timedelta(hours=25))
    page = owner.get("/appeals").text
    table = page.split('id="appeals"')[1].split("</table>")[0]
    assert [m for m in re.findall(r'data-sla="(\w+)"', table)] == [
        "breached",
        "first_call_missed",
        "on_time",
    ]
    for label in ("просрочено (24 ч)", "звонок позже 2 ч", "в срок", "Жалоба", "Вопрос о доставке"):
        assert label in table
    for code in ("delivery_question", ">new<", "first_call_missed<", ">chat"):
        assert code not in table
    assert ZONE in page
    no_customer_digits(page, world)
    english = owner.get("/appeals?lang=en").text
    assert "24 h limit breached" in english and "Payment question" in english


def test_an_appeal_shows_attempts_in_units_and_refuses_with_the_rule(
    owner: TestClient, world: Seeded
) -> None:
    service = world.service
    now = service.clock()
    case_id = appeals.receive(service, "A-9", received_at=now - timedelta(hours=1))
    appeals.call(service, case_id, now - timedelta(minutes=20), "no_answer", None)
    appeals.call(service, case_id, now - timedelta(minutes=10), "answered", 5)
    page = owner.get(f"/appeals/{case_id}").text
    attempts = page.split('id="attempts"')[1].split("</table>")[0]
    assert "нет ответа" in attempts and "состоялся" in attempts and "5 с" in attempts
    assert "no_answer" not in attempts
    assert ZONE in page
    no_customer_digits(page, world)
    with service.db.session() as session:
        assert session.query(CallRecord).filter_by(case_id=case_id).count() == 2

    csrf = page.split('name="csrf" content="')[1].split('"')[0]
    refused = owner.post(
        f"/appeals/{case_id}/status",
        data={"status": "resolved", "note": "talked", "csrf": csrf},
    )
    assert refused.status_code == 200
    assert "разговора с покупателем" in refused.text and "10 с" in refused.text
    assert "решено" not in refused.text.split('id="appeal-status"')[1].split("</dd>")[0]
    no_customer_digits(refused.text, world)


def test_the_report_page_shows_shares_and_a_csv_link(owner: TestClient, world: Seeded) -> None:
    service = world.service
    appeals.receive(service, "A-5", received_at=service.clock() - timedelta(hours=1))
    page = owner.get("/appeals/report?lang=en").text
    assert 'id="rep-received">1<' in page
    assert "format=csv" in page and 'lang="en"' in page
    no_customer_digits(page, world)


def test_a_manager_enters_an_appeal_by_hand(client: TestClient, world: Seeded) -> None:
    with world.service.db.session() as session:
        manager = accounts.get_staff(session, "pvz1-manager")
        manager.password_hash = accounts.hash_password("manager-pass")
    sign_in(client, "pvz1-manager", "manager-pass")
    page = client.get("/appeals").text
    assert 'id="new-appeal"' in page
    csrf = page.split('name="csrf" content="')[1].split('"')[0]
    form = {
        "appeal_id": "PHONE-7",
        "topic": "delivery_question",
        "channel": "call",
        "order": world.shipment("pvz1"),
        "text": "Where is my parcel?",
        "csrf": csrf,
    }
    entered = client.post("/appeals/new", data=form, follow_redirects=False)
    assert entered.status_code == 303 and entered.headers["location"].startswith("/appeals/")
    shown = client.get(entered.headers["location"]).text
    assert "PHONE-7" in shown
    no_customer_digits(shown, world)
    again = client.post("/appeals/new", data={**form, "topic": "praise"}, follow_redirects=True)
    assert "type" in again.text  # the field is named in the refusal
    employee = TestClient(client.app)
    sign_in(employee, "pvz1-emp", "emp-pass")
    assert 'id="new-appeal"' not in employee.get("/appeals").text
