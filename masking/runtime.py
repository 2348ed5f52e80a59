"""The composition root: builds the running process from the settings.

:class:`Runtime` wires the use-case facade (:class:`masking.service.MaskingService`: the
database and the live pool), the call desk, the FastAGI server, the AMI client and the web
app, and starts and stops them in order (``masking serve``; the demo and the end-to-end
tests run it in a thread with :class:`RuntimeThread`). Nothing else builds these.

Start-up order: the exposure check (:func:`check_exposure`), schema upgrade, live state
restored from the database (a dead Redis is logged, not fatal: every call then fails
closed until it is back), FastAGI, AMI (connects and reconnects by itself), HTTP, then
the leader elections (:mod:`masking.leader`). Only the leader of the deployment (one
process among all workers and instances sharing the database) runs the scheduler (case
events to the webhook, overdue appeals closed) and the progressive dialer
(``agi/progressive.py``: campaign calls through the AMI originator). AMI event tracking
and reconciliation have their own election per Asterisk (``MASKING_ASTERISK_NAME``):
one process among those attached to an Asterisk tracks it. Every process keeps an AMI
connection without events, so click-to-call works from any of them. When a leader dies
another process takes over within a few seconds.
SIGTERM / SIGINT stop accepting and let in-flight AGI requests finish.

``masking serve --workers N`` (:func:`supervise`): the parent upgrades the schema and
restores the live state once, then forks N workers, each with its own event loop,
serving FastAGI on the same port (``SO_REUSEPORT``: the kernel spreads connections).
The console (HTTP) runs in worker 0 only: it is not on the call path, and one process
keeps what a browser session relies on (the session key when ``MASKING_SESSION_SECRET``
is unset) in one place. The parent restarts a worker that dies and passes SIGTERM /
SIGINT on for a graceful stop. Metrics: before forking, the parent points prometheus-client
at ``var_dir/metrics/<its pid>`` (:func:`masking.metrics.use_directory`); every worker
writes its counts there and worker 0's ``/metrics`` adds them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import uvicorn

from agi.ami import AmiClient
from agi.progressive import ProgressiveDialer
from agi.server import FastAGIServer
from masking import metrics, redis_client
from masking.calls.desk import MaskingCallDesk
from masking.cases import appeals, outbox, webhook
from masking.config import ConfigError, Settings, is_loopback_host
from masking.leader import LeaderLock, Leadership, lock_for, tracking_lock_for
from masking.monitoring import Readiness
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


def prepare(service: MaskingService) -> None:
    """Once per start of a deployment's process (the parent of workers): the schema
    upgrade and the live state rebuilt in Redis from the database."""
    service.db.upgrade()
    log.info("live state in %s", redis_client.describe(service.settings))
    try:
        bindings.restore_live_state(service)
    except PoolError as exc:
        log.error("live state not restored (%s); calls are denied until Redis is back", exc)


class Runtime:
    """The running process; tests and the demo drive it through :meth:`start` / :meth:`stop`.

    ``reuse_port``: FastAGI shares its port with the other workers. ``prepare`` False:
    the parent already upgraded the schema and restored the live state. ``leader_lock``:
    the deployment's lock (default: :func:`masking.leader.lock_for` the settings);
    ``tracking_lock``: the lock of AMI tracking for this process's Asterisk (default:
    :func:`masking.leader.tracking_lock_for` the settings).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        with_http: bool = True,
        reuse_port: bool = False,
        prepare: bool = True,
        leader_lock: LeaderLock | None = None,
        tracking_lock: LeaderLock | None = None,
    ) -> None:
        check_exposure(settings)
        self.settings = settings
        self.with_http = with_http
        self.reuse_port = reuse_port
        self.prepare = prepare
        self.service = MaskingService.from_settings(settings)
        self.agi: FastAGIServer | None = None
        self.ami: AmiClient | None = None
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._leader_lock = leader_lock
        self._tracking_lock = tracking_lock
        self.leadership: Leadership | None = None
        self.tracking: Leadership | None = None
        self.scheduler: Scheduler | None = None
        self.dialer: ProgressiveDialer | None = None
        self._stopping = False

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

    @property
    def is_leader(self) -> bool:
        return self.leadership is not None and self.leadership.is_leader

    @property
    def is_tracking(self) -> bool:
        """This process tracks AMI events of its Asterisk (and reconciles its records)."""
        return self.tracking is not None and self.tracking.is_leader

    async def start(self) -> None:
        s = self.settings
        if self.prepare:
            await asyncio.to_thread(prepare, self.service)
        self.agi = FastAGIServer(
            MaskingCallDesk(self.service),
            s.agi_host,
            s.agi_port,
            request_timeout=s.agi_request_timeout,
            allowed_peers=s.agi_allowed_networks,
            secret=s.agi_secret,
            reuse_port=self.reuse_port,
        )
        await self.agi.start()
        log.info("FastAGI listening on %s:%s (pid %s)", s.agi_host, self.agi.port, os.getpid())
        self.leadership = Leadership(
            self._leader_lock or lock_for(s), on_elected=self._lead, on_deposed=self._follow
        )
        self.tracking = Leadership(
            self._tracking_lock or tracking_lock_for(s),
            on_elected=self._track,
            on_deposed=self._untrack,
            role="tracker",
        )
        # a process that tracks from the start logs in to AMI with events at once
        tracking = await self.tracking.try_now()
        await self.leadership.try_now()
        self.ami = AmiClient.from_settings(s, self.service, track_events=tracking)
        await self.ami.start()
        if self.with_http:
            ami = self.ami
            readiness = Readiness.of(self.service, lambda: ami.connected)
            app = create_app(self.service, ami.originator, readiness=readiness)
            if not s.metrics_token and not is_loopback_host(s.http_host):
                log.warning(
                    "MASKING_METRICS_TOKEN is not set: /metrics is open to whoever reaches %s:%s",
                    s.http_host,
                    s.http_port,
                )
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
            self._http_task = asyncio.create_task(self._serve_http(self._http))
            for _ in range(100):
                if self._http.started or self._http_task.done():
                    break
                await asyncio.sleep(0.05)
            if self._http_task.done():
                self._http_task.result()  # raises: e.g. the port is taken
                raise RuntimeError(f"HTTP server on {s.http_host}:{s.http_port} stopped")
            log.info("console on http://%s:%s/", s.http_host, s.http_port)
        await self.tracking.start()
        await self.leadership.start()

    async def _serve_http(self, server: uvicorn.Server) -> None:
        try:
            await server.serve()
        except SystemExit:
            # uvicorn exits the process when it cannot listen (it logged why): here that
            # is a start-up failure like any other
            s = self.settings
            raise OSError(f"the console cannot listen on {s.http_host}:{s.http_port}") from None

    async def _track(self) -> None:
        """Elected for this process's Asterisk: track its AMI events and reconcile."""
        assert self.ami is not None
        log.info(
            "AMI event tracking starts for Asterisk %s",
            self.settings.asterisk_name or "(the deployment's only one)",
        )
        await self.ami.set_tracking(True)

    async def _untrack(self) -> None:
        if self.ami is not None and not self._stopping:
            await self.ami.set_tracking(False)

    async def _lead(self) -> None:
        """Elected: run the timers and the dialer."""
        assert self.ami is not None
        log.info("leader duties start: scheduler, progressive dialer")
        s = self.settings
        self.scheduler = Scheduler(self.scheduled_jobs(), s.scheduler_interval, self.service.clock)
        await self.scheduler.start()
        # progressive sessions: the next order's call when the operator is free
        self.dialer = ProgressiveDialer(self.service, self.ami.originator, interval=1.0)
        await self.dialer.start()

    async def _follow(self) -> None:
        """Deposed (or stopping): leave the leader duties to whoever holds the lock now."""
        dialer, self.dialer = self.dialer, None
        if dialer is not None:
            await dialer.stop()
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            await scheduler.stop()

    async def stop(self) -> None:
        self._stopping = True
        if self.leadership is not None:
            await self.leadership.stop()
        if self.tracking is not None:
            await self.tracking.stop()
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


