"""Authorisation matrix: every role x own site / another site x every endpoint.

Checks the status code of each cell and that no response body contains a customer's
real number (in any common rendering of its digits).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from masking import accounts
from masking.web import i18n
from tests.support import appeals
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

# appeals (masking.policy): RECEIVE_APPEALS admin, owner, staff manager (their site);
# WORK_APPEALS the site's owner, staff manager and employees; SEE_ALL_APPEALS admin (reads
# every site's, works none); APPEALS_REPORT admin, owner, staff manager. QA: none of them.
APPEAL_WORKERS = ("owner", "staff_manager", "employee", "employee_visible")
APPEAL_MANAGERS = ("owner", "staff_manager")
_appeal_refs = itertools.count()


def appeal(w: Seeded, site: str) -> str:
    """The id of site ``site``'s appeal about its first order (received on first use)."""
    return appeals.receive(w.service, f"MATRIX-{site}", site_code=site, order_ref=w.shipment(site))


def appeals_for(ok: int, roles: tuple[str, ...], admin: int = 403) -> Expect:
    """Allowed to ``roles`` on their own site; the admin gets ``admin`` on every site."""

    def expect(role: str, own: bool) -> int:
        if role == "admin":
            return admin
        return ok if role in roles and own else 403

    return expect


def new_appeal(w: Seeded, s: str) -> dict[str, Any]:
    return appeals.api_body(f"MATRIX-NEW-{next(_appeal_refs)}", site=s, order=w.shipment(s))


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
    Case(
        "appeal intake",
        "POST",
        lambda w, s: "/api/v1/appeals",
        appeals_for(201, APPEAL_MANAGERS, admin=201),
        body=new_appeal,
    ),
    Case(
        "appeals queue",
        "GET",
        lambda w, s: f"/api/v1/appeals?site={s}",
        appeals_for(200, APPEAL_WORKERS, admin=200),
    ),
    Case(
        "appeal",
        "GET",
        lambda w, s: f"/api/v1/appeals/{appeal(w, s)}",
        appeals_for(200, APPEAL_WORKERS, admin=200),
    ),
    Case(
        "appeal take",
        "POST",
        lambda w, s: f"/api/v1/appeals/{appeal(w, s)}/take",
        appeals_for(200, APPEAL_WORKERS),
    ),
    Case(
        "appeal note",
        "POST",
        lambda w, s: f"/api/v1/appeals/{appeal(w, s)}/notes",
        appeals_for(200, APPEAL_WORKERS),
        body=lambda w, s: {"text": "matrix check"},
    ),
    Case(
        # allowed, then refused by the rules (409): no answered call about the appeal
        "appeal status",
        "PUT",
        lambda w, s: f"/api/v1/appeals/{appeal(w, s)}/status",
        appeals_for(409, APPEAL_WORKERS),
        body=lambda w, s: {"status": "resolved", "note": "matrix check"},
    ),
    Case(
        # a call through the masked path: those who may call the order's customer at all
        "appeal call",
        "POST",
        lambda w, s: f"/api/v1/appeals/{appeal(w, s)}/calls",
        appeals_for(201, REVEALERS),
    ),
    Case(
        "appeals report",
        "GET",
        lambda w, s: f"/api/v1/appeals/report?site={s}",
        appeals_for(200, APPEAL_MANAGERS, admin=200),
    ),
    Case(
        "appeals report csv",
        "GET",
        lambda w, s: f"/api/v1/appeals/report?site={s}&format=csv",
        appeals_for(200, APPEAL_MANAGERS, admin=200),
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
    assert cells == len(ALL_ROLES) * 2 * len(CASES) == 7 * 2 * 36
    assert not failures, "\n".join(failures)


# ---- the appeals pages of the console, signed in with a password ---------------------------
PASSWORDS = {
    "owner": "owner-pass",
    "staff_manager": "manager-pass",
    "employee": "emp-pass",
    "employee_visible": "empvis-pass",
    "admin": "admin-pass",
    "qa": "qa-pass",
}
# what a console cell shows: "ok" (the page, or "saved" after a form), "login" (redirected
# to /login), or the key of the refusal sentence shown (i18n.ERRORS; "rule": the rules
# refused the status change)
Outcome = Callable[[str, bool], str]


def console_for(roles: tuple[str, ...], admin: str = "forbidden", ok: str = "ok") -> Outcome:
    """``ok`` for ``roles`` on their own site, another site's refused; the admin gets
    ``admin``; anyone else "forbidden"."""

    def outcome(role: str, own: bool) -> str:
        if role == "admin":
            return admin
        if role not in roles:
            return "forbidden"
        return ok if own else "other_site"

    return outcome


@dataclass(frozen=True)
class Page:
    name: str
    method: str
    path: Callable[[Seeded, str], str]
    outcome: Outcome
    form: Callable[[Seeded, str], dict[str, str]] | None = None


def _manual_appeal(w: Seeded, s: str) -> dict[str, str]:
    body = new_appeal(w, s)
    return {
        "site": s,
        "appeal_id": body["appeal_id"],
        "topic": body["type"],
        "channel": body["channel"],
        "order": body["order"],
        "text": body["text"],
    }


PAGES: list[Page] = [
    Page("queue", "GET", lambda w, s: f"/appeals?site={s}", console_for(APPEAL_WORKERS, "ok")),
    Page(
        "report",
        "GET",
        lambda w, s: f"/appeals/report?site={s}",
        console_for(APPEAL_MANAGERS, "ok"),
    ),
    Page(
        "appeal",
        "GET",
        lambda w, s: f"/appeals/{appeal(w, s)}",
        console_for(APPEAL_WORKERS, "ok"),
    ),
    Page(
        "take",
        "POST",
        lambda w, s: f"/appeals/{appeal(w, s)}/take",
        console_for(APPEAL_WORKERS),
    ),
    Page(
        "note",
        "POST",
        lambda w, s: f"/appeals/{appeal(w, s)}/note",
        console_for(APPEAL_WORKERS),
        form=lambda w, s: {"text": "matrix check"},
    ),
    Page(
        "status",
        "POST",
        lambda w, s: f"/appeals/{appeal(w, s)}/status",
        console_for(APPEAL_WORKERS, ok="rule"),
        form=lambda w, s: {"status": "resolved", "note": "matrix check"},
    ),
    Page(
        "manual entry",
        "POST",
        lambda w, s: "/appeals/new",
        console_for(APPEAL_MANAGERS, "ok"),
        form=_manual_appeal,
    ),
]
RULE_SENTENCE = i18n.refused_change("contact_required", "ru", {"target": "resolved", "seconds": 10})


def signed_in(client: TestClient, world: Seeded, role: str) -> tuple[TestClient, str]:
    """A console client of ``role`` (anonymous: none) and its CSRF token."""
    console = TestClient(client.app)
    page = console.get("/login")
    csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    if role != "anonymous":
        form = {"login": world.logins[role], "password": PASSWORDS[role], "csrf": csrf}
        assert console.post("/login", data=form, follow_redirects=False).status_code == 303
        page = console.get("/calls")
        csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    return console, csrf


def shown(response: Any) -> str:
    """What the console showed: "login", "ok", or the refusal's sentence key."""
    if response.status_code == 303:
        return "login" if response.headers["location"] == "/login" else "redirect"
    text = response.text
    if RULE_SENTENCE in text:
        return "rule"
    for code in ("forbidden", "other_site"):
        if i18n.error_text(code, "ru") in text:
            return code
    if 'class="msg error"' in text or response.status_code != 200:
        return f"error {response.status_code}"
    return "ok"


def test_console_appeals_matrix(client: TestClient, world: Seeded) -> None:
    with world.service.db.session() as session:
        manager = accounts.get_staff(session, world.logins["staff_manager"])
        manager.password_hash = accounts.hash_password(PASSWORDS["staff_manager"])
    forbidden_digits = leaked_digits(world.customers)
    failures: list[str] = []
    for role in ALL_ROLES:
        console, csrf = signed_in(client, world, role)
        for site in ("pvz1", "pvz2"):
            own = site == "pvz1"
            for page in PAGES:
                expected = "login" if role == "anonymous" else page.outcome(role, own)
                path = page.path(world, site)
                if page.method == "GET":
                    response = console.get(path, follow_redirects=False)
                else:
                    form = {**(page.form(world, site) if page.form else {}), "csrf": csrf}
                    response = console.post(path, data=form, follow_redirects=False)
                    if response.status_code == 303 and response.headers["location"] != "/login":
                        response = console.get(response.headers["location"])
                got = shown(response)
                where = f"{role} x {'own' if own else 'other'} site x console {page.name}"
                if got != expected:
                    failures.append(f"{where}: {got} != {expected}")
                if page.method == "POST" and expected == "ok" and "Сохранено." not in response.text:
                    failures.append(f"{where}: not saved")
                text = body_digits(response.text)
                if any(digits in text for digits in forbidden_digits):
                    failures.append(f"{where}: the page contains a customer's real number")
    assert not failures, "\n".join(failures)
