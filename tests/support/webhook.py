"""A real webhook receiver for the outbox tests: an ``http.server`` on 127.0.0.1 in a
thread that records every POST and answers the statuses a test plans."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "receiver-test-secret-0123456789abcdef"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event_id(self) -> str:
        return self.headers["X-Masking-Event-Id"]

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    def signed_with(self, secret: str) -> bool:
        """The README's recipe: HMAC-SHA256 of ``<timestamp>.<body>``, hex, ``sha256=``."""
        message = self.headers["X-Masking-Timestamp"].encode() + b"." + self.body
        expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["X-Masking-Signature"])


class Receiver:
    """``statuses``: the answers to the first requests, in order; 200 after them.
    ``delay``: seconds every answer waits (to make senders overlap, or time out)."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.statuses = list(statuses or [])
        self.delay = delay
        self.received: list[Received] = []  # every request, whatever it was answered
        self.accepted: list[Received] = []  # those answered 2xx
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                got = Received(dict(self.headers.items()), body)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(got)
                    if 200 <= status < 300:
                        receiver.accepted.append(got)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/masking"

    def accepted_ids(self) -> list[str]:
        with self._lock:
            return [r.event_id for r in self.accepted]


@contextmanager
def receiver(statuses: list[int] | None = None, delay: float = 0.0) -> Iterator[Receiver]:
    rec = Receiver(statuses, delay)
    thread = threading.Thread(target=rec.server.serve_forever, name="webhook-receiver")
    thread.start()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()
        thread.join(5)
