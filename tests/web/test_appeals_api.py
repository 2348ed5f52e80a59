"""``/api/v1/appeals``: intake (201, 200 for a repeat, 422 naming the field), who may do
what (each role, another site), the queue's order and filters, an appeal with its
attempts, the outcome rules (409 with the rule), the masked call back, the report (JSON
and CSV), and no answer carrying a customer's digits."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from masking import accounts
from masking.service import MaskingService
from masking.states import Disposition
from masking.storage.models import CallRecord
from tests.support import appeals
from tests.support.clock import FakeClock
from tests.support.leaks import number_leaks
from tests.support.web import RecordingOriginator, Seeded

API = "/api/v1/appeals"


class Api:
    """The client as one role; every answer is kept and checked for customers' digits."""

    def __init__(self, client: TestClient, world: Seeded) -> None:
        self.client, self.world = client, world
        self.answers: list[Response] = []
        self.extra: dict[str, str] = {}  # login -> token of staff outside ``world.tokens``

    def headers(self, who: str) -> dict[str, str]:
        if who in self.world.tokens:
            return self.world.headers(who)
        if who not in self.extra:
            with self.world.service.db.session() as session:
                self.extra[who] = accounts.issue_token(accounts.get_staff(session, who))
        return {"Authorization": f"Bearer {self.extra[who]}"}

    def __call__(self, who: str, method: str, path: str, **kwargs: Any) -> Response:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        response = self.client.request(method, API + path, headers=headers, **kwargs)
        self.answers.append(response)
        return response

    def receive(self, who: str, ref: str, **overrides: Any) -> Response:
        return self(who, "POST", "", json=appeals.api_body(ref, **overrides))

    def leaks(self) -> list[str]:
        return [leak for r in self.answers for leak in number_leaks(r.text, self.world.customers)]


@pytest.fixture
def api(client: TestClient, world: Seeded) -> Api:
    return Api(client, world)


