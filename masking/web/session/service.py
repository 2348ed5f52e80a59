"""Console sign-in and who the signed-in (or token-bearing) staff member is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from masking import accounts
from masking.service import MaskingService
from masking.storage.models import Staff
from masking.web.auth import Principal, principal_of


def sign_in(service: MaskingService, login_name: str, password: str) -> Principal | None:
    """Check a console login; the same answer for an unknown login and a bad password."""
    if not login_name or not password or len(login_name) > 100 or len(password) > 200:
        return None
    with service.db.session() as session:
        staff = session.scalar(select(Staff).where(Staff.login == login_name))
        stored = staff.password_hash if staff is not None else None
        ok = accounts.check_password(password, stored or accounts.hash_password("x", b"0" * 16))
        if staff is None or not staff.active or not stored or not ok:
            return None
        return principal_of(staff, staff.site, "session")


def whoami(p: Principal) -> dict[str, Any]:
    return {
        "login": p.login,
        "name": p.display_name,
        "role": p.role,
        "site": p.site_code,
        "sees_numbers": p.sees_numbers,
    }
