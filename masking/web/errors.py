"""One error shape for the API: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


# Domain refusal codes (Refused, Refused) -> HTTP status.
REFUSAL_STATUS = {
    "not_allowed": 403,
    "other_site": 403,
    "suspended": 403,
    "inactive": 403,
    "closed": 409,
    "no_phone": 409,
    "bad_reason": 422,
    "unknown_shipment": 404,
    "pool_exhausted": 503,
    "unavailable": 503,
}


def refusal(code: str, message: str) -> ApiError:
    return ApiError(REFUSAL_STATUS.get(code, 403), code, message)


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
