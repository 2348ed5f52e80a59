"""``/api/v1`` of the confirmation campaigns (issue 11): the order upsert (201, then 200 for
the same source and order id; 422 naming the field), who may see and work which campaign
(an employee only the one assigned today; owner, manager and QA read-only unless
assigned; another site nothing), the worklist's "why not now" fields, preview calls (409
with reason and until), the outcome rules (409 without a real call), dial sessions, the
day report (JSON and CSV), and no answer carrying a customer's digits."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from masking import accounts
from masking.calls import call_log
from masking.cases import lifecycle
from masking.service import MaskingService
from masking.states import CallStatus, Direction, Disposition
from masking.storage.models import CallRecord, Order, new_id
from tests.support.clock import FakeClock
from tests.support.leaks import number_leaks
from tests.support.web import RecordingOriginator, Seeded

API = "/api/v1"
# 2026-11-18 09:00 UTC is Wednesday 12:00 in Moscow (the site's and the customers' zone)
NEW_CUSTOMERS = [f"+7916555{i:04d}" for i in range(20)]


class Api:
    """The client as one role; every answer is kept and checked for customers' digits."""

    def __init__(self, client: TestClient, world: Seeded) -> None:
        self.client, self.world = client, world
        self.answers: list[Response] = []
        self.extra: dict[str, str] = {}
        world.customers.extend(NEW_CUSTOMERS)

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
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

    def order(self, ref: str, i: int = 0, **overrides: Any) -> Response:
        now = self.world.service.clock()
        body: dict[str, Any] = {
            "source": "magna",
            "order_id": ref,
            "status": "pending_payment",
            "payment_method": "wire_transfer",
            "store": "country_ua",
            "created_at": (now - timedelta(hours=1)).isoformat(),
            "phone": NEW_CUSTOMERS[i],
            "customer_tz": "Europe/Moscow",
        }
        body.update(overrides)
        return self("staff_manager", "POST", "/orders", json=body)

    def campaign(self, code: str = "unpaid-wire", **overrides: Any) -> int:
        body: dict[str, Any] = {
            "code": code,
            "title": "Unpaid wire transfers",
            "payment_methods": ["wire_transfer"],
            "statuses": ["pending", "pending_payment"],
        }
        body.update(overrides)
        response = self("staff_manager", "POST", "/campaigns", json=body)
        assert response.status_code in (200, 201), response.text
        return int(response.json()["id"])

    def assign(self, campaign: int, login: str, starts_on: str = "2026-11-18") -> Response:
        body = {"staff": login, "starts_on": starts_on}
        return self("staff_manager", "POST", f"/campaigns/{campaign}/assignments", json=body)

    def leaks(self) -> list[str]:
        return [leak for r in self.answers for leak in number_leaks(r.text, self.world.customers)]


@pytest.fixture
def api(client: TestClient, world: Seeded) -> Api:
    return Api(client, world)


def error(response: Response) -> tuple[int, str]:
    body = response.json()["error"]
    assert body["message"], body
    return response.status_code, body["code"]


def attempt(
    service: MaskingService,
    order_id: int,
    at: datetime,
    disposition: Disposition,
    seconds: int | None = None,
    staff: str = "pvz1-empvis",
) -> str:
    """A call about the order that reached the customer (the desk names its recording
    when it dials them), ended through the call log as ``disposition``."""
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        staff_id = accounts.get_staff(session, staff).id
        record = CallRecord(
            id=new_id(),
            direction=Direction.CLICK2CALL,
            site_id=order.site_id,
            staff_id=staff_id,
            shipment_id=order.shipment_id,
            case_id=order.case_id,
            reason_code="order_confirmation",
            started_at=at,
            status=CallStatus.RINGING_CUSTOMER,
        )
        record.recording_file = f"{at:%Y/%m/%d}/{record.id}.wav"
        session.add(record)
        session.flush()
        lifecycle.attempt_started(session, order.case_id, at)
        call_id = record.id
    if disposition == Disposition.ANSWERED:
        call_log.mark_answered(service, call_id, at + timedelta(seconds=3))
    end = at + timedelta(seconds=3 + (seconds or 20))
    call_log.mark_ended(service, call_id, end, disposition, bridged_seconds=seconds)
    return call_id


