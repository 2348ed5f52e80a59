"""Staff accounts: sites and roles, desk phones, passwords, API tokens, number visibility.

Validation as in :mod:`masking.sites`: a bad value raises
:class:`masking.shapes.AdminError` naming the field, and nothing is written.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from masking import policy
from masking.shapes import LOGIN_RE, AdminError, check_endpoint
from masking.states import Role
from masking.storage.models import Site, Staff


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
