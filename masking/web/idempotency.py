"""``Idempotency-Key``: a repeated request of one staff member gets the stored answer."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from masking.web.auth import Principal, service_of
from masking.web.errors import ApiError, bad_input

IDEMPOTENCY_TTL_S = 24 * 3600
IDEMPOTENCY_PENDING_S = 60
_IDEM_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


async def idempotent(
    request: Request,
    p: Principal,
    scope: str,
    payload: dict[str, Any],
    run: Callable[[], Awaitable[dict[str, Any]]],
    status: int = 200,
) -> JSONResponse:
    """Replay the stored answer for a repeated ``Idempotency-Key`` (per staff member)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return JSONResponse(await run(), status_code=status)
    if not _IDEM_KEY.match(key):
        raise bad_input("Idempotency-Key: 1-200 visible ASCII characters")
    service = service_of(request)
    redis = service.pool.redis
    digest = hashlib.sha256(key.encode()).hexdigest()
    name = f"{service.pool.prefix}idem:{p.id}:{scope}:{digest}"
    fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    pending = json.dumps({"state": "pending", "fp": fingerprint})
    if not redis.set(name, pending, nx=True, ex=IDEMPOTENCY_PENDING_S):
        raw = redis.get(name)
        stored = json.loads(raw) if raw else {}
        if stored.get("fp") != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
        if stored.get("state") != "done":
            raise ApiError(
                409, "idempotency_in_progress", "the same request is still being processed"
            )
        return JSONResponse(
            stored["body"], status_code=stored["status"], headers={"Idempotent-Replayed": "true"}
        )
    try:
        body = await run()
    except BaseException:
        redis.delete(name)
        raise
    redis.set(
        name,
        json.dumps({"state": "done", "fp": fingerprint, "status": status, "body": body}),
        ex=IDEMPOTENCY_TTL_S,
    )
    return JSONResponse(body, status_code=status)