def iso_utc(moment: datetime) -> str:
    return moment.isoformat()


# ---- orders in ---------------------------------------------------------------------------
def test_order_upsert_is_idempotent_by_source_and_order_id(api: Api) -> None:
    first = api.order("100001")
    assert first.status_code == 201, first.text
    view = first.json()
    assert view["order_id"] == "100001" and view["site"] == "pvz1"
    assert view["status"] == "pending_payment" and view["payment_method"] == "wire_transfer"
    assert view["case_status"] == "new" and view["confirmed_at"] is None
    assert "phone" not in view and "customer_phone" not in view
    again = api.order("100001")
    assert again.status_code == 200 and again.json()["id"] == view["id"]
    # the shop's status changed: the same order, updated; no phone needed now
    changed = api.order("100001", status="pending", phone=None)
    assert changed.status_code == 200 and changed.json()["status"] == "pending"
    assert changed.json()["id"] == view["id"]
    assert api.leaks() == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"order_id": "A 1!"}, "order_id"),
        ({"source": "Magna Shop"}, "source"),
        ({"status": "?"}, "status"),
        ({"payment_method": ""}, "payment_method"),
        ({"created_at": "2026-11-18T09:00:00"}, "created_at"),
        ({"created_at": "2030-01-01T00:00:00+00:00"}, "created_at"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"phone": None}, "phone"),  # a new order needs the customer's number
        ({"phone": "12"}, "phone"),
        ({"customer_tz": "Mars/Olympus"}, "customer_tz"),
        ({"colour": "red"}, "colour"),
        ({"site": "PVZ 1"}, "site"),
    ],
)
def test_order_upsert_refuses_bad_input_naming_the_field(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    response = api.order("100009", **overrides)
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "bad_input" and body["message"].startswith(f"{field}"), body
    assert api.leaks() == []


def test_who_may_send_orders(api: Api) -> None:
    body = {
        "source": "magna",
        "order_id": "R-1",
        "status": "pending",
        "payment_method": "wire_transfer",
        "created_at": "2026-11-18T08:00:00+00:00",
        "phone": NEW_CUSTOMERS[1],
    }
    for role in ("employee", "employee_visible", "qa"):
        assert api(role, "POST", "/orders", json=body).status_code == 403, role
    assert error(api("admin", "POST", "/orders", json=body)) == (422, "bad_input")  # no site
    assert api("admin", "POST", "/orders", json={**body, "site": "pvz1"}).status_code == 201
    assert api("owner", "POST", "/orders", json={**body, "order_id": "R-2"}).status_code == 201
    other = api("staff_manager", "POST", "/orders", json={**body, "site": "pvz2"})
    assert error(other) == (403, "other_site")
    assert api("anonymous", "POST", "/orders", json=body).status_code == 401
    assert api.leaks() == []


# ---- campaigns and who sees them ---------------------------------------------------------
def test_campaign_save_is_an_upsert_and_checks_its_policy(api: Api) -> None:
    created = api("staff_manager", "POST", "/campaigns", json={"code": "c1", "title": "One"})
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["site"] == "pvz1" and view["tz"] == "Europe/Moscow"
    assert [w["name"] for w in view["policy"]["windows"]] == ["morning", "afternoon", "evening"]
    assert view["assignee"] is None and view["may_work"] is False
    body = {"code": "c1", "title": "Renamed", "policy": {"min_gap_minutes": 90}}
    changed = api("owner", "POST", "/campaigns", json=body)
    assert changed.status_code == 200 and changed.json()["id"] == view["id"]
    assert changed.json()["title"] == "Renamed"
    assert changed.json()["policy"]["min_gap_minutes"] == 90
    bad = {"code": "c2", "policy": {"windows": [{"name": "x", "start": "18:00", "end": "09:00"}]}}
    response = api("owner", "POST", "/campaigns", json=bad)
    assert error(response) == (422, "bad_input")
    assert "windows[0].end" in response.json()["error"]["message"]
    assert error(api("owner", "POST", "/campaigns", json={"code": "Bad Code"})) == (
        422,
        "bad_input",
    )
    for role in ("employee", "employee_visible", "qa"):
        assert api(role, "POST", "/campaigns", json={"code": "c3"}).status_code == 403, role


def test_who_sees_and_works_which_campaign(
    api: Api, clock: FakeClock, originator: RecordingOriginator
) -> None:
    order = api.order("100001").json()["id"]
    mine = api.campaign()
    assert api.assign(mine, "pvz1-empvis").status_code == 201
    paths = (
        f"/campaigns/{mine}",
        f"/campaigns/{mine}/worklist",
        f"/orders/{order}",
    )

    def listed(role: str) -> list[int]:
        return [c["id"] for c in api(role, "GET", "/campaigns").json()["campaigns"]]

    # the assigned employee sees and works it
    assert listed("employee_visible") == [mine]
    for path in paths:
        assert api("employee_visible", "GET", path).status_code == 200, path
    assert api("employee_visible", "GET", f"/campaigns/{mine}").json()["may_work"] is True
    # an employee it is not assigned to: nothing
    assert listed("employee") == []
    for path in paths:
        assert error(api("employee", "GET", path)) == (403, "not_assigned"), path
    assert error(api("employee", "POST", f"/orders/{order}/call")) == (403, "not_assigned")
    assert error(api("employee", "POST", f"/campaigns/{mine}/next")) == (403, "not_assigned")
    # owner, manager and QA: every campaign of the site, read-only
    for role in ("owner", "staff_manager", "qa"):
        assert listed(role) == [mine], role
        for path in paths:
            assert api(role, "GET", path).status_code == 200, (role, path)
        assert api(role, "GET", f"/campaigns/{mine}").json()["may_work"] is False
    for role in ("owner", "staff_manager"):
        assert error(api(role, "POST", f"/orders/{order}/call")) == (403, "not_assigned")
        body = {"note": "x"}
        assert error(api(role, "POST", f"/orders/{order}/confirm", json=body)) == (
            403,
            "not_assigned",
        )
        assert error(api(role, "POST", f"/campaigns/{mine}/sessions")) == (403, "not_assigned")
    assert error(api("qa", "POST", f"/orders/{order}/call")) == (403, "forbidden")
    assert error(api("qa", "POST", f"/orders/{order}/notes", json={"text": "x"})) == (
        403,
        "forbidden",
    )
    # admin: every site's, read-only
    assert listed("admin") == [mine]
    assert api("admin", "GET", f"/campaigns/{mine}/worklist").status_code == 200
    assert error(api("admin", "POST", f"/orders/{order}/call")) == (403, "forbidden")
    # another site's staff: nothing of pvz1
    assert api("pvz2-manager", "GET", "/campaigns").json()["campaigns"] == []
    for path in paths:
        assert error(api("pvz2-manager", "GET", path)) == (403, "other_site"), path
    assert error(api("pvz2-emp", "POST", f"/orders/{order}/call")) == (403, "other_site")
    assert api("anonymous", "GET", f"/campaigns/{mine}").status_code == 401
    assert error(api("owner", "GET", "/campaigns/999")) == (404, "not_found")
    assert error(api("owner", "GET", "/orders/999")) == (404, "not_found")
    # the owner assigned to a campaign works it
    other = api.campaign("cards", payment_methods=["card"])
    assert api.assign(other, "pvz1-owner").status_code == 201
    card = api.order("100002", 2, payment_method="card").json()["id"]
    assert api("owner", "GET", f"/campaigns/{other}").json()["may_work"] is True
    assert api("owner", "POST", f"/orders/{card}/call").status_code == 201
    # ... but not the wire-transfer one, still read-only for them
    assert error(api("owner", "POST", f"/orders/{order}/call")) == (403, "not_assigned")
    # the assignment ends: the employee no longer sees it
    clock.advance(days=7)
    assert listed("employee_visible") == []
    assert error(api("employee_visible", "GET", f"/campaigns/{mine}")) == (403, "not_assigned")
    assert len(originator.calls) == 1
    assert api.leaks() == []


def test_assignments_are_one_person_per_period(api: Api) -> None:
    campaign = api.campaign()
    first = api.assign(campaign, "pvz1-empvis")
    assert first.status_code == 201
    week = first.json()["assignments"]
    assert [(a["staff"], a["starts_on"], a["ends_on"]) for a in week] == [
        ("pvz1-empvis", "2026-11-18", "2026-11-24")
    ]
    overlap = api.assign(campaign, "pvz1-emp", starts_on="2026-11-20")
    assert error(overlap) == (422, "bad_input")
    assert api.assign(campaign, "pvz1-emp", starts_on="2026-11-25").status_code == 201
    assert error(api.assign(campaign, "qa1")) == (422, "bad_input")  # not of the site
    assert error(api.assign(campaign, "pvz2-emp")) == (422, "bad_input")
    assert error(api.assign(campaign, "pvz1-emp", starts_on="soon")) == (422, "bad_input")
    body = {"staff": "pvz1-emp", "starts_on": "2026-12-10"}
    for role in ("employee", "qa"):
        path = f"/campaigns/{campaign}/assignments"
        assert api(role, "POST", path, json=body).status_code == 403, role


# ---- the worklist and why not now --------------------------------------------------------
def test_worklist_newest_first_with_why_not_now(
    api: Api, service: MaskingService, clock: FakeClock
) -> None:
    now = clock.now
    campaign = api.campaign()
    api.assign(campaign, "pvz1-empvis")
    ids = {}
    for i, (ref, hours_ago) in enumerate(
        (("fresh", 1), ("gap", 2), ("busy", 3), ("capped", 4), ("callback", 5), ("nyc", 6))
    ):
        tz = "America/New_York" if ref == "nyc" else "Europe/Moscow"
        created = (now - timedelta(hours=hours_ago)).isoformat()
        response = api.order(f"W-{ref}", i, created_at=created, customer_tz=tz)
        assert response.status_code == 201, response.text
        ids[ref] = response.json()["id"]
    # a card order and a confirmed-long-ago one are not in this campaign's list
    api.order("W-card", 7, payment_method="card")
    api.order("W-old", 8, created_at=(now - timedelta(days=5)).isoformat())
    attempt(service, ids["gap"], now - timedelta(minutes=10), Disposition.NO_ANSWER)
    attempt(service, ids["busy"], now - timedelta(minutes=4), Disposition.BUSY)
    for minutes in (180, 120, 60, 30, 5):  # five attempts today (Moscow): the daily cap
        attempt(service, ids["capped"], now - timedelta(minutes=minutes), Disposition.BUSY)
    body = {"at": (now + timedelta(hours=3, minutes=30)).isoformat()}  # 15:30 Moscow
    agreed = api("employee_visible", "POST", f"/orders/{ids['callback']}/callback", json=body)
    assert agreed.status_code == 200, agreed.text

    page = api("employee_visible", "GET", f"/campaigns/{campaign}/worklist").json()
    rows = {r["order_id"]: r for r in page["orders"]}
    assert [r["order_id"] for r in page["orders"]] == [
        "W-fresh",
        "W-gap",
        "W-busy",
        "W-capped",
        "W-callback",
        "W-nyc",
    ]
    assert page["total"] == 6
    fresh = rows["W-fresh"]
    assert fresh["dialable"] is True and fresh["reason"] is None and fresh["until"] is None
    assert fresh["window"] == "afternoon"
    gap = rows["W-gap"]
    assert (gap["dialable"], gap["reason"]) == (False, "gap")
    assert gap["until"] == iso_utc(now + timedelta(minutes=50))
    assert gap["attempts_today"] == 1 and gap["last_outcome"] == "no_answer"
    busy = rows["W-busy"]
    assert (busy["reason"], busy["until"]) == ("busy_retry", iso_utc(now + timedelta(minutes=6)))
    capped = rows["W-capped"]
    assert capped["reason"] == "daily_cap"
    assert capped["until"] == "2026-11-19T06:00:00+00:00"  # tomorrow 09:00 Moscow
    callback = rows["W-callback"]
    assert (callback["reason"], callback["until"]) == ("callback", body["at"])
    assert callback["callback"]["owner"] == "pvz1-empvis"
    nyc = rows["W-nyc"]  # 04:00 in New York: the morning window opens at 09:00 there
    assert (nyc["reason"], nyc["window"]) == ("window_closed", "morning")
    assert nyc["until"] == "2026-11-18T14:00:00+00:00"
    assert page["due"] == 1
    assert page["counts"]["gap"] == 1 and page["counts"]["daily_cap"] == 1
    # pages
    second = api("employee_visible", "GET", f"/campaigns/{campaign}/worklist?limit=2&offset=2")
    assert [r["order_id"] for r in second.json()["orders"]] == ["W-busy", "W-capped"]
    assert error(api("owner", "GET", f"/campaigns/{campaign}/worklist?limit=0")) == (
        422,
        "bad_input",
    )
    assert api.leaks() == []


# ---- preview calls -----------------------------------------------------------------------
def test_preview_call_and_next(
    api: Api, service: MaskingService, clock: FakeClock, originator: RecordingOriginator
) -> None:
    now = clock.now
    campaign = api.campaign()
    api.assign(campaign, "pvz1-empvis")
    older = api.order("N-1", 1, created_at=(now - timedelta(hours=3)).isoformat()).json()["id"]
    newer = api.order("N-2", 2, created_at=(now - timedelta(hours=1)).isoformat()).json()["id"]
    key = {"Idempotency-Key": "next-1"}
    first = api("employee_visible", "POST", f"/campaigns/{campaign}/next", headers=key)
    assert first.status_code == 201, first.text
    call = first.json()
    assert call["order"] == newer and call["reason"] == "order_confirmation"
    assert call["staff"] == "pvz1-empvis" and call["shipment"] == "N-2"
    assert originator.calls == [
        {"call_id": call["id"], "endpoint": "pvz1-desk4", "label": "Order N-2"}
    ]
    replay = api("employee_visible", "POST", f"/campaigns/{campaign}/next", headers=key)
    assert replay.json()["id"] == call["id"] and len(originator.calls) == 1
    # the newer order is being dialed: calling it again is refused with the reason
    busy = api("employee_visible", "POST", f"/orders/{newer}/call")
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] in ("not_dialable", "already_dialing")
    rows = api("employee_visible", "GET", f"/campaigns/{campaign}/worklist").json()["orders"]
    assert rows[0]["reason"] == "dialing"
    # the next pick is the older order
    second = api("employee_visible", "POST", f"/campaigns/{campaign}/next")
    assert second.status_code == 201 and second.json()["order"] == older
    # both calls end unanswered: nothing is due; 409 says why and until when (the gap is
    # over at 13:00, but the afternoon window is used: the evening one opens at 17:00, so
    # the used window is the reason)
    for c in originator.calls:
        with service.db.session() as session:
            record = session.get(CallRecord, c["call_id"])
            assert record is not None
            record.recording_file = f"x/{record.id}.wav"  # the customer's leg was dialed
        call_log.mark_ended(service, c["call_id"], clock.now, Disposition.NO_ANSWER)
    empty = api("employee_visible", "POST", f"/campaigns/{campaign}/next")
    assert error(empty) == (409, "nothing_due")
    body = empty.json()["error"]
    evening = "2026-11-18T14:00:00+00:00"
    assert body["counts"] == {"window_done": 2} and body["until"] == evening
    refused = api("employee_visible", "POST", f"/orders/{older}/call")
    assert error(refused) == (409, "not_dialable")
    assert refused.json()["error"]["reason"] == "window_done"
    assert refused.json()["error"]["until"] == evening
    assert refused.json()["error"]["window"] == "evening"
    # an employee who may not see numbers is refused by the reveal rule
    api.assign(api.campaign("other", payment_methods=["card"]), "pvz1-emp")
    card = api.order("N-3", 3, payment_method="card").json()["id"]
    assert error(api("employee", "POST", f"/orders/{card}/call")) == (403, "not_allowed")
    assert api.leaks() == []


