"""Who is asking: a per-staff bearer token (API) or the console's signed session cookie,
which carries only the id of a server-side console session (:mod:`masking.accounts`).

Tokens and passwords are stored hashed (:mod:`masking.accounts`). A cookie-authenticated
request that changes something must carry the session's CSRF token (header
``X-CSRF-Token`` or form field ``csrf``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from masking import accounts, policy
from masking.policy import Action
from masking.service import MaskingService
from masking.storage.models import Site, Staff
from masking.web.errors import ApiError, forbidden, unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_LENGTH = 200
SESSION_KEY = "sid"  # the console session's id in the signed cookie


@dataclass(frozen=True)
class Principal:
    id: int
    login: str
    display_name: str
    role: str
    site_id: int | None
    site_code: str | None
    numbers_visible: bool
    sees_numbers: bool
    via: str  # "token" or "session"


def principal_of(staff: Staff, site: Site | None, via: str) -> Principal:
    return Principal(
        id=staff.id,
        login=staff.login,
        display_name=staff.display_name or staff.login,
        role=staff.role,
        site_id=staff.site_id,
        site_code=site.code if site else None,
        numbers_visible=bool(staff.numbers_visible),
        sees_numbers=policy.may_see_numbers(staff),
        via=via,
    )


def service_of(request: Request) -> MaskingService:
    service: MaskingService = request.app.state.service
    return service


def session_principal(service: MaskingService, session_id: str) -> Principal | None:
    """The staff member of a live console session (None: ended, revoked or disabled)."""
    with service.db.session() as session:
        staff = accounts.session_staff(session, session_id, service.clock())
        return None if staff is None else principal_of(staff, staff.site, "session")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise ApiError(401, "bad_token", "the Authorization header must be 'Bearer <token>'")
    return token


def optional_principal(request: Request) -> Principal | None:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    service = service_of(request)
    token = _bearer(request)
    principal: Principal | None = None
    if token is not None:
        with service.db.session() as session:
            staff = accounts.staff_by_token(session, token)
            if staff is None:
                raise ApiError(401, "bad_token", "the token is unknown or its account is disabled")
            principal = principal_of(staff, staff.site, "token")
    else:
        session_id = request.session.get(SESSION_KEY) if "session" in request.scope else None
        if isinstance(session_id, str):
            principal = session_principal(service, session_id)
            if principal is None:
                request.session.clear()
            elif request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
                # console forms check their own ``csrf`` field (see masking.web.pages.act)
                check_csrf(request, request.headers.get("x-csrf-token"))
    request.state.principal = principal
    return principal


def require_principal(request: Request) -> Principal:
    principal = optional_principal(request)
    if principal is None:
        raise unauthenticated()
    return principal


async def _service(request: Request) -> MaskingService:
    # async, so that FastAPI calls it in place instead of in its thread pool
    return service_of(request)


Who = Annotated[Principal, Depends(require_principal)]
Service = Annotated[MaskingService, Depends(_service)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, given: str | None) -> None:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not given or not secrets.compare_digest(expected, given):
        raise ApiError(403, "csrf", "the page is out of date; reload it and try again")


def need(p: Principal, action: Action, message: str | None = None) -> None:
    """Refuses (403) a principal whose role may not take ``action``."""
    if not policy.may(p.role, action):
        raise forbidden() if message is None else forbidden(message)
