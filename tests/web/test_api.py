"""Endpoint behaviour: reveal and refusals, idempotency, click-to-call and its live
status, history, team, admin, recordings (Range, sampling, retention), bad input."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from masking.calls import call_log
from masking.service import MaskingService
from masking.storage.models import Binding, CallRecord, RevealAudit, Site, VirtualNumber
from masking.web import create_app
from tests.support.clock import FakeClock
from tests.support.web import RecordingOriginator, Seeded, seed_world

REASON = "item_found_later"


def reveal(client: TestClient, world: Seeded, role: str = "owner", **extra: str):  # type: ignore[no-untyped-def]
    body = {"shipment": "PVZ1-00001", "reason": REASON, **extra}
    return client.post("/api/v1/reveals", json=body, headers=world.headers(role))


def counts(service: MaskingService) -> tuple[int, int, int, int]:
    with service.db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Binding)) or 0,
            session.scalar(select(func.count()).select_from(RevealAudit)) or 0,
            session.scalar(select(func.count()).select_from(CallRecord)) or 0,
            session.scalar(select(func.count()).select_from(VirtualNumber)) or 0,
        )


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/reveals" in spec["paths"] and "/api/v1/calls/{call_id}/events" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_search_then_reveal_gives_temporary_number_and_audit(
    client: TestClient, world: Seeded, service: MaskingService
) -> None:
    item = client.get("/api/v1/items/PVZ1-00001", headers=world.headers("employee")).json()
    assert item["live_number"] is False and item["may_reveal"] is False
    response = reveal(client, world)
    assert response.status_code == 200
    body = response.json()
    assert body["temporary_number"].startswith("+7495") and body["expires_at"]
    item = client.get("/api/v1/items/PVZ1-00001", headers=world.headers("owner")).json()
    assert item["live_number"] is True and "temporary_number" not in item
    audit = client.get("/api/v1/audit", headers=world.headers("admin")).json()
    assert audit["entries"][0]["staff"] == "pvz1-owner"
    assert audit["entries"][0]["reason"] == REASON and audit["entries"][0]["channel"] == "api"


def test_refusals_have_codes_and_sentences(
    client: TestClient, world: Seeded, service: MaskingService, clock: FakeClock
) -> None:
    cases = [
        (reveal(client, world, "employee"), 403, "not_allowed"),
        (reveal(client, world, shipment="PVZ2-00000"), 403, "other_site"),
        (reveal(client, world, shipment="NOPE-1"), 404, "unknown_shipment"),
        (reveal(client, world, reason="made_up"), 422, "bad_reason"),
        (reveal(client, world, "admin"), 403, "not_allowed"),
    ]
    clock.now = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)  # 23:00 in Moscow
    cases.append((reveal(client, world), 409, "closed"))
    clock.now = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    client.post(
        "/api/v1/sites/pvz1/suspend", json={"reason": "rudeness"}, headers=world.headers("admin")
    )
    cases.append((reveal(client, world), 403, "suspended"))
    for response, status, code in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code and len(error["message"]) > 10


def test_pool_exhausted_is_503(service: MaskingService) -> None:
    world = seed_world(service, pool=1)
    with TestClient(create_app(service, None)) as client:
        assert reveal(client, world, shipment="PVZ1-00000").status_code == 200
        response = reveal(client, world, shipment="PVZ1-00001")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "pool_exhausted"
        pool = client.get("/api/v1/pool", headers=world.headers("admin")).json()
        assert pool["warnings"][0]["level"] == "exhausted"


def test_idempotency_key_replays_reveal_and_click_to_call(
    client: TestClient, world: Seeded, service: MaskingService, originator: RecordingOriginator
) -> None:
    headers = {**world.headers("owner"), "Idempotency-Key": "abc-1"}
    body = {"shipment": "PVZ1-00002", "reason": REASON}
    first = client.post("/api/v1/reveals", json=body, headers=headers)
    again = client.post("/api/v1/reveals", json=body, headers=headers)
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/reveals", json={**body, "shipment": "PVZ1-00001"}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # a different staff member with the same key is a different request
    mine = client.post(
        "/api/v1/reveals",
        json=body,
        headers={**world.headers("staff_manager"), "Idempotency-Key": "abc-1"},
    )
    assert "Idempotent-Replayed" not in mine.headers
    call_headers = {**world.headers("owner"), "Idempotency-Key": "call-1"}
    one = client.post("/api/v1/calls", json=body, headers=call_headers)
    two = client.post("/api/v1/calls", json=body, headers=call_headers)
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]
    assert len(originator.calls) == 1
    bad = client.post("/api/v1/calls", json=body, headers={**call_headers, "Idempotency-Key": ""})
    assert bad.status_code == 422


def test_click_to_call_status_by_polling_and_sse(
    client: TestClient, world: Seeded, service: MaskingService, originator: RecordingOriginator
) -> None:
    response = client.post(
        "/api/v1/calls",
        json={"shipment": "PVZ1-00000", "reason": REASON},
        headers=world.headers("staff_manager"),
    )
    assert response.status_code == 201, response.text
    call = response.json()
    assert call["status"] == "ringing_staff" and call["direction"] == "click2call"
    assert originator.calls == [
        {"call_id": call["id"], "endpoint": "pvz1-desk2", "label": "Order PVZ1-00000"}
    ]

    def asterisk() -> None:  # what the AMI client does on events
        time.sleep(0.3)
        call_log.set_status(service, call["id"], "ringing_customer")
        time.sleep(0.7)
        call_log.mark_answered(service, call["id"], service.clock())
        time.sleep(0.7)
        call_log.mark_ended(service, call["id"], service.clock() + timedelta(seconds=30))

    worker = threading.Thread(target=asterisk)
    worker.start()
    seen = []
    with client.stream(
        "GET", f"/api/v1/calls/{call['id']}/events", headers=world.headers("staff_manager")
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
    worker.join()
    statuses = [e["status"] for e in seen]
    assert statuses[0] == "ringing_staff" and statuses[-1] == "ended"
    assert "connected" in statuses
    assert seen[-1]["disposition"] == "answered"
    polled = client.get(f"/api/v1/calls/{call['id']}", headers=world.headers("staff_manager"))
    assert polled.json()["status"] == "ended" and polled.json()["bridged_seconds"] == 30


def test_click_to_call_failures(client: TestClient, world: Seeded, service: MaskingService) -> None:
    failing = RecordingOriginator(fail=True)
    with TestClient(create_app(service, failing)) as other:
        response = other.post(
            "/api/v1/calls",
            json={"shipment": "PVZ1-00000", "reason": REASON},
            headers=world.headers("owner"),
        )
        assert response.status_code == 502 and response.json()["error"]["code"] == "call_failed"
        call_id = response.json()["error"]["call_id"]
        record = other.get(f"/api/v1/calls/{call_id}", headers=world.headers("owner")).json()
        assert record["status"] == "ended" and record["disposition"] == "failed"
    with TestClient(create_app(service, None)) as other:
        before = counts(service)
        response = other.post(
            "/api/v1/calls",
            json={"shipment": "PVZ1-00000", "reason": REASON},
            headers=world.headers("owner"),
        )
        assert response.status_code == 503
        assert counts(service) == before


def test_call_history_filters(client: TestClient, world: Seeded) -> None:
    for shipment in ("PVZ1-00000", "PVZ1-00001"):
        client.post(
            "/api/v1/calls",
            json={"shipment": shipment, "reason": REASON},
            headers=world.headers("owner"),
        )
    owner = world.headers("owner")
    everything = client.get("/api/v1/calls", headers=owner).json()
    assert everything["total"] == 3
    only = client.get("/api/v1/calls?direction=click2call&shipment=PVZ1-00001", headers=owner)
    assert [c["shipment"] for c in only.json()["calls"]] == ["PVZ1-00001"]
    assert client.get("/api/v1/calls?disposition=answered", headers=owner).json()["total"] == 1
    later = client.get("/api/v1/calls?since=2026-11-18&until=2026-11-18", headers=owner).json()
    assert later["total"] == 2
    mine = client.get("/api/v1/calls", headers=world.headers("employee")).json()
    assert mine["total"] == 1 and mine["calls"][0]["temporary_number"] is None
    assert client.get("/api/v1/calls?direction=sideways", headers=owner).status_code == 422
    assert client.get("/api/v1/calls?limit=100000", headers=owner).status_code == 422
    assert client.get("/api/v1/calls?since=yesterday", headers=owner).status_code == 422


def test_owner_switches_visibility_then_employee_reveals(client: TestClient, world: Seeded) -> None:
    assert reveal(client, world, "employee").status_code == 403
    team = client.get("/api/v1/team", headers=world.headers("owner")).json()
    assert {s["login"]: s["sees_numbers"] for s in team["staff"]}["pvz1-emp"] is False
    switched = client.put(
        "/api/v1/team/pvz1-emp/visibility", json={"visible": True}, headers=world.headers("owner")
    )
    assert switched.status_code == 200 and switched.json()["sees_numbers"] is True
    assert reveal(client, world, "employee").status_code == 200
    manager = client.put(
        "/api/v1/team/pvz1-emp/visibility",
        json={"visible": False},
        headers=world.headers("staff_manager"),
    )
    assert manager.status_code == 403
    owner_row = client.put(
        "/api/v1/team/pvz1-manager/visibility",
        json={"visible": False},
        headers=world.headers("owner"),
    )
    assert owner_row.status_code == 409


def test_admin_sites_hours_exceptions_suspend(
    client: TestClient, world: Seeded, service: MaskingService
) -> None:
    admin_h = world.headers("admin")
    site = client.put(
        "/api/v1/sites/pvz1/hours", json={"hours": "mon-fri 10:00-18:00"}, headers=admin_h
    ).json()
    assert site["weekly_hours"]["mon"] == [["10:00", "18:00"]] and "sat" not in site["weekly_hours"]
    bad = client.put("/api/v1/sites/pvz1/hours", json={"hours": "whenever"}, headers=admin_h)
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("hours:")
    assert (
        client.get("/api/v1/sites/pvz1", headers=admin_h).json()["weekly_hours"]
        == site["weekly_hours"]
    )
    holiday = client.put(
        "/api/v1/sites/pvz1/exceptions/2026-11-18",
        json={"intervals": [], "note": "holiday"},
        headers=admin_h,
    )
    assert holiday.json()["open_now"] is False
    assert reveal(client, world).json()["error"]["code"] == "closed"
    client.delete("/api/v1/sites/pvz1/exceptions/2026-11-18", headers=admin_h)
    empty = client.post("/api/v1/sites/pvz1/suspend", json={"reason": "  "}, headers=admin_h)
    assert empty.status_code == 422
    suspended = client.post(
        "/api/v1/sites/pvz1/suspend", json={"reason": "complaints"}, headers=admin_h
    ).json()
    assert suspended["suspended"] and suspended["suspended_by"] == "root"
    assert reveal(client, world).json()["error"]["code"] == "suspended"
    client.post("/api/v1/sites/pvz1/resume", headers=admin_h)
    assert reveal(client, world).status_code == 200


def test_pool_and_reasons_admin(client: TestClient, world: Seeded) -> None:
    admin_h = world.headers("admin")
    added = client.post(
        "/api/v1/pool/numbers", json={"numbers": ["+74950000100", "+74950000019"]}, headers=admin_h
    )
    assert added.json()["added"] == 1 and added.json()["skipped"] == 1
    bad = client.post("/api/v1/pool/numbers", json={"numbers": ["12"]}, headers=admin_h)
    assert bad.status_code == 422 and "line 1" in bad.json()["error"]["message"]
    imported = client.post(
        "/api/v1/pool/import",
        content="number\n+74950000101\n+74950000102\n",
        headers={**admin_h, "Content-Type": "text/csv"},
    )
    assert imported.json()["added"] == 2
    no_column = client.post(
        "/api/v1/pool/import", content="x\n1\n", headers={**admin_h, "Content-Type": "text/csv"}
    )
    assert no_column.status_code == 422
    assert client.get("/api/v1/pool", headers=admin_h).json()["regions"][0]["numbers"] == 23
    created = client.post(
        "/api/v1/reasons",
        json={"code": "damaged", "title_ru": "Повреждение", "title_en": "Damaged"},
        headers=admin_h,
    )
    assert created.status_code == 201
    assert reveal(client, world, reason="damaged").status_code == 200
    client.patch("/api/v1/reasons/damaged", json={"active": False}, headers=admin_h)
    refused = reveal(client, world, reason="damaged", shipment="PVZ1-00002")
    assert refused.json()["error"]["code"] == "bad_reason"
    codes = [
        r["code"] for r in client.get("/api/v1/reasons", headers=world.headers("owner")).json()
    ]
    assert "damaged" not in codes


def test_garbage_and_oversized_input_change_nothing(
    client: TestClient, world: Seeded, service: MaskingService
) -> None:
    owner = world.headers("owner")
    before = counts(service)
    attempts = [
        client.post("/api/v1/reveals", content=b"{not json", headers=owner),
        client.post("/api/v1/reveals", json=["a"], headers=owner),
        client.post("/api/v1/reveals", json={"shipment": "PVZ1-00001"}, headers=owner),
        client.post(
            "/api/v1/reveals",
            json={"shipment": "PVZ1-00001", "reason": REASON, "number": "+1"},
            headers=owner,
        ),
        client.post(
            "/api/v1/reveals", json={"shipment": "x' OR 1=1 --", "reason": REASON}, headers=owner
        ),
        client.post(
            "/api/v1/reveals", json={"shipment": "A" * 65, "reason": REASON}, headers=owner
        ),
        client.post("/api/v1/calls", json={"shipment": "\x00", "reason": REASON}, headers=owner),
        client.get("/api/v1/items/%00%01", headers=owner),
        client.get("/api/v1/calls/../../etc/passwd", headers=owner),
        client.post(
            "/api/v1/pool/numbers",
            json={"numbers": ["+74950000300", "not a number"]},
            headers=world.headers("admin"),
        ),
        client.put(
            "/api/v1/sites/pvz1/exceptions/2026-13-45", json={}, headers=world.headers("admin")
        ),
        client.post("/api/v1/recordings/purge", json={"days": 0}, headers=world.headers("admin")),
    ]
    for response in attempts:
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]["message"]
    big = client.post(
        "/api/v1/reveals",
        content=b'{"shipment": "' + b"A" * 200_000 + b'", "reason": "x"}',
        headers={**owner, "Content-Type": "application/json"},
    )
    assert big.status_code == 413 and "larger than" in big.json()["error"]["message"]

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"A" * 1024

    chunked = client.post("/api/v1/reveals", content=chunks(), headers=owner)
    assert chunked.status_code == 413
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert counts(service)[0] == before[0] and counts(service)[3] == before[3]
    with service.db.session() as session:
        assert session.scalar(select(Site.suspended_at).where(Site.code == "pvz1")) is None


def test_cookie_session_needs_csrf_for_changes(client: TestClient, world: Seeded) -> None:
    page = client.get("/login")
    csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    login = client.post(
        "/login",
        data={"login": "pvz1-owner", "password": "owner-pass", "csrf": csrf},
        follow_redirects=False,
    )
    assert login.status_code == 303 and login.headers["location"] == "/search"
    body = {"shipment": "PVZ1-00001", "reason": REASON}
    assert client.post("/api/v1/reveals", json=body).json()["error"]["code"] == "csrf"
    stale = client.post("/api/v1/reveals", json=body, headers={"X-CSRF-Token": csrf})
    assert stale.status_code == 403  # the token is renewed at login
    page = client.get("/search")
    csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    assert (
        client.post("/api/v1/reveals", json=body, headers={"X-CSRF-Token": csrf}).status_code == 200
    )
    wrong = client.post("/login", data={"login": "pvz1-owner", "password": "x", "csrf": csrf})
    assert wrong.status_code == 401 and "Неверный логин или пароль" in wrong.text


def test_recordings_range_sample_and_retention(
    client: TestClient, world: Seeded, service: MaskingService, clock: FakeClock
) -> None:
    qa = world.headers("qa")
    call_id = world.calls["pvz1"]
    listed = client.get("/api/v1/recordings?site=pvz1", headers=qa).json()["recordings"]
    assert [r["id"] for r in listed] == [call_id]
    whole = client.get(f"/api/v1/recordings/{call_id}", headers=qa)
    assert whole.status_code == 200 and whole.content[:4] == b"RIFF"
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"/api/v1/recordings/{call_id}", headers={**qa, "Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]
    tail = client.get(f"/api/v1/recordings/{call_id}", headers={**qa, "Range": "bytes=-44"})
    assert tail.status_code == 206 and tail.content == whole.content[-44:]
    beyond = client.get(f"/api/v1/recordings/{call_id}", headers={**qa, "Range": "bytes=99999-"})
    assert beyond.status_code == 416
    sample = client.get("/api/v1/recordings/sample?site=pvz2&size=3", headers=qa).json()
    assert [r["id"] for r in sample["recordings"]] == [world.calls["pvz2"]]
    assert client.get("/api/v1/recordings/sample?site=pvz2&size=0", headers=qa).status_code == 422

    purge_qa = client.post("/api/v1/recordings/purge", json={"days": 1}, headers=qa)
    assert purge_qa.status_code == 403
    kept = client.post("/api/v1/recordings/purge", json={"days": 3}, headers=world.headers("admin"))
    assert kept.json()["deleted"] == 0
    done = client.post("/api/v1/recordings/purge", json={"days": 1}, headers=world.headers("admin"))
    assert done.json()["deleted"] == 2
    path = service.settings.effective_recordings_dir
    assert not any(path.rglob("*.wav"))
    with service.db.session() as session:
        record = session.get(CallRecord, call_id)
        assert record is not None and record.recording_file and record.recording_bytes is None
        assert record.recording_error == "deleted by retention"
    gone = client.get(f"/api/v1/recordings/{call_id}", headers=qa)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "no_recording"