def test_call_without_a_telephone_connection_is_503(
    client: TestClient, world: Seeded, service: MaskingService
) -> None:
    from masking.web import create_app

    api = Api(client, world)
    campaign = api.campaign()
    api.assign(campaign, "pvz1-empvis")
    order = api.order("T-1").json()["id"]
    with TestClient(create_app(service, None)) as bare:
        api.client = bare
        assert error(api("employee_visible", "POST", f"/orders/{order}/call")) == (
            503,
            "click_to_call_unavailable",
        )
        assert error(api("employee_visible", "POST", f"/campaigns/{campaign}/next")) == (
            503,
            "click_to_call_unavailable",
        )
    rows = api("employee_visible", "GET", f"/campaigns/{campaign}/worklist")
    assert rows.json()["orders"][0]["dialable"] is True  # nothing was claimed


# ---- the outcome of an order -------------------------------------------------------------
def test_confirm_needs_a_real_call_and_a_note(
    api: Api, service: MaskingService, clock: FakeClock, originator: RecordingOriginator
) -> None:
    campaign = api.campaign()
    api.assign(campaign, "pvz1-empvis")
    order = api.order("C-1").json()["id"]

    def post(action: str, **body: Any) -> Response:
        return api("employee_visible", "POST", f"/orders/{order}/{action}", json=body)

    refused = post("confirm", note="customer confirmed")
    assert error(refused) == (409, "contact_required")
    assert refused.json()["error"]["params"]["seconds"] == 10
    assert error(post("decline", note="refused")) == (409, "attempt_required")
    assert error(post("confirm", note=" ")) == (409, "note_required")
    # a real preview call: the desk phone rings, the customer answers and talks 9 s
    call = api("employee_visible", "POST", f"/orders/{order}/call").json()
    with service.db.session() as session:
        record = session.get(CallRecord, call["id"])
        assert record is not None
        record.recording_file = f"x/{record.id}.wav"
    call_log.mark_answered(service, call["id"], clock.now)
    clock.advance(seconds=9)
    call_log.mark_ended(service, call["id"], clock.now, Disposition.ANSWERED)
    assert error(post("confirm", note="customer confirmed")) == (409, "contact_required")
    # a second call: 12 s of conversation
    clock.advance(hours=1)
    attempt(service, order, clock.now, Disposition.ANSWERED, 12)
    done = post("confirm", note="customer confirmed; bank details received")
    assert done.status_code == 200, done.text
    view = done.json()
    assert view["case_status"] == "confirmed" and view["confirmed_at"] == clock.now.isoformat()
    assert view["verdict"]["reason"] == "done"
    assert [(a["disposition"], a["bridged_seconds"]) for a in view["attempts"]] == [
        ("answered", 9),
        ("answered", 12),
    ]
    assert view["notes"][-1]["text"] == "customer confirmed; bank details received"
    assert error(post("decline", note="changed mind")) == (409, "transition")
    # a confirmed order drops out of the worklist but its page stays open to its worker
    rows = api("employee_visible", "GET", f"/campaigns/{campaign}/worklist").json()["orders"]
    assert rows == []
    assert api("employee_visible", "GET", f"/orders/{order}").status_code == 200
    assert api.leaks() == []


