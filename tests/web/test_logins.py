"""Console sign-in: throttled per login and per client address (counted from the audited
attempts in the database), server-side sessions that logout, a new password and a
disabled account end, Secure cookies over HTTPS, and accounts switched off and on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from masking import accounts
from masking.service import MaskingService
from masking.storage.models import LoginAttempt, Staff
from tests.support.clock import FakeClock
from tests.support.web import RecordingOriginator, Seeded


def _csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    return page.text.split('name="csrf" content="')[1].split('"')[0]


def sign_in(client: TestClient, login: str, password: str) -> Response:
    data = {"login": login, "password": password, "csrf": _csrf(client)}
    return client.post("/login", data=data, follow_redirects=False)


def signed_in(client: TestClient) -> bool:
    return client.get("/api/v1/me").status_code == 200


def outcomes(service: MaskingService) -> list[tuple[str, str]]:
    with service.db.session() as session:
        rows = session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))
        return [(row.login, row.outcome) for row in rows]


@pytest.fixture
def other_client(service: MaskingService, world: Seeded) -> Iterator[TestClient]:
    """A second browser on a second instance of the service (same database)."""
    from masking.web import create_app

    with TestClient(create_app(service, RecordingOriginator())) as test_client:
        yield test_client


def test_five_failures_lock_the_login_for_fifteen_minutes(
    client: TestClient,
    other_client: TestClient,
    world: Seeded,
    service: MaskingService,
    clock: FakeClock,
) -> None:
    for _ in range(accounts.FAILURES_PER_LOGIN):
        assert sign_in(client, "pvz1-owner", "guess-guess").status_code == 401
    # the right password does not help now, not on another instance either
    for browser in (client, other_client):
        locked = sign_in(browser, "pvz1-owner", "owner-pass")
        assert locked.status_code == 429
        assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
        assert "Слишком много неудачных попыток входа" in locked.text
        assert not signed_in(browser)
    # another login from the same address is not locked
    assert sign_in(client, "pvz1-empvis", "empvis-pass").status_code == 303
    clock.advance(minutes=15)
    assert sign_in(other_client, "pvz1-owner", "owner-pass").status_code == 303
    assert signed_in(other_client)
    assert outcomes(service) == [
        *[("pvz1-owner", "failure")] * 5,
        ("pvz1-owner", "throttled"),
        ("pvz1-owner", "throttled"),
        ("pvz1-empvis", "success"),
        ("pvz1-owner", "success"),
    ]
    with service.db.session() as session:
        addresses = set(session.scalars(select(LoginAttempt.address)))
    assert addresses == {"testclient"}


def test_twenty_failures_lock_the_address(
    client: TestClient, world: Seeded, service: MaskingService, clock: FakeClock
) -> None:
    for i in range(accounts.FAILURES_PER_ADDRESS):
        assert sign_in(client, f"guess{i}", "guess-guess").status_code == 401
    client.cookies.set("lang", "en")
    locked = sign_in(client, "root", "admin-pass")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    assert int(locked.headers["retry-after"]) > 0
    # a success of one login does not reset the address count for the others
    clock.advance(minutes=16)
    assert sign_in(client, "root", "admin-pass").status_code == 303


def test_logout_ends_the_session_even_for_a_copied_cookie(
    client: TestClient, world: Seeded
) -> None:
    assert sign_in(client, "pvz1-owner", "owner-pass").status_code == 303
    other_client = TestClient(client.app)  # another browser, the same instance
    other_client.cookies.set("masking_session", client.cookies["masking_session"])
    assert signed_in(other_client)
    client.post("/logout", data={"csrf": _csrf(client, "/search")})
    assert not signed_in(client)
    assert not signed_in(other_client)
    assert other_client.get("/search", follow_redirects=False).headers["location"] == "/login"


def test_new_password_and_disabling_end_sessions_and_token(
    client: TestClient, world: Seeded
) -> None:
    other_client = TestClient(client.app)
    admin = world.headers("admin")
    assert sign_in(other_client, "pvz1-empvis", "empvis-pass").status_code == 303
    reset = client.put(
        "/api/v1/team/pvz1-empvis/password", json={"password": "a new password"}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    assert not signed_in(other_client)
    assert sign_in(other_client, "pvz1-empvis", "empvis-pass").status_code == 401
    assert sign_in(other_client, "pvz1-empvis", "a new password").status_code == 303

    token = world.headers("employee_visible")
    assert client.get("/api/v1/me", headers=token).status_code == 200
    off = client.put("/api/v1/team/pvz1-empvis/active", json={"active": False}, headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False
    assert not signed_in(other_client)
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert sign_in(other_client, "pvz1-empvis", "a new password").status_code == 401
    on = client.put("/api/v1/team/pvz1-empvis/active", json={"active": True}, headers=admin)
    assert on.json()["active"] is True
    assert client.get("/api/v1/me", headers=token).status_code == 200


@pytest.mark.parametrize(
    ("role", "login", "status", "code"),
    [
        ("owner", "pvz1-emp", 200, None),
        ("owner", "pvz1-manager", 200, None),
        ("owner", "pvz1-owner", 409, "own_account"),
        ("owner", "pvz2-emp", 403, "other_site"),
        ("owner", "root", 403, "other_site"),
        ("staff_manager", "pvz1-emp", 403, "forbidden"),
        ("employee_visible", "pvz1-emp", 403, "forbidden"),
        ("qa", "pvz1-emp", 403, "forbidden"),
        ("admin", "pvz2-owner", 200, None),
        ("admin", "qa1", 200, None),
        ("admin", "root", 409, "own_account"),
        ("admin", "nobody", 404, "not_found"),
    ],
)
def test_who_manages_which_account(
    client: TestClient,
    world: Seeded,
    service: MaskingService,
    role: str,
    login: str,
    status: int,
    code: str | None,
) -> None:
    headers = world.headers(role)
    off = client.put(f"/api/v1/team/{login}/active", json={"active": False}, headers=headers)
    assert off.status_code == status, off.text
    reset = client.put(
        f"/api/v1/team/{login}/password", json={"password": "x" * 12}, headers=headers
    )
    assert reset.status_code == status
    if code is not None:
        assert off.json()["error"]["code"] == reset.json()["error"]["code"] == code
        with service.db.session() as session:
            member = session.scalar(select(Staff).where(Staff.login == login))
            assert member is None or member.active


def test_a_short_password_is_refused(client: TestClient, world: Seeded) -> None:
    short = client.put(
        "/api/v1/team/pvz1-emp/password",
        json={"password": "x" * 11},
        headers=world.headers("admin"),
    )
    assert short.status_code == 422 and "at least 12 characters" in short.text


def test_owner_switches_an_employee_off_in_the_console(
    client: TestClient, world: Seeded, service: MaskingService
) -> None:
    assert sign_in(client, "pvz1-owner", "owner-pass").status_code == 303
    page = client.get("/team")
    assert 'action="/team/pvz1-emp/active"' in page.text
    assert 'action="/team/pvz1-owner/active"' not in page.text  # not one's own
    csrf = _csrf(client, "/team")
    off = client.post("/team/pvz1-emp/active", data={"on": "0", "csrf": csrf})
    assert off.status_code == 200 and "Сохранено" in off.text
    short = client.post("/team/pvz1-emp/password", data={"password": "short", "csrf": csrf})
    assert "12" in short.text
    set_pw = client.post(
        "/team/pvz1-emp/password", data={"password": "console-password", "csrf": csrf}
    )
    assert "Сохранено" in set_pw.text
    with service.db.session() as session:
        emp = accounts.get_staff(session, "pvz1-emp")
        assert not emp.active and accounts.check_password("console-password", emp.password_hash)


def test_session_cookie_is_secure_over_https(
    service: MaskingService, world: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from masking.web import create_app

    for https in (False, True):
        monkeypatch.setattr(
            service, "settings", service.settings.model_copy(update={"https": https})
        )
        with TestClient(create_app(service), base_url="https://testserver") as browser:
            cookie = sign_in(browser, "pvz1-owner", "owner-pass").headers["set-cookie"]
        assert ("secure" in cookie.lower()) is https
