"""Console sign-in (throttled and audited), sign-out, and who the signed-in (or
token-bearing) staff member is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from masking import accounts
from masking.accounts import LoginOutcome
from masking.service import MaskingService
from masking.storage.models import Staff
from masking.web.auth import Principal, principal_of

# compared against when the login is unknown, so both answers take as long
_DUMMY_HASH = accounts.hash_password("x", b"0" * 16)


@dataclass(frozen=True)
class SignIn:
    """A sign-in's answer: the principal and the new console session's id, or neither
    (``retry_after`` set when the login or the address must wait that many seconds)."""

    principal: Principal | None = None
    session_id: str | None = None
    retry_after: int | None = None


def sign_in(service: MaskingService, login_name: str, password: str, address: str) -> SignIn:
    """Check a console login; the same answer for an unknown login, a bad password and a
    disabled account. Every attempt is written to ``login_attempts``."""
    now = service.clock()
    with service.db.session() as session:
        wait = accounts.login_retry_after(session, login_name, address, now)
        if wait is not None:
            accounts.record_login(session, login_name, address, LoginOutcome.THROTTLED, now)
            return SignIn(retry_after=wait)
        staff = None
        if login_name and password and len(password) <= accounts.MAX_PASSWORD_LENGTH:
            staff = session.scalar(select(Staff).where(Staff.login == login_name))
        stored = staff.password_hash if staff is not None else None
        ok = accounts.check_password(password, stored or _DUMMY_HASH)
        if staff is None or not staff.active or not stored or not ok:
            accounts.record_login(session, login_name, address, LoginOutcome.FAILURE, now)
            return SignIn()
        accounts.record_login(session, login_name, address, LoginOutcome.SUCCESS, now)
        return SignIn(
            principal_of(staff, staff.site, "session"),
            accounts.open_session(session, staff, now),
        )


def sign_out(service: MaskingService, session_id: str) -> None:
    with service.db.session() as session:
        accounts.end_session(session, session_id, service.clock())


def whoami(p: Principal) -> dict[str, Any]:
    return {
        "login": p.login,
        "name": p.display_name,
        "role": p.role,
        "site": p.site_code,
        "sees_numbers": p.sees_numbers,
    }