async def serve(
    settings: Settings,
    *,
    worker: int | None = None,
    on_started: Callable[[], None] | None = None,
) -> None:
    """One process serving until SIGINT / SIGTERM: alone (``worker`` None), or worker
    number ``worker`` of :func:`supervise` (the parent prepared; HTTP in worker 0 only)."""
    if worker is None:
        runtime = Runtime(settings)
    else:
        runtime = Runtime(settings, with_http=worker == 0, reuse_port=True, prepare=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
    except BaseException:
        await runtime.stop()
        raise
    if on_started is not None:
        on_started()
    if worker is None:
        log.info("masking is serving; Ctrl-C stops it")
    else:
        log.info("worker %d (pid %d) is serving", worker, os.getpid())
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runtime.stop()


# ---- several workers ----------------------------------------------------------------------
# a worker's exit codes that mean "it could not start": the parent gives up, restarting
# it would fail the same way
EXIT_CONFIG = 2
EXIT_CANNOT_START = 3
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive its supervisor (kill -9 of the parent): SIGTERM then."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(0)


def _worker_main(settings: Settings, index: int, parent: int) -> None:
    """The forked child: its own event loop, until SIGTERM; never returns."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)
    code = 0
    started: list[bool] = []
    try:
        asyncio.run(serve(settings, worker=index, on_started=lambda: started.append(True)))
    except ConfigError as exc:
        log.error("worker %d: %s", index, exc)
        code = 1 if started else EXIT_CONFIG
    except OSError as exc:
        log.error("worker %d: %s", index, exc.strerror or exc)
        code = 1 if started else EXIT_CANNOT_START
    except BaseException:
        log.exception("worker %d failed", index)
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)


def supervise(
    settings: Settings,
    workers: int,
    *,
    restart_delay: float = 1.0,
    max_restart_delay: float = 30.0,
    stop_grace: float = 30.0,
) -> int:
    """``masking serve --workers N``: prepare once, fork ``workers`` workers, restart any
    that dies (waiting longer while they keep dying young), and on SIGTERM / SIGINT stop
    them gracefully (SIGKILL after ``stop_grace`` seconds). Returns the exit code."""
    if workers < 1:
        raise ConfigError("--workers: at least 1")
    check_exposure(settings)
    service = MaskingService.from_settings(settings)
    try:
        prepare(service)
    finally:
        service.close()  # nothing open is inherited by the workers
    parent = os.getpid()
    # every worker writes its metrics there; worker 0 adds them up for /metrics
    metrics_dir = _metrics_directory(settings, parent)
    metrics.use_directory(metrics_dir)
    children: dict[int, int] = {}  # pid -> worker index
    born: dict[int, float] = {}
    delays = dict.fromkeys(range(workers), restart_delay)
    stopping: list[int] = []  # the signal that asked to stop, once one did

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            _worker_main(settings, index, parent)
        children[pid] = index
        born[pid] = time.monotonic()
        log.info("worker %d started (pid %d)", index, pid)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stopping:
            stopping.append(signum)
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    exit_code = 0
    pending: dict[int, float] = {}  # worker index -> when to start it again
    try:
        for index in range(workers):
            spawn(index)
        log.info("masking is serving with %d workers (supervisor pid %d)", workers, parent)
        deadline: float | None = None
        while children or (pending and not stopping):
            pid, status = os.waitpid(-1, os.WNOHANG) if children else (0, 0)
            now = time.monotonic()
            if pid == 0:
                if stopping:
                    deadline = deadline or now + stop_grace
                    if now > deadline:
                        for child in list(children):
                            log.error("worker pid %d did not stop in time; killing it", child)
                            with contextlib.suppress(ProcessLookupError):
                                os.kill(child, signal.SIGKILL)
                        deadline = now + 5.0
                for index, when in list(pending.items()):
                    if when <= now and not stopping:
                        del pending[index]
                        spawn(index)
                time.sleep(0.1)
                continue
            index = children.pop(pid)
            metrics.process_exited(pid)
            code = os.waitstatus_to_exitcode(status)
            lived = now - born.pop(pid)
            if stopping:
                continue
            if code in (EXIT_CONFIG, EXIT_CANNOT_START):
                log.error("worker %d could not start (exit %d); stopping", index, code)
                exit_code = code
                on_signal(signal.SIGTERM, None)
                continue
            delays[index] = (
                min(delays[index] * 2, max_restart_delay) if lived < 10 else restart_delay
            )
            log.error(
                "worker %d (pid %d) exited (%s); restarting in %.1f s",
                index,
                pid,
                f"signal {-code}" if code < 0 else f"exit {code}",
                delays[index],
            )
            pending[index] = now + delays[index]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not children:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    log.info("all workers stopped")
    return exit_code


def _metrics_directory(settings: Settings, supervisor: int) -> Path:
    """``var_dir/metrics/<supervisor pid>``: its own per supervisor (two on one var_dir
    must not add up each other's workers); those of supervisors gone are removed."""
    root = settings.var_dir / "metrics"
    if root.is_dir():
        for old in root.iterdir():
            if old.name.isdigit() and not _alive(int(old.name)):
                shutil.rmtree(old, ignore_errors=True)
    return root / str(supervisor)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
