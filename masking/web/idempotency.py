"""``Idempotency-Key``: a repeated request of one staff member gets the stored answer,
but only while that staff member may still do what the request did.

Both idempotent requests (reveal, click-to-call) hand out a temporary number of the
caller's own site, so a replay re-authorises the caller for exactly that: same site and
role as when the answer was stored, and :func:`masking.policy.reveal_refusal` passes
now (active, may see numbers, site not suspended). Otherwise the stored answer is
dropped and the request runs as a fresh one, which refuses it the usual way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from masking import policy
from masking.refusals import Refusal
from masking.service import MaskingService
from masking.storage.models import Site, Staff
from masking.web.auth import Principal, service_of
from masking.web.errors import ApiError, bad_input

log = logging.getLogger("masking.web.idempotency")

IDEMPOTENCY_TTL_S = 24 * 3600
IDEMPOTENCY_PENDING_S = 60
_IDEM_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _in_progress() -> ApiError:
    return ApiError(409, "idempotency_in_progress", "the same request is still being processed")


def replay_refusal(service: MaskingService, p: Principal, stored: dict[str, Any]) -> Refusal | None:
    """Why the stored answer may not be replayed to ``p`` now (None: it may)."""
    if stored.get("site") != p.site_id or stored.get("role") != p.role:
        return Refusal.NOT_ALLOWED
    with service.db.session() as session:
        staff = session.get(Staff, p.id)
        site = session.get(Site, p.site_id) if p.site_id is not None else None
        if staff is None or site is None:
            return Refusal.NOT_ALLOWED
        return policy.reveal_refusal(staff, site)


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
    entry = {"fp": fingerprint, "site": p.site_id, "role": p.role}
    pending = json.dumps({"state": "pending", **entry})
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
            raise _in_progress()
        refused = await run_in_threadpool(replay_refusal, service, p, stored)
        outcome = "replayed" if refused is None else f"refused ({refused.value}), run afresh"
        log.info(
            "Idempotency-Key sha256:%s of staff %d (%s), %s: %s",
            digest[:16],
            p.id,
            p.login,
            scope,
            outcome,
        )
        if refused is None:
            return JSONResponse(
                stored["body"],
                status_code=stored["status"],
                headers={"Idempotent-Replayed": "true"},
            )
        redis.delete(name)
        if not redis.set(name, pending, nx=True, ex=IDEMPOTENCY_PENDING_S):
            raise _in_progress()
    try:
        body = await run()
    except BaseException:
        redis.delete(name)
        raise
    redis.set(
        name,
        json.dumps({"state": "done", **entry, "status": status, "body": body}),
        ex=IDEMPOTENCY_TTL_S,
    )
    return JSONResponse(body, status_code=status)
