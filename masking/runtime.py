"""The composition root: builds the running process from the settings.

:class:`Runtime` wires the use-case facade (:class:`masking.service.MaskingService`: the
database and the live pool), the call desk, the FastAGI server, the AMI client and the web
app, and starts and stops them in order (``masking serve``; the demo and the end-to-end
tests run it in a thread with :class:`RuntimeThread`). Nothing else builds these.

Start-up order: the exposure check (:func:`check_exposure`), schema upgrade, live state
restored from the database (a dead Redis is logged, not fatal: every call then fails
closed until it is back), FastAGI, AMI (connects and reconnects by itself), HTTP, the
scheduler (case events to the webhook, overdue appeals closed) and the progressive
dialer (``agi/progressive.py``: campaign calls through the AMI originator).
SIGTERM / SIGINT stop accepting and let in-flight AGI requests finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import uvicorn

from agi.ami import AmiClient
from agi.progressive import ProgressiveDialer
from agi.server import FastAGIServer
from masking.calls.desk import MaskingCallDesk
from masking.cases import appeals, outbox, webhook
from masking.config import ConfigError, Settings, is_loopback_host
from masking.numbers import bindings
from masking.numbers.pool import PoolError
from masking.scheduler import Job, Scheduler
from masking.service import MaskingService
from masking.web import create_app

log = logging.getLogger("masking.serve")
T = TypeVar("T")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers: :func:`serve` owns SIGINT / SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


DEFAULT_AMI_SECRET = "masking"  # noqa: S105 - the lab default, refused off the loopback


def check_exposure(settings: Settings) -> None:
    """Refuse settings that expose the service beyond this host with lab defaults: a
    FastAGI port off the loopback without an explicit peer allowlist, or the default AMI
    secret towards an Asterisk on another host. Raises ConfigError (one line)."""
    if not is_loopback_host(settings.agi_host) and not settings.agi_allowed_peers.strip():
        raise ConfigError(
            f"MASKING_AGI_ALLOWED_PEERS: must list the Asterisk addresses when "
            f"MASKING_AGI_HOST ({settings.agi_host}) is not a loopback address"
        )
    if not is_loopback_host(settings.ami_host) and settings.ami_secret == DEFAULT_AMI_SECRET:
        raise ConfigError(
            f"MASKING_AMI_SECRET: the default secret is refused for a non-loopback "
            f"MASKING_AMI_HOST ({settings.ami_host})"
        )


class Runtime:
    """The running process; tests and the demo drive it through :meth:`start` / :meth:`stop`."""

    def __init__(self, settings: Settings, *, with_http: bool = True) -> None:
        check_exposure(settings)
        self.settings = settings
        self.with_http = with_http
        self.service = MaskingService.from_settings(settings)
        self.agi: FastAGIServer | None = None
        self.ami: AmiClient | None = None
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None
        self.scheduler: Scheduler | None = None
        self.dialer: ProgressiveDialer | None = None

    def scheduled_jobs(self) -> list[tuple[str, Job]]:
        service = self.service
        # overdue appeals first: the events of their closing go out in the same round
        jobs: list[tuple[str, Job]] = [
            ("close_overdue", lambda now: appeals.close_overdue(service, now))
        ]
        send = webhook.sender_from_settings(self.settings)
        if send is None:
            log.warning("MASKING_WEBHOOK_URL is not set: case events stay queued, none is sent")
        else:
            jobs.append(("outbox", lambda now: outbox.deliver_due(service, send)))
        return jobs

    async def start(self) -> None:
        s = self.settings
        await asyncio.to_thread(self.service.db.upgrade)
        try:
            await asyncio.to_thread(bindings.restore_live_state, self.service)
        except PoolError as exc:
            log.error("live state not restored (%s); calls are denied until Redis is back", exc)
        self.agi = FastAGIServer(
            MaskingCallDesk(self.service),
            s.agi_host,
            s.agi_port,
            request_timeout=s.agi_request_timeout,
            allowed_peers=s.agi_allowed_networks,
            secret=s.agi_secret,
        )
        await self.agi.start()
        log.info("FastAGI listening on %s:%s", s.agi_host, self.agi.port)
        self.ami = AmiClient.from_settings(s, self.service)
        await self.ami.start()
        if self.with_http:
            app = create_app(self.service, self.ami.originator)
            # log_config=None: uvicorn's records go to the root handlers, whose filter
            # masks phone numbers (masking.redaction)
            config = uvicorn.Config(
                app,
                host=s.http_host,
                port=s.http_port,
                log_level="warning",
                lifespan="off",
                log_config=None,
            )
            self._http = _EmbeddedServer(config)
            self._http_task = asyncio.create_task(self._http.serve())
            for _ in range(100):
                if self._http.started or self._http_task.done():
                    break
                await asyncio.sleep(0.05)
            if self._http_task.done():
                self._http_task.result()  # raises: e.g. the port is taken
                raise RuntimeError(f"HTTP server on {s.http_host}:{s.http_port} stopped")
            log.info("console on http://%s:%s/", s.http_host, s.http_port)
        self.scheduler = Scheduler(self.scheduled_jobs(), s.scheduler_interval, self.service.clock)
        await self.scheduler.start()
        # progressive sessions: the next order's call when the operator is free
        self.dialer = ProgressiveDialer(self.service, self.ami.originator, interval=1.0)
        await self.dialer.start()

    async def stop(self) -> None:
        if self.dialer is not None:
            await self.dialer.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self._http is not None:
            self._http.should_exit = True
            if self._http_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._http_task, 5)
        if self.agi is not None:
            await self.agi.close()
        if self.ami is not None:
            await self.ami.close()
        self.service.close()


async def serve(settings: Settings) -> None:
    runtime = Runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    log.info("masking is serving; Ctrl-C stops it")
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runtime.stop()


class RuntimeThread:
    """The service on its own event loop in a background thread (the demo and the e2e
    tests run it beside SIPp and Asterisk in one process)."""

    def __init__(self, settings: Settings, *, with_http: bool = True) -> None:
        import threading

        self.runtime = Runtime(settings, with_http=with_http)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="masking-serve", daemon=True
        )

    def start(self, timeout: float = 30.0) -> RuntimeThread:
        self._thread.start()
        self.run(self.runtime.start(), timeout)
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the service's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.run(self.runtime.stop(), 30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    def __enter__(self) -> RuntimeThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
