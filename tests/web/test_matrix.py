"""Authorisation matrix: every role x own site / another site x every endpoint.

Checks the status code of each cell and that no response body contains a customer's
real number (in any common rendering of its digits).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.support.web import ROLES, Seeded

SITE_ROLES = ("owner", "staff_manager", "employee", "employee_visible")
ALL_ROLES = (*ROLES, "anonymous")
REASON = "item_found_later"

Expect = Callable[[str, bool], int]  # (role, own site) -> status


def site_only(ok: int, roles: tuple[str, ...], platform: int = 403) -> Expect:
    """Allowed to ``roles`` on their own site; platform roles get ``platform``."""

    def expect(role: str, own: bool) -> int:
        if role in ("admin", "qa"):
            return platform
        return ok if role in roles and own else 403

    return expect


def platform_only(ok: int, roles: tuple[str, ...] = ("admin",)) -> Expect:
    return lambda role, own: ok if role in roles else 403


def everyone(ok: int) -> Expect:
    return lambda role, own: ok


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: Callable[[Seeded, str], str]
    expect: Expect
    body: Callable[[Seeded, str], Any] | None = None
    content: str | None = None


def _calls_expect(role: str, own: bool) -> int:
    if role in ("admin", "qa"):
        return 200
    if role in ("owner", "staff_manager", "employee"):
        return 200 if own else 403  # the seeded call is the site employee's own call
    return 403  # employee_visible: not their call


def _team_expect(role: str, own: bool) -> int:
    if role == "admin":
        return 200
    return 200 if role in ("owner", "staff_manager") and own else 403


def _visibility_expect(role: str, own: bool) -> int:
    if role == "admin":
        return 200
    return 200 if role == "owner" and own else 403


def _site_expect(role: str, own: bool) -> int:
    return 200 if role in ("admin", "qa") or own else 403


def _audit_expect(role: str, own: bool) -> int:
    if role == "admin":
        return 200
    return 200 if role == "owner" and own else 403


def _list_calls_expect(role: str, own: bool) -> int:
    return 200 if role in ("admin", "qa") or own else 403


REVEALERS = ("owner", "staff_manager", "employee_visible")
ship = lambda w, s: w.shipment(s)  # noqa: E731

CASES: list[Case] = [
    Case("me", "GET", lambda w, s: "/api/v1/me", everyone(200)),
    Case("item", "GET", lambda w, s: f"/api/v1/items/{ship(w, s)}", site_only(200, SITE_ROLES)),
    Case(
        "reveal",
        "POST",
        lambda w, s: "/api/v1/reveals",
        site_only(200, REVEALERS),
        body=lambda w, s: {"shipment": ship(w, s), "reason": REASON},
    ),
    Case(
        "click-to-call",
        "POST",
        lambda w, s: "/api/v1/calls",
        site_only(201, REVEALERS),
        body=lambda w, s: {"shipment": ship(w, s), "reason": REASON},
    ),
    Case("call history", "GET", lambda w, s: f"/api/v1/calls?site={s}", _list_calls_expect),
    Case("call", "GET", lambda w, s: f"/api/v1/calls/{w.calls[s]}", _calls_expect),
    Case("call events", "GET", lambda w, s: f"/api/v1/calls/{w.calls[s]}/events", _calls_expect),
    Case("team", "GET", lambda w, s: f"/api/v1/team?site={s}", _team_expect),
    Case(
        "visibility",
        "PUT",
        lambda w, s: f"/api/v1/team/{s}-empvis/visibility",
        _visibility_expect,
        body=lambda w, s: {"visible": True},
    ),
    Case("sites", "GET", lambda w, s: "/api/v1/sites", platform_only(200, ("admin", "qa"))),
    Case("site", "GET", lambda w, s: f"/api/v1/sites/{s}", _site_expect),
    Case(
        "hours",
        "PUT",
        lambda w, s: f"/api/v1/sites/{s}/hours",
        platform_only(200),
        body=lambda w, s: {"hours": "daily 09:00-21:00"},
    ),
    Case(
        "exception",
        "PUT",
        lambda w, s: f"/api/v1/sites/{s}/exceptions/2026-12-31",
        platform_only(200),
        body=lambda w, s: {"intervals": ["10:00-16:00"], "note": "New Year's Eve"},
    ),
    Case(
        "exception delete",
        "DELETE",
        lambda w, s: f"/api/v1/sites/{s}/exceptions/2026-12-31",
        platform_only(200),
    ),
    Case(
        "suspend",
        "POST",
        lambda w, s: f"/api/v1/sites/{s}/suspend",
        platform_only(200),
        body=lambda w, s: {"reason": "matrix check"},
    ),
    Case("resume", "POST", lambda w, s: f"/api/v1/sites/{s}/resume", platform_only(200)),
    Case("pool", "GET", lambda w, s: "/api/v1/pool", platform_only(200)),
    Case(
        "pool add",
        "POST",
        lambda w, s: "/api/v1/pool/numbers",
        platform_only(200),
        body=lambda w, s: {"numbers": ["+74950000050"], "region": "RU"},
    ),
    Case(
        "pool import",
        "POST",
        lambda w, s: "/api/v1/pool/import?region=RU",
        platform_only(200),
        content="number\n+74950000051\n",
    ),
    Case("reasons", "GET", lambda w, s: "/api/v1/reasons", everyone(200)),
    Case(
        "reason add",
        "POST",
        lambda w, s: "/api/v1/reasons",
        platform_only(201),
        body=lambda w, s: {
            "code": f"matrix_{s}",
            "title_ru": "Проверка",
            "title_en": "Check",
            "kind": "pickup_point",
        },
    ),
    Case(
        "reason edit",
        "PATCH",
        lambda w, s: "/api/v1/reasons/strong_smell",
        platform_only(200),
        body=lambda w, s: {"active": True},
    ),
    Case("audit", "GET", lambda w, s: f"/api/v1/audit?site={s}", _audit_expect),
    Case(
        "recordings",
        "GET",
        lambda w, s: f"/api/v1/recordings?site={s}",
        platform_only(200, ("admin", "qa")),
    ),
    Case(
        "sample",
        "GET",
        lambda w, s: f"/api/v1/recordings/sample?site={s}&days=30",
        platform_only(200, ("admin", "qa")),
    ),
    Case(
        "recording file",
        "GET",
        lambda w, s: f"/api/v1/recordings/{w.calls[s]}",
        platform_only(200, ("admin", "qa")),
    ),
    Case(
        "purge",
        "POST",
        lambda w, s: "/api/v1/recordings/purge",
        platform_only(200),
        body=lambda w, s: {"days": 3650, "dry_run": True},
    ),
]


def leaked_digits(customers: list[str]) -> list[str]:
    """Renderings of each customer's number that must never appear: the full digits and
    the national number (also with separators)."""
    found = []
    for number in customers:
        digits = re.sub(r"\D", "", number)
        found += [digits, digits[1:]]
    return found


def body_digits(text: str) -> str:
    """The response with separators between digits removed (so '916 000-00-01' counts)."""
    return re.sub(r"(?<=\d)[\s().-]+(?=\d)", "", text)


def test_authorisation_matrix(client: TestClient, world: Seeded) -> None:
    forbidden_digits = leaked_digits(world.customers)
    failures: list[str] = []
    cells = 0
    for role in ALL_ROLES:
        for site in ("pvz1", "pvz2"):
            own = site == "pvz1"
            for case in CASES:
                expected = 401 if role == "anonymous" else case.expect(role, own)
                kwargs: dict[str, Any] = {"headers": world.headers(role)}
                if case.body is not None:
                    kwargs["json"] = case.body(world, site)
                if case.content is not None:
                    kwargs["content"] = case.content
                    kwargs["headers"] = {**kwargs["headers"], "Content-Type": "text/csv"}
                response = client.request(case.method, case.path(world, site), **kwargs)
                cells += 1
                where = f"{role} x {'own' if own else 'other'} site x {case.name}"
                if response.status_code != expected:
                    failures.append(
                        f"{where}: {response.status_code} != {expected}: {response.text[:200]}"
                    )
                if response.status_code >= 400:
                    error = response.json().get("error", {})
                    if not error.get("code") or not error.get("message"):
                        failures.append(f"{where}: error without code and message")
                if response.headers.get("content-type", "").startswith("audio/"):
                    continue
                text = body_digits(response.text)
                for digits in forbidden_digits:
                    if digits in text:
                        failures.append(f"{where}: response contains a customer's real number")
    assert cells == len(ALL_ROLES) * 2 * len(CASES) == 7 * 2 * 27
    assert not failures, "\n".join(failures)
