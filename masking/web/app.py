"""The ASGI application: ``create_app(service, originator)`` -> FastAPI.

Mount it with uvicorn (``masking serve`` does)::

    app = create_app(MaskingService.from_settings(settings), originator)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port)
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from masking.calls.contract import Originator
from masking.monitoring import Readiness, StateCollector
from masking.service import MaskingService
from masking.web import (
    appeals,
    audit,
    calls,
    campaigns,
    hotline,
    i18n,
    items,
    ops,
    pool,
    reasons,
    recordings,
    session,
    sites,
    team,
)
from masking.web.auth import optional_principal
from masking.web.errors import ApiError
from masking.web.pages import NeedLogin, render

log = logging.getLogger("masking.web")

MAX_BODY = 64 * 1024
LARGE_BODY = 1024 * 1024 + 64 * 1024
LARGE_BODY_PATHS = ("/api/v1/pool/import", "/api/v1/pool/numbers", "/admin/pool")
SESSION_MAX_AGE = 12 * 3600
_STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"
# In this order the API's paths appear in the OpenAPI document.
CAPABILITIES = (
    session,
    items,
    calls,
    team,
    sites,
    pool,
    reasons,
    audit,
    recordings,
    appeals,
    campaigns,
    hotline,
)


class Guard:
    """Refuses oversized bodies with 413 before the app sees them and adds safety headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        is_api = path.startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if b"cache-control" not in names and (is_api or not path.startswith("/static")):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = headers + [h for h in extra if h[0] not in names]
            await send(message)

        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send_with_headers)
            return
        limit = LARGE_BODY if path in LARGE_BODY_PATHS else MAX_BODY
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, send_with_headers, limit)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            total += len(body)
            if total > limit:
                await self._too_large(scope, send_with_headers, limit)
                return
            chunks.append(body)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        response = JSONResponse(
            {
                "error": {
                    "code": "too_large",
                    "message": f"the request body is larger than {limit // 1024} KiB",
                }
            },
            status_code=413,
        )
        await response(scope, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def create_app(
    service: MaskingService,
    originator: Originator | None = None,
    *,
    readiness: Readiness | None = None,
) -> FastAPI:
    """The API under ``/api/v1`` (OpenAPI at ``/openapi.json``, docs at ``/docs``), the
    console at ``/`` and ``/healthz``, ``/readyz``, ``/metrics`` (:mod:`masking.web.ops`).
    ``originator`` rings desk phones for click-to-call (the AMI client); without it
    click-to-call answers 503. ``readiness``: the checks of ``/readyz`` (default: the
    database and Redis; the runtime adds AMI)."""
    app = FastAPI(
        title="Masking: masked calls through temporary numbers",
        version="1",
        description=(
            "Item search, reveal of temporary numbers, click-to-call, call history, team, "
            "admin and recordings. Authenticate with `Authorization: Bearer <token>` "
            "(`masking staff token LOGIN`). Errors are "
            '`{"error": {"code": "...", "message": "..."}}`.'
        ),
    )
    app.state.service = service
    app.state.originator = originator
    app.state.readiness = readiness or Readiness.of(service)
    app.state.state_collector = StateCollector(service)
    secret = service.settings.session_secret or secrets.token_urlsafe(32)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="masking_session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=service.settings.https,
    )
    app.add_middleware(Guard)
    for capability in CAPABILITIES:
        app.include_router(capability.api.router, prefix=API_PREFIX)
    for capability in CAPABILITIES:
        app.include_router(capability.console.router)
    app.include_router(ops.router)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    _errors(app)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/openapi.json",)


def _html_error(request: Request, status: int, code: str, detail: str = "") -> Response:
    try:
        principal = optional_principal(request)
    except ApiError:
        principal = None
    lang = i18n.lang_of(request)
    return render(
        request,
        "error.html",
        principal,
        status=status,
        error=i18n.error_text(code, lang, detail),
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        loc = [str(x) for x in error.get("loc", ()) if x not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        parts.append(f"{field}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if _wants_json(request):
            return JSONResponse(exc.body(), status_code=exc.status)
        return _html_error(request, exc.status, exc.code, exc.message)

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, exc: NeedLogin) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        message = _validation_message(exc)
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": "bad_input", "message": message}}, status_code=422
            )
        return _html_error(request, 422, "bad_input", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes: dict[int, str] = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        if _wants_json(request):
            body: dict[str, Any] = {"error": {"code": code, "message": str(exc.detail)}}
            return JSONResponse(body, status_code=exc.status_code)
        return _html_error(request, exc.status_code, code)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": "internal", "message": "internal error; it was logged"}},
                status_code=500,
            )
        return _html_error(request, 500, "internal")
