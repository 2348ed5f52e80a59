"""The webhook that carries case events to the upstream system: one signed POST per try.

The body is the event's payload as JSON; the receiver checks
``X-Masking-Signature: sha256=<hex HMAC-SHA256 of "<X-Masking-Timestamp>.<body>">`` with
the shared secret and drops repeats by ``X-Masking-Event-Id`` (delivery is at least once).
Standard library only; it blocks, so the scheduler runs it in a worker thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from masking.cases.outbox import DeliveryFailed, OutgoingEvent
from masking.config import Settings

TIMEOUT = 10.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(event: OutgoingEvent) -> bytes:
    return json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx: the event is tried again later (urllib
    would otherwise repeat the POST as a GET without its body)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookSender:
    """``send(event)`` for :func:`masking.cases.outbox.deliver_due`: returns when the
    receiver answered 2xx, raises :class:`DeliveryFailed` otherwise (another status, a
    timeout, a refused connection)."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = TIMEOUT,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook URL must start with http:// or https://")
        self.url = url
        self._secret = secret
        self.timeout = timeout
        self._wall_clock = wall_clock
        self._opener = urllib.request.build_opener(_NoRedirects())

    def __call__(self, event: OutgoingEvent) -> None:
        body = body_of(event)
        timestamp = str(int(self._wall_clock()))
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "masking-webhook",
                "X-Masking-Event-Id": event.id,
                "X-Masking-Event-Type": event.type,
                "X-Masking-Timestamp": timestamp,
                "X-Masking-Signature": sign(self._secret, timestamp, body),
            },
        )
        # the messages name the failure, never the URL (it may carry a token)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DeliveryFailed(f"HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise DeliveryFailed("timeout") from None
            if isinstance(reason, OSError):
                raise DeliveryFailed(reason.strerror or type(reason).__name__) from None
            raise DeliveryFailed(f"unreachable: {str(reason)[:80]}") from None
        except TimeoutError:
            raise DeliveryFailed("timeout") from None
        except OSError as exc:
            raise DeliveryFailed(exc.strerror or type(exc).__name__) from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"HTTP {status}")


def sender_from_settings(settings: Settings) -> WebhookSender | None:
    """None when no URL is set: the events stay queued."""
    if not settings.webhook_url:
        return None
    return WebhookSender(settings.webhook_url, settings.webhook_secret)