def test_decline_callback_payment_details_and_notes(
    api: Api, service: MaskingService, clock: FakeClock
) -> None:
    campaign = api.campaign()
    api.assign(campaign, "pvz1-empvis")
    order = api.order("D-1").json()["id"]

    def post(action: str, **body: Any) -> Response:
        return api("employee_visible", "POST", f"/orders/{order}/{action}", json=body)

    at = (clock.now + timedelta(hours=2)).isoformat()
    called = post("callback", at=at)
    assert called.status_code == 200, called.text
    assert called.json()["callback"]["at"] == at
    assert called.json()["callback"]["owner"] == "pvz1-empvis"
    assert called.json()["verdict"]["reason"] == "callback"
    assert error(post("callback", at=(clock.now - timedelta(hours=1)).isoformat())) == (
        422,
        "bad_input",
    )
    assert error(post("callback", at="2026-11-18T15:00:00")) == (422, "bad_input")
    resent = api("employee_visible", "POST", f"/orders/{order}/payment-details")
    assert resent.status_code == 200
    assert resent.json()["payment_details_resent_at"] == clock.now.isoformat()
    assert [e["action"] for e in resent.json()["events"]][-2:] == ["callback", "payment_details"]
    noted = post("notes", text="asked to call after lunch")
    assert noted.json()["notes"][-1]["text"] == "asked to call after lunch"
    assert error(post("notes", text="")) == (422, "bad_input")
    attempt(service, order, clock.now, Disposition.NO_ANSWER)
    declined = post("decline", note="customer cancelled the order")
    assert declined.status_code == 200 and declined.json()["case_status"] == "not_resolved"
    assert api.leaks() == []


