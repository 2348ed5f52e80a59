"""Temporary numbers reach only those the one rule allows (issue 9, finding 7): never QA
reviewers, never the staff of a suspended site, never staff who may not see numbers;
the platform admin and number-seeing staff of an open site still do, on every surface."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from masking.policy import may_see_temporary_numbers
from masking.storage.models import Site
from tests.support.factories import virtual
from tests.support.web import Seeded

BODY = {"shipment": "PVZ1-00001", "reason": "item_found_later"}
SEEDED_NUMBER = virtual(0)  # the temporary number of each site's seeded recorded call


def numbers_in(body: Any) -> list[Any]:
    """Every ``temporary_number`` value anywhere in a JSON body."""
    if isinstance(body, dict):
        found = [body["temporary_number"]] if "temporary_number" in body else []
        return found + [n for value in body.values() for n in numbers_in(value)]
    if isinstance(body, list):
        return [n for item in body for n in numbers_in(item)]
    return []


def surfaces(world: Seeded) -> dict[str, str]:
    call = world.calls["pvz1"]
    return {
        "call list": "/api/v1/calls?site=pvz1",
        "call": f"/api/v1/calls/{call}",
        "call events": f"/api/v1/calls/{call}/events",
        "audit": "/api/v1/audit?site=pvz1",
        "recordings": "/api/v1/recordings?site=pvz1",
        "sample": "/api/v1/recordings/sample?site=pvz1&days=30",
        "item": "/api/v1/items/PVZ1-00001",
    }


def seen(client: TestClient, world: Seeded, role: str) -> dict[str, list[Any]]:
    """Per surface the role may open: the temporary numbers it got. A surface that shows
    none must not carry one anywhere else in its text either."""
    got: dict[str, list[Any]] = {}
    for name, path in surfaces(world).items():
        response = client.get(path, headers=world.headers(role))
        if response.status_code != 200:
            continue
        text = response.text
        is_json = response.headers["content-type"].startswith("application/json")
        got[name] = [n for n in numbers_in(response.json()) if n] if is_json else []
        if not got[name]:
            assert "+7495" not in text, f"{role} x {name}: {text[:300]}"
        for customer in world.customers:
            assert customer[1:] not in text and customer[2:] not in text, f"{role} x {name}"
    return got


def test_the_rule() -> None:
    site = Site(id=1, code="a", name="a", timezone="Europe/Moscow", phone_region="RU")
    assert may_see_temporary_numbers("admin", False, None, site)
    assert not may_see_temporary_numbers("qa", False, None, site)
    assert may_see_temporary_numbers("owner", True, 1, site)
    assert may_see_temporary_numbers("employee", True, 1, site)
    assert not may_see_temporary_numbers("employee", False, 1, site)
    assert not may_see_temporary_numbers("owner", True, 2, site)  # another site's number
    assert not may_see_temporary_numbers("owner", True, None, None)
    site.suspended_at = datetime(2026, 1, 1, tzinfo=UTC)
    assert not may_see_temporary_numbers("owner", True, 1, site)
    assert may_see_temporary_numbers("admin", False, None, site)


def test_qa_reviewers_never_see_temporary_numbers(client: TestClient, world: Seeded) -> None:
    qa = seen(client, world, "qa")
    assert {"call list", "call", "recordings", "sample"} <= qa.keys()
    assert not any(qa.values()), qa
    admin = seen(client, world, "admin")
    for name in ("call list", "call", "recordings", "sample"):
        assert SEEDED_NUMBER in admin[name], name


@pytest.mark.parametrize("role", ["owner", "staff_manager"])
def test_a_suspended_sites_staff_see_no_temporary_numbers(
    client: TestClient, world: Seeded, role: str
) -> None:
    number = client.post("/api/v1/reveals", json=BODY, headers=world.headers(role)).json()[
        "temporary_number"
    ]
    before = seen(client, world, role)
    assert SEEDED_NUMBER in before["call list"] and SEEDED_NUMBER in before["call"]
    if role == "owner":
        assert number in before["audit"]
    admin = world.headers("admin")
    assert client.post("/api/v1/sites/pvz1/suspend", json={"reason": "x"}, headers=admin).is_success
    after = seen(client, world, role)
    assert {"call list", "call", "item"} <= after.keys()
    assert not any(after.values()), after
    for path in ("/api/v1/reveals", "/api/v1/calls"):
        again = client.post(path, json=BODY, headers=world.headers(role))
        assert again.status_code == 403 and number not in again.text
    assert number in seen(client, world, "admin")["audit"]


def test_staff_without_visibility_see_no_temporary_numbers(
    client: TestClient, world: Seeded
) -> None:
    employee = seen(client, world, "employee")  # the seeded call is this employee's own
    assert "call" in employee and not any(employee.values())


def test_console_pages_show_no_temporary_numbers_to_a_suspended_site(
    client: TestClient, world: Seeded
) -> None:
    owner = world.headers("owner")
    revealed = client.post("/api/v1/reveals", json=BODY, headers=owner).json()["temporary_number"]
    admin = world.headers("admin")
    assert client.post("/api/v1/sites/pvz1/suspend", json={"reason": "x"}, headers=admin).is_success
    csrf = client.get("/login").text.split('name="csrf" content="')[1].split('"')[0]
    login = {"login": "pvz1-owner", "password": "owner-pass", "csrf": csrf}
    assert client.post("/login", data=login, follow_redirects=False).status_code == 303
    for page in ("/admin/audit", "/calls", "/search?shipment=PVZ1-00001"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert revealed not in response.text and SEEDED_NUMBER not in response.text, page