def error(response: Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def test_intake_201_then_200_for_a_repeat(api: Api, clock: FakeClock) -> None:
    first = api.receive("staff_manager", "A-1")
    assert first.status_code == 201
    view = first.json()
    assert view["site"] == "pvz1" and view["appeal_id"] == "A-1" and view["order"] == "PVZ1-00000"
    assert view["status"] == "new" and view["sla"] == "on_time" and view["minutes_left"] == 24 * 60
    assert view["due_at"] == (clock.now + timedelta(hours=24)).isoformat()
    assert "phone" not in view and "temporary_number" not in view
    again = api.receive("staff_manager", "A-1", text="changed")
    assert again.status_code == 200 and again.json()["id"] == view["id"]
    assert again.json()["text"] == "Where is my parcel?"
    # an unknown order brings its customer's number, which is never shown back
    new_order = api.receive("owner", "A-2", order="NEW-1", phone="+79161234567")
    assert new_order.status_code == 201 and new_order.json()["order"] == "NEW-1"
    assert "1234567" not in new_order.text
    api.world.customers.append("+79161234567")
    assert api.leaks() == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": "praise"}, "type"),
        ({"channel": "fax"}, "channel"),
        ({"appeal_id": "A 1!"}, "appeal_id"),
        ({"order": ""}, "order"),
        ({"source": "Market Place"}, "source"),
        ({"received_at": "2026-11-18T09:00:00"}, "received_at"),
        ({"received_at": "2030-01-01T00:00:00+00:00"}, "received_at"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"order": "NEW-2"}, "phone"),  # an unknown order needs the customer's number
        ({"order": "NEW-3", "phone": "12"}, "phone"),
        ({"phone": "+79169999999"}, "phone"),  # differs from the order's customer
        ({"colour": "red"}, "colour"),
        ({"site": "PVZ 1"}, "site"),
    ],
)
def test_intake_refuses_bad_input_naming_the_field(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    status, code, message = error(api.receive("staff_manager", "A-9", **overrides))
    assert (status, code) == (422, "bad_input")
    assert message.startswith(f"{field}:"), message


def test_intake_roles(api: Api) -> None:
    assert api.receive("employee_visible", "R-1").status_code == 403
    assert api.receive("qa", "R-1").status_code == 403
    assert error(api.receive("admin", "R-1"))[:2] == (422, "bad_input")  # names no site
    assert api.receive("admin", "R-1", site="pvz1").status_code == 201
    assert api.receive("owner", "R-2").status_code == 201
    assert api.receive("staff_manager", "R-3", site="pvz1").status_code == 201
    assert error(api.receive("staff_manager", "R-4", site="pvz2"))[:2] == (403, "other_site")
    assert error(api.receive("admin", "R-5", site="nowhere"))[:2] == (404, "not_found")
    # the same source and appeal_id, sent for another site, shows nothing of the first
    other = api.receive("pvz2-manager", "R-1", order="PVZ2-00000")
    assert error(other)[:2] == (403, "other_site") and "pvz1" not in other.text
    assert api.leaks() == []


def test_who_works_the_queue(api: Api, originator: RecordingOriginator) -> None:
    case_id = api.receive("staff_manager", "W-1").json()["id"]
    for role in ("owner", "staff_manager", "employee", "employee_visible", "admin"):
        assert api(role, "GET", "").json()["total"] == 1, role
        assert api(role, "GET", f"/{case_id}").status_code == 200, role
    assert api("qa", "GET", "").status_code == 403
    assert api("qa", "GET", f"/{case_id}").status_code == 403
    assert api("qa", "POST", f"/{case_id}/take").status_code == 403
    # another site's staff: nothing of pvz1
    assert api("pvz2-manager", "GET", "").json() == {"site": "pvz2", "total": 0, "appeals": []}
    assert error(api("pvz2-manager", "GET", "?site=pvz1"))[:2] == (403, "other_site")
    for method, path, body in (
        ("GET", f"/{case_id}", None),
        ("POST", f"/{case_id}/take", None),
        ("POST", f"/{case_id}/notes", {"text": "hi"}),
        ("PUT", f"/{case_id}/status", {"status": "not_resolved", "note": "x"}),
        ("POST", f"/{case_id}/calls", None),
    ):
        assert error(api("pvz2-emp", method, path, json=body))[:2] == (403, "other_site"), path
    # the admin reads every site's appeals but does not work them
    assert api("admin", "GET", "?site=pvz2").json()["total"] == 0
    assert api("admin", "POST", f"/{case_id}/take").status_code == 403
    assert api("admin", "POST", f"/{case_id}/notes", json={"text": "x"}).status_code == 403
    assert api("admin", "POST", f"/{case_id}/calls").status_code == 403
    # the site's staff work it; calling needs the right to see numbers (reveal decides)
    taken = api("employee", "POST", f"/{case_id}/take")
    assert taken.status_code == 200 and taken.json()["assignee"] == "pvz1-emp"
    assert taken.json()["status"] == "in_progress"
    noted = api("employee", "POST", f"/{case_id}/notes", json={"text": "called back later"})
    assert noted.json()["notes"][-1]["text"] == "called back later"
    assert error(api("employee", "POST", f"/{case_id}/calls"))[:2] == (403, "not_allowed")
    assert originator.calls == []
    assert error(api("owner", "GET", "/nosuchappeal"))[:2] == (404, "not_found")
    assert api.leaks() == []


def test_queue_order_and_filters(api: Api, service: MaskingService, clock: FakeClock) -> None:
    now = clock.now
    ids = {}
    for ref, hours_ago, kind in (
        ("Q-a", 3, "delivery_question"),
        ("Q-b", 1, "complaint"),
        ("Q-c", 5, "delivery_question"),
        ("Q-d", 2, "payment_question"),
        ("Q-e", 4, "payment_question"),
    ):
        received = (now - timedelta(hours=hours_ago)).isoformat()
        ids[ref] = api.receive("staff_manager", ref, type=kind, received_at=received).json()["id"]
    for ref in ("Q-d", "Q-e"):  # closed, Q-e last
        appeals.call(service, ids[ref], clock.now, Disposition.ANSWERED, 40)
        clock.advance(minutes=5)
        body = {"status": "resolved", "note": "customer helped"}
        assert api("owner", "PUT", f"/{ids[ref]}/status", json=body).status_code == 200
    api("owner", "POST", f"/{ids['Q-a']}/take")

    def refs(query: str = "") -> list[str]:
        return [a["appeal_id"] for a in api("employee", "GET", query).json()["appeals"]]

    assert refs() == ["Q-c", "Q-a", "Q-b", "Q-e", "Q-d"]
    assert refs("?type=payment_question") == ["Q-e", "Q-d"]
    assert refs("?status=new") == ["Q-c", "Q-b"]
    assert refs("?assignee=pvz1-owner") == ["Q-a"]
    assert refs("?limit=2&offset=1") == ["Q-a", "Q-b"]
    page = api("employee", "GET", "?limit=2").json()
    assert page["total"] == 5 and page["site"] == "pvz1"
    first = page["appeals"][0]
    assert first["minutes_left"] == 19 * 60 - 10 and first["sla"] == "first_call_missed"
    for query, field in (
        ("?type=praise", "type"),
        ("?status=done", "status"),
        ("?assignee=a%20b", "assignee"),
        ("?limit=0", "limit"),
    ):
        status, code, message = error(api("owner", "GET", query))
        assert (status, code) == (422, "bad_input") and message.startswith(field), query
    assert api.leaks() == []


def test_detail_shows_attempts_notes_and_audit(
    api: Api, service: MaskingService, clock: FakeClock
) -> None:
    case_id = api.receive("staff_manager", "D-1").json()["id"]
    appeals.call(service, case_id, clock.now, Disposition.NO_ANSWER, None)
    appeals.call(
        service,
        case_id,
        clock.now + timedelta(minutes=3),
        Disposition.ANSWERED,
        25,
        recording_file="2026/11/18/x.wav",
        recording_bytes=1000,
    )
    api("owner", "POST", f"/{case_id}/notes", json={"text": "spoke to the buyer"})
    owner = api("owner", "GET", f"/{case_id}").json()
    assert owner["status"] == "in_progress" and owner["first_attempt_at"] == clock.now.isoformat()
    assert [a["disposition"] for a in owner["attempts"]] == ["no_answer", "answered"]
    assert owner["attempts"][1]["bridged_seconds"] == 25
    assert owner["attempts"][1]["recording"] is True
    assert all("recording_url" not in a for a in owner["attempts"])  # owners do not listen
    admin = api("admin", "GET", f"/{case_id}").json()
    call_id = admin["attempts"][1]["call_id"]
    assert admin["attempts"][1]["recording_url"] == f"/api/v1/recordings/{call_id}"
    assert "recording_url" not in admin["attempts"][0]
    assert owner["notes"] == [
        {"at": clock.now.isoformat(), "staff": "pvz1-owner", "text": "spoke to the buyer"}
    ]
    actions = [(e["action"], e["to_status"], e["automatic"]) for e in owner["events"]]
    assert actions == [
        ("created", None, False),
        ("status", "in_progress", True),
        ("note", None, False),
    ]
    assert owner["events"][0]["staff"] == "pvz1-manager"
    assert api.leaks() == []


def test_status_needs_evidence_and_a_note(
    api: Api, service: MaskingService, clock: FakeClock
) -> None:
    case_id = api.receive("staff_manager", "S-1").json()["id"]

    def put(status: str, note: str = "what happened") -> Response:
        return api("employee", "PUT", f"/{case_id}/status", json={"status": status, "note": note})

    assert error(put("not_resolved"))[:2] == (409, "attempt_required")
    assert error(put("resolved", note=" "))[:2] == (409, "note_required")
    assert error(put("resolved"))[:2] == (409, "contact_required")
    appeals.call(service, case_id, clock.now, Disposition.BUSY, None)
    appeals.call(service, case_id, clock.now, Disposition.ANSWERED, 9)
    status, code, message = error(put("resolved"))
    assert (status, code) == (409, "contact_required") and "10 s" in message
    assert error(put("closed"))[:2] == (422, "bad_input")
    appeals.call(service, case_id, clock.now, Disposition.ANSWERED, 10)
    done = put("resolved", "refund explained")
    assert done.status_code == 200
    view = done.json()
    assert view["status"] == "resolved" and view["closed_at"] == clock.now.isoformat()
    assert view["notes"][-1]["text"] == "refund explained"
    last = view["events"][-1]
    assert (last["action"], last["from_status"], last["to_status"]) == (
        "status",
        "in_progress",
        "resolved",
    )
    assert last["staff"] == "pvz1-emp" and last["automatic"] is False
    assert error(put("not_resolved"))[:2] == (409, "transition")
    # a failure claim needs only an attempt
    other = api.receive("staff_manager", "S-2").json()["id"]
    appeals.call(service, other, clock.now, Disposition.NO_ANSWER, None)
    body = {"status": "not_resolved", "note": "no answer twice"}
    assert api("owner", "PUT", f"/{other}/status", json=body).json()["status"] == "not_resolved"
    assert api.leaks() == []


def test_call_rings_the_desk_through_the_orders_masked_path(
    api: Api, service: MaskingService, originator: RecordingOriginator
) -> None:
    case_id = api.receive("staff_manager", "C-1").json()["id"]
    key = {"Idempotency-Key": "appeal-call-1"}
    first = api("owner", "POST", f"/{case_id}/calls", headers=key)
    assert first.status_code == 201, first.text
    call = first.json()
    assert call["shipment"] == "PVZ1-00000" and call["reason"] == "appeal_callback"
    assert call["staff"] == "pvz1-owner" and call["temporary_number"].startswith("+7495")
    assert originator.calls == [
        {"call_id": call["id"], "endpoint": "pvz1-desk1", "label": "Order PVZ1-00000"}
    ]
    again = api("owner", "POST", f"/{case_id}/calls", headers=key)
    assert again.status_code == 201 and again.json()["id"] == call["id"]
    assert len(originator.calls) == 1
    with service.db.session() as session:
        linked = session.scalars(select(CallRecord.id).where(CallRecord.case_id == case_id))
        assert list(linked) == [call["id"]]
    assert api("owner", "GET", f"/{case_id}").json()["attempts"][0]["call_id"] == call["id"]
    # a closed appeal is not called about
    appeals.call(service, case_id, service.clock(), Disposition.NO_ANSWER, None)
    body = {"status": "not_resolved", "note": "gave up"}
    api("owner", "PUT", f"/{case_id}/status", json=body)
    assert error(api("owner", "POST", f"/{case_id}/calls"))[:2] == (409, "closed")
    assert api.leaks() == []


def test_report_json_and_csv(api: Api, service: MaskingService, clock: FakeClock) -> None:
    called = api.receive("staff_manager", "P-1").json()["id"]
    api.receive("staff_manager", "P-2")
    appeals.call(service, called, clock.now + timedelta(minutes=30), Disposition.ANSWERED, 60)
    clock.advance(hours=1)
    body = {"status": "resolved", "note": "sorted"}
    assert api("owner", "PUT", f"/{called}/status", json=body).status_code == 200
    query = "/report?since=2026-11-18&until=2026-11-18"
    report = api("staff_manager", "GET", query).json()
    assert report == {
        "site": "pvz1",
        "since": "2026-11-18",
        "until": "2026-11-18",
        "received": 2,
        "open": 1,
        "first_called_in_time": 0.5,
        "resolved_in_time": 0.5,
        "auto_closed": 0.0,
        "median_minutes_to_first_call": 30.0,
    }
    assert api("admin", "GET", query + "&site=pvz1").json() == report
    assert api("owner", "GET", "/report").json()["received"] == 2  # the last 30 days
    as_csv = api("owner", "GET", query + "&format=csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows == [{k: "" if v is None else str(v) for k, v in report.items()}]
    for role in ("employee", "employee_visible", "qa"):
        assert api(role, "GET", query).status_code == 403, role
    assert error(api("admin", "GET", query))[:2] == (422, "bad_input")  # names no site
    assert error(api("owner", "GET", query + "&site=pvz2"))[:2] == (403, "other_site")
    backwards = api("owner", "GET", "/report?since=2026-11-18&until=2026-11-01")
    assert error(backwards)[:2] == (422, "bad_input") and "until" in backwards.text
    assert api("owner", "GET", query + "&format=xml").status_code == 422
    assert api.leaks() == []
