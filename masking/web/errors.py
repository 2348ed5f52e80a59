"""One error shape for the API: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

from typing import Any

from masking.refusals import REFUSAL_TEXT, Refusal, Refused


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


# Refusals that do not reach the API (expired, unknown, invalid input) answer 403 too.
REFUSAL_STATUS: dict[Refusal, int] = {
    Refusal.NOT_ALLOWED: 403,
    Refusal.OTHER_SITE: 403,
    Refusal.SUSPENDED: 403,
    Refusal.INACTIVE: 403,
    Refusal.CLOSED: 409,
    Refusal.NO_PHONE: 409,
    Refusal.ALREADY_DIALING: 409,
    Refusal.BAD_REASON: 422,
    Refusal.UNKNOWN_SHIPMENT: 404,
    Refusal.POOL_EXHAUSTED: 503,
    Refusal.UNAVAILABLE: 503,
}


def refusal(reason: Refusal, message: str | None = None) -> ApiError:
    return ApiError(REFUSAL_STATUS.get(reason, 403), reason.value, message or REFUSAL_TEXT[reason])


def refused(exc: Refused) -> ApiError:
    return refusal(exc.reason, str(exc))


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "sign in or send 'Authorization: Bearer <token>'")


def forbidden(message: str = "your role may not do this") -> ApiError:
    return ApiError(403, "forbidden", message)


def other_site() -> ApiError:
    return ApiError(403, "other_site", "this belongs to another site")


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


def bad_input(message: str) -> ApiError:
    return ApiError(422, "bad_input", message)
