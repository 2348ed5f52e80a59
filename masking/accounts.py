"""Staff accounts: sites and roles, desk phones, passwords, API tokens, number visibility,
switching an account off and on, console sessions and the sign-in throttle.

Validation as in :mod:`masking.sites`: a bad value raises
:class:`masking.shapes.AdminError` naming the field, and nothing is written.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from masking import policy
from masking.shapes import LOGIN_RE, AdminError, check_endpoint
from masking.states import Role
from masking.storage.models import ConsoleSession, LoginAttempt, Site, Staff

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200  # the console's sign-in form takes no longer one
# A console session ends this long after sign-in (the signed cookie expires then too).
SESSION_LIFETIME = timedelta(hours=12)
# last_seen_at is written at most this often, not on every request
SESSION_SEEN_EVERY = timedelta(minutes=1)
# Failed sign-ins within LOGIN_WINDOW after which a login, or a client address, waits.
LOGIN_WINDOW = timedelta(minutes=15)
FAILURES_PER_LOGIN = 5
FAILURES_PER_ADDRESS = 20


class LoginOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    THROTTLED = "throttled"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$", 2)
    candidate = hash_password(password, bytes.fromhex(salt_hex))
    return secrets.compare_digest(candidate, stored) and bool(digest_hex)


def get_staff(session: Session, login: str) -> Staff:
    staff = session.scalar(select(Staff).where(Staff.login == login))
    if staff is None:
        raise AdminError(f"login: no staff member {login!r}")
    return staff


def add_staff(
    session: Session,
    *,
    login: str,
    role: str,
    site: Site | None,
    name: str = "",
    endpoint: str | None = None,
    visible: bool = False,
    password: str | None = None,
) -> Staff:
    if not LOGIN_RE.match(login or ""):
        raise AdminError("login: use letters, digits, '.', '_', '-', '@' (1-100)")
    role = _role(role)
    if policy.is_site_role(role) and site is None:
        raise AdminError(f"site: role {role} needs a site")
    if not policy.is_site_role(role) and site is not None:
        raise AdminError(f"site: role {role} is platform-wide and takes no site")
    if password is not None:
        check_new_password(password)
    if session.scalar(select(Staff.id).where(Staff.login == login)):
        raise AdminError(f"login: {login!r} already exists")
    if endpoint is not None:
        check_endpoint(endpoint)
        if session.scalar(select(Staff.id).where(Staff.sip_endpoint == endpoint)):
            raise AdminError(f"endpoint: {endpoint!r} already belongs to someone")
    staff = Staff(
        login=login,
        role=role,
        site_id=site.id if site else None,
        display_name=name or login,
        sip_endpoint=endpoint,
        numbers_visible=visible,
        password_hash=hash_password(password) if password else None,
    )
    session.add(staff)
    session.flush()
    return staff


def _role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise AdminError(f"role: {role!r} is not one of {allowed}") from None


def set_role(staff: Staff, role: str) -> None:
    role = _role(role)
    if (policy.is_site_role(role)) != (staff.site_id is not None):
        raise AdminError(
            f"role: {role} does not fit a {'site' if staff.site_id else 'platform'} account"
        )
    staff.role = role


def issue_token(staff: Staff) -> str:
    token = "mk_" + secrets.token_urlsafe(32)
    staff.token_hash = hash_secret(token)
    return token


def staff_by_token(session: Session, token: str) -> Staff | None:
    if not token:
        return None
    return session.scalar(select(Staff).where(Staff.token_hash == hash_secret(token), Staff.active))


def set_numbers_visible(staff: Staff, visible: bool) -> None:
    """The owner's switch: an employee sees customers' temporary numbers or not."""
    if not policy.visibility_switchable(staff):
        raise AdminError("login: owners and staff managers always see numbers")
    staff.numbers_visible = visible


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AdminError(f"password: use at most {MAX_PASSWORD_LENGTH} characters")
    return password


def set_password(session: Session, staff: Staff, password: str, now: datetime) -> None:
    """A new console password; every console session of the member ends."""
    staff.password_hash = hash_password(check_new_password(password))
    revoke_sessions(session, staff, now)


def set_active(session: Session, staff: Staff, active: bool, now: datetime) -> None:
    """Switch an account off or on. Off takes effect at once: its console sessions end, and
    its token (:func:`staff_by_token`) and desk phone (the call desk) check ``active``."""
    staff.active = active
    if not active:
        revoke_sessions(session, staff, now)


# ---- console sessions --------------------------------------------------------------------
def open_session(session: Session, staff: Staff, now: datetime) -> str:
    """A new console session; the returned id goes into the signed cookie."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id_hash=hash_secret(session_id), staff_id=staff.id, created_at=now, last_seen_at=now
        )
    )
    session.flush()
    return session_id


def session_staff(session: Session, session_id: str, now: datetime) -> Staff | None:
    """The active staff member of a live console session, or None."""
    if not session_id or len(session_id) > 100:
        return None
    row = session.get(ConsoleSession, hash_secret(session_id))
    if row is None or row.revoked_at is not None or now - row.created_at > SESSION_LIFETIME:
        return None
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    if now - row.last_seen_at >= SESSION_SEEN_EVERY:
        row.last_seen_at = now
    return staff


def end_session(session: Session, session_id: str, now: datetime) -> None:
    row = session.get(ConsoleSession, hash_secret(session_id)) if session_id else None
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


def revoke_sessions(session: Session, staff: Staff, now: datetime) -> None:
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.staff_id == staff.id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# ---- the sign-in throttle ----------------------------------------------------------------
def record_login(
    session: Session, login: str, address: str, outcome: LoginOutcome, now: datetime
) -> None:
    session.add(LoginAttempt(at=now, login=login[:100], address=address[:64], outcome=outcome))


def login_retry_after(session: Session, login: str, address: str, now: datetime) -> int | None:
    """Seconds until a sign-in for ``login`` from ``address`` is tried again, or None when
    it may be tried now. A successful sign-in clears the login's count, not the address's
    (one valid account must not reset an address that guesses others)."""
    login, address = login[:100], address[:64]
    since = now - LOGIN_WINDOW
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.login == login,
            LoginAttempt.outcome == LoginOutcome.SUCCESS,
            LoginAttempt.at > since,
        )
    )
    waits = [
        _wait(session, LoginAttempt.login == login, last_success or since, FAILURES_PER_LOGIN),
        _wait(session, LoginAttempt.address == address, since, FAILURES_PER_ADDRESS),
    ]
    seconds = [math.ceil((until - now).total_seconds()) for until in waits if until is not None]
    return max(1, *seconds) if seconds else None


def _wait(
    session: Session, who: ColumnElement[bool], since: datetime, limit: int
) -> datetime | None:
    """When the ``limit``-th latest failure since ``since`` leaves the window, if there are
    that many."""
    failures = session.scalars(
        select(LoginAttempt.at)
        .where(who, LoginAttempt.outcome == LoginOutcome.FAILURE, LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc())
        .limit(limit)
    ).all()
    return failures[-1] + LOGIN_WINDOW if len(failures) == limit else None