# ---- progressive dial sessions -----------------------------------------------------------
def test_dial_session_start_pause_resume_stop_and_note(api: Api) -> None:
    campaign = api.campaign()
    api.assign(campaign, "pvz1-empvis")
    api.order("S-1")
    started = api("employee_visible", "POST", f"/campaigns/{campaign}/sessions")
    assert started.status_code == 201, started.text
    session = started.json()
    assert session["state"] == "running" and session["staff"] == "pvz1-empvis"
    assert session["current_call"] is None and session["note_due"] is None
    sid = session["id"]
    again = api("employee_visible", "POST", f"/campaigns/{campaign}/sessions")
    assert error(again) == (409, "session_open")
    assert api("employee_visible", "POST", f"/dial-sessions/{sid}/pause").json()["state"] == (
        "paused"
    )
    assert api("employee_visible", "POST", f"/dial-sessions/{sid}/resume").json()["state"] == (
        "running"
    )
    # colleagues read it (managers), others do not touch it
    assert api("owner", "GET", f"/dial-sessions/{sid}").json()["state"] == "running"
    assert error(api("employee", "GET", f"/dial-sessions/{sid}"))[0] == 403
    assert error(api("employee", "POST", f"/dial-sessions/{sid}/stop"))[0] == 403
    assert error(api("pvz2-manager", "GET", f"/dial-sessions/{sid}")) == (403, "other_site")
    assert error(api("owner", "GET", "/dial-sessions/nosuchsession")) == (404, "not_found")
    empty = api("employee_visible", "POST", f"/dial-sessions/{sid}/note", json={"text": ""})
    assert empty.status_code == 422
    stopped = api("employee_visible", "POST", f"/dial-sessions/{sid}/stop")
    assert stopped.json()["state"] == "stopped" and stopped.json()["ended_at"]
    assert api("employee", "POST", f"/campaigns/{campaign}/sessions").status_code == 403
    assert api.leaks() == []


