"""An ``Idempotency-Key`` replay re-authorises the caller (issue 9, finding 6): once the
caller may no longer reveal for its site, the stored answer (a temporary number) is not
replayed; the request is answered as a fresh one would be."""

from __future__ import annotations

import hashlib
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from masking import accounts, sites
from masking.service import MaskingService
from masking.storage.models import RevealAudit
from tests.support.web import RecordingOriginator, Seeded

REASON = "item_found_later"
BODY = {"shipment": "PVZ1-00001", "reason": REASON}


def keyed(world: Seeded, role: str, key: str) -> dict[str, str]:
    return {**world.headers(role), "Idempotency-Key": key}


def refused_audits(service: MaskingService) -> int:
    with service.db.session() as session:
        query = select(func.count()).select_from(RevealAudit).where(RevealAudit.granted.is_(False))
        return session.scalar(query) or 0


def test_replay_after_visibility_is_revoked_is_refused_and_logged(
    client: TestClient, world: Seeded, service: MaskingService, caplog: pytest.LogCaptureFixture
) -> None:
    headers = keyed(world, "employee_visible", "reveal-1")
    first = client.post("/api/v1/reveals", json=BODY, headers=headers)
    assert first.status_code == 200
    number = first.json()["temporary_number"]
    replayed = client.post("/api/v1/reveals", json=BODY, headers=headers)
    assert replayed.json() == first.json() and replayed.headers["Idempotent-Replayed"] == "true"
    off = client.put(
        "/api/v1/team/pvz1-empvis/visibility",
        json={"visible": False},
        headers=world.headers("owner"),
    )
    assert off.status_code == 200
    audits = refused_audits(service)
    with caplog.at_level(logging.INFO, logger="masking.web.idempotency"):
        replay = client.post("/api/v1/reveals", json=BODY, headers=headers)
    assert replay.status_code == 403 and replay.json()["error"]["code"] == "not_allowed"
    assert "Idempotent-Replayed" not in replay.headers and number not in replay.text
    assert refused_audits(service) == audits + 1  # audited like any refused reveal
    digest = hashlib.sha256(b"reveal-1").hexdigest()[:16]
    [line] = [r.getMessage() for r in caplog.records if r.name == "masking.web.idempotency"]
    assert f"sha256:{digest}" in line and "pvz1-empvis" in line and "refused (not_allowed)" in line
    assert "reveal-1" not in caplog.text and number not in caplog.text
    # allowed again: the key runs afresh, it does not resurrect the dropped answer
    on = client.put(
        "/api/v1/team/pvz1-empvis/visibility",
        json={"visible": True},
        headers=world.headers("owner"),
    )
    assert on.status_code == 200
    fresh = client.post("/api/v1/reveals", json=BODY, headers=headers)
    assert fresh.status_code == 200 and "Idempotent-Replayed" not in fresh.headers


def test_replays_after_the_site_is_suspended_are_refused(
    client: TestClient, world: Seeded, originator: RecordingOriginator
) -> None:
    reveal_h, call_h = keyed(world, "owner", "reveal-2"), keyed(world, "owner", "call-2")
    revealed = client.post("/api/v1/reveals", json=BODY, headers=reveal_h)
    called = client.post("/api/v1/calls", json=BODY, headers=call_h)
    assert revealed.status_code == 200 and called.status_code == 201
    number = revealed.json()["temporary_number"]
    suspended = client.post(
        "/api/v1/sites/pvz1/suspend", json={"reason": "complaints"}, headers=world.headers("admin")
    )
    assert suspended.status_code == 200
    for path, headers in (("/api/v1/reveals", reveal_h), ("/api/v1/calls", call_h)):
        replay = client.post(path, json=BODY, headers=headers)
        assert replay.status_code == 403, path
        assert replay.json()["error"]["code"] == "suspended"
        assert "Idempotent-Replayed" not in replay.headers and number not in replay.text
    assert len(originator.calls) == 1  # the desk phone was not rung again


def test_replay_after_moving_site_or_disabling_is_refused(
    client: TestClient, world: Seeded, service: MaskingService
) -> None:
    headers = keyed(world, "staff_manager", "reveal-3")
    first = client.post("/api/v1/reveals", json=BODY, headers=headers)
    assert first.status_code == 200
    number = first.json()["temporary_number"]
    with service.db.session() as session:
        accounts.get_staff(session, "pvz1-manager").site = sites.get_site(session, "pvz2")
    moved = client.post("/api/v1/reveals", json=BODY, headers=headers)
    assert moved.status_code == 403 and moved.json()["error"]["code"] == "other_site"
    assert number not in moved.text
    with service.db.session() as session:
        manager = accounts.get_staff(session, "pvz1-manager")
        manager.site, manager.active = sites.get_site(session, "pvz1"), False
    disabled = client.post("/api/v1/reveals", json=BODY, headers=headers)
    assert disabled.status_code == 401 and number not in disabled.text