# ---- the day report ----------------------------------------------------------------------
def test_day_report_json_and_csv(api: Api, service: MaskingService, clock: FakeClock) -> None:
    campaign = api.campaign()
    api.assign(campaign, "pvz1-empvis")
    reached = api.order("P-1", 1).json()["id"]
    api.order("P-2", 2)
    attempt(service, reached, clock.now - timedelta(minutes=30), Disposition.ANSWERED, 40)
    body = {"note": "confirmed"}
    confirmed = api("employee_visible", "POST", f"/orders/{reached}/confirm", json=body)
    assert confirmed.status_code == 200, confirmed.text
    report = api("owner", "GET", f"/campaigns/{campaign}/report?day=2026-11-18")
    assert report.status_code == 200, report.text
    data = report.json()
    assert data["day"] == "2026-11-18" and data["code"] == "unpaid-wire"
    assert data["confirmed"] == 1 and data["attempts"] == 1
    assert api("qa", "GET", f"/campaigns/{campaign}/report").json()["day"] == "2026-11-18"
    assert api("admin", "GET", f"/campaigns/{campaign}/report").status_code == 200
    as_csv = api("staff_manager", "GET", f"/campaigns/{campaign}/report?format=csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == 1 and rows[0]["confirmed"] == "1" and rows[0]["day"] == "2026-11-18"
    for role in ("employee", "employee_visible"):
        path = f"/campaigns/{campaign}/report"
        assert api(role, "GET", path).status_code == 403, role
    assert error(api("pvz2-manager", "GET", f"/campaigns/{campaign}/report")) == (
        403,
        "other_site",
    )
    assert api("owner", "GET", f"/campaigns/{campaign}/report?day=never").status_code == 422
    assert api.leaks() == []
