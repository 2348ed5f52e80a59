"""The FastAGI server: Asterisk connects, asks one route, gets channel variables back.

Fail closed by construction: a request that cannot be decided in ``request_timeout``
seconds, or whose decision raises, is answered with a deny ``unavailable`` while the
channel is alive; a request that cannot even be read (garbage, unknown route, header
too big or too slow) is closed with nothing set, so ``MASKING_ACTION`` stays empty and
the dialplan denies.

Who may ask: FastAGI has no authentication or TLS of its own, and a decision carries the
customer's real number. A connection from a peer outside ``allowed_peers`` (default:
loopback) is closed before a byte is read; with a ``secret``, a request whose AGI URL
does not carry ``?secret=<it>`` (the ``MASKING_AGI_SECRET`` dialplan global) is closed
with nothing set. Both are counted and logged with the peer address / channel id only.

Timing: reading the request is bounded by ``header_timeout``; the decision by
``request_timeout``; writing all the variables by ``reply_timeout`` (2 s: Asterisk
answers ``SET VARIABLE`` in microseconds when idle, but a saturated Asterisk takes its
time, and failing the call then is worse than waiting), and the fallback deny, if needed, by another
``reply_timeout``: a connected request never lasts longer than
``request_timeout + 2 * reply_timeout`` after its environment arrived. The desk is
sync (SQLAlchemy, redis) and runs in a bounded thread pool so the event loop never waits
on storage.

Overload: a request that the decisions already queued would keep waiting past half the
deadline is answered ``busy`` at once (:mod:`agi.admission`), with no call record: the
desk is not asked. Decisions run on up to ``workers`` threads, each taking a share of the
queued requests at once (one hand-over per batch; their call records in one group
commit). Several processes may serve one port (``reuse_port``, as ``masking serve
--workers N`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import importlib
import ipaddress
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from agi.admission import Admission
from agi.protocol import AGIConnection, AGIError, AGIRequest, ChannelGone, ProtocolError
from agi.routes import ROUTES
from agi.routes.base import Handler, deny, safe_variables, scrub, unavailable
from masking.calls.contract import CallDecision, CallDesk
from masking.config import LOOPBACK_NETWORKS, IPNetwork
from masking.refusals import Refusal

log = logging.getLogger("agi.server")

# requests a decision thread takes at once at most
BATCH = 32
# threads that decide at once (another starts when every running one is busy)
DECISION_THREADS = 8


@dataclass
class _Client:
    task: asyncio.Task[None]
    in_request: bool = False


class FastAGIServer:
    def __init__(
        self,
        desk: CallDesk,
        host: str = "127.0.0.1",
        port: int = 4573,
        request_timeout: float = 3.0,
        max_connections: int = 1000,
        *,
        header_timeout: float = 5.0,
        reply_timeout: float = 2.0,
        workers: int = DECISION_THREADS,
        shutdown_grace: float = 5.0,
        routes: Mapping[str, Handler] | None = None,
        allowed_peers: Sequence[IPNetwork] = LOOPBACK_NETWORKS,
        secret: str = "",
        reuse_port: bool = False,
        busy_after: float | None = None,
    ) -> None:
        self.desk = desk
        self.host = host
        self.port = port
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.reply_timeout = reply_timeout
        self.shutdown_grace = shutdown_grace
        self.routes: Mapping[str, Handler] = dict(ROUTES if routes is None else routes)
        self.allowed_peers = tuple(allowed_peers)
        self._secret = secret.encode()
        # several processes (``masking serve --workers N``) bind the same port; the kernel
        # spreads new connections between them
        self.reuse_port = reuse_port
        self._workers = workers
        # a request that would wait longer than this for its answer is answered busy
        self.admission = Admission(request_timeout / 2 if busy_after is None else busy_after)
        self._executor: ThreadPoolExecutor | None = None
        # requests waiting for a decision thread, and how many threads are deciding
        self._queue: deque[tuple[Handler, AGIRequest, asyncio.Future[CallDecision]]] = deque()
        self._queue_lock = threading.Lock()
        self._runners = 0
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.Task[None], _Client] = {}
        self._closed = asyncio.Event()
        self._closing = False
        # counters, for tests and the benchmark
        self.rejected = 0
        self.answered = 0
        self.refused_peers = 0  # not in allowed_peers: closed unread
        self.unauthorized = 0  # wrong or missing secret: closed with nothing set
        self._overload_logged_at = 0.0

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self._server is not None:
            return
        self._executor = ThreadPoolExecutor(
            max_workers=self._workers, thread_name_prefix="agi-desk"
        )
        self._server = await asyncio.start_server(
            self._on_connect,
            self.host,
            self.port,
            backlog=min(self.max_connections, 4096),
            reuse_port=self.reuse_port or None,
        )
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        log.info("FastAGI listening on %s:%d", self.host, self.port)

    async def serve_forever(self) -> None:
        await self.start()
        await self._closed.wait()

    @property
    def active_connections(self) -> int:
        return len(self._clients)

    async def close(self, grace: float | None = None) -> None:
        """Stop accepting; drop connections that have not sent a request; let requests in
        flight finish for up to ``grace`` seconds, then cancel what is left."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        grace = self.shutdown_grace if grace is None else grace
        if self._server is not None:
            self._server.close()
        for client in list(self._clients.values()):
            if not client.in_request:
                client.task.cancel()
        pending = [c.task for c in self._clients.values()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            if still:
                log.warning("shutdown: cancelled %d request(s) after %.1fs", len(still), grace)
                await asyncio.wait(still, timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._server.wait_closed()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        log.info("FastAGI stopped")
        self._closed.set()

    async def __aenter__(self) -> FastAGIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- one connection ---------------------------------------------------------------------
    def peer_allowed(self, peer: str | None) -> bool:
        if peer is None:
            return False
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed_peers)

    def _authenticated(self, env: Mapping[str, str]) -> bool:
        if not self._secret:
            return True
        url = env.get("agi_network_script") or env.get("agi_request", "")
        given = parse_qs(urlsplit(url).query).get("secret", [""])[-1]
        return hmac.compare_digest(given.encode(), self._secret)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = str(peername[0]) if isinstance(peername, tuple) and peername else None
        if not self.peer_allowed(peer):
            self.refused_peers += 1
            log.warning("FastAGI: refused a connection from %s (not an allowed peer)", peer)
            writer.transport.abort()
            return
        conn = AGIConnection(reader, writer, reply_timeout=self.reply_timeout)
        task = asyncio.current_task()
        if task is None or self._closing or len(self._clients) >= self.max_connections:
            self.rejected += 1
            log.warning(
                "call -: refusing a connection (%d open, limit %d%s)",
                len(self._clients),
                self.max_connections,
                ", shutting down" if self._closing else "",
            )
            await conn.close(timeout=0.2)
            return
        client = _Client(task)
        self._clients[task] = client
        try:
            await self._serve(conn, client)
        except asyncio.CancelledError:
            log.debug("call -: connection cancelled")
        except Exception:
            log.exception("call -: unexpected error on a FastAGI connection")
        finally:
            self._clients.pop(task, None)
            await conn.close()

    async def _serve(self, conn: AGIConnection, client: _Client) -> None:
        try:
            env = await conn.read_env(timeout=self.header_timeout)
        except EOFError:
            log.debug("call -: closed before sending a request (%d bytes)", conn.received)
            return
        except TimeoutError:
            log.info("call -: no complete request in %.1fs, closing", self.header_timeout)
            return
        except ProtocolError as exc:
            log.warning("call -: bad request (%s), closing", exc)
            return
        client.in_request = True
        request = AGIRequest.from_env(env)
        uid = request.channel_id
        if not self._authenticated(env):
            self.unauthorized += 1
            log.warning("call %s: AGI secret missing or wrong, closing with nothing set", uid)
            return
        handler = self.routes.get(request.route)
        if handler is None:
            log.warning(
                "call %s: unknown route %r, closing with nothing set", uid, scrub(request.route)
            )
            return
        started = time.monotonic()
        if not self.admission.enter():
            self._log_overload()
            decision, pairs = safe_variables(deny(Refusal.BUSY))
            await self._answer(conn, request, decision, pairs)
            self.answered += 1
            return
        try:
            decision = await self._decide(handler, request)
        finally:
            self.admission.leave()
        decision, pairs = safe_variables(decision)
        await self._answer(conn, request, decision, pairs)
        self.answered += 1
        log.info(
            "call %s: %s -> %s%s (call %s, %.0f ms)",
            uid,
            request.route,
            decision.action,
            f" {decision.deny_reason.value}" if decision.deny_reason else "",
            decision.call_id,
            (time.monotonic() - started) * 1000,
        )

    async def _decide(self, handler: Handler, request: AGIRequest) -> CallDecision:
        uid = request.channel_id
        loop = asyncio.get_running_loop()
        decided: asyncio.Future[CallDecision] = loop.create_future()
        with self._queue_lock:
            self._queue.append((handler, request, decided))
            # a slow decision (a database hiccup) must not hold up the others: another
            # thread starts whenever every running one is busy, up to ``workers``
            start = self._runners < self._workers
            if start:
                self._runners += 1
        if start:
            assert self._executor is not None
            self._executor.submit(self._run_batches, loop)
        try:
            async with asyncio.timeout(self.request_timeout):
                return await decided
        except TimeoutError:
            log.error(
                "call %s: %s not decided in %.1fs, denying",
                uid,
                request.route,
                self.request_timeout,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s: %s failed, denying", uid, request.route)
        return unavailable()

    # ---- decisions, in batches on worker threads ------------------------------------------
    def _run_batches(self, loop: asyncio.AbstractEventLoop) -> None:
        """A worker thread: take up to BATCH queued requests, decide them (their records
        in one group commit when the desk can), hand the answers to the loop in one call;
        until the queue is empty. One handover per batch instead of one per request."""
        while True:
            with self._queue_lock:
                if not self._queue:
                    self._runners -= 1
                    return
                # a fair share, so that one slow decision holds up few others
                take = max(1, min(BATCH, len(self._queue) // self._workers))
                batch = [self._queue.popleft() for _ in range(take)]
            calls = [functools.partial(self._decide_one, h, r) for h, r, _ in batch]
            together = getattr(self.desk, "decide_together", None)
            try:
                results = together(calls) if together is not None else [c() for c in calls]
            except Exception:
                log.exception("a batch of %d decisions failed, denying them", len(batch))
                results = [unavailable() for _ in batch]
            loop.call_soon_threadsafe(self._deliver, [f for _, _, f in batch], results)

    def _decide_one(self, handler: Handler, request: AGIRequest) -> CallDecision:
        try:
            return handler(self.desk, request)
        except Exception:
            log.exception("call %s: %s failed, denying", request.channel_id, request.route)
            return unavailable()

    @staticmethod
    def _deliver(futures: list[asyncio.Future[CallDecision]], results: list[CallDecision]) -> None:
        for future, result in zip(futures, results, strict=True):
            if not future.done():  # a request past its deadline was answered already
                future.set_result(result)

    def _log_overload(self) -> None:
        """One warning per second at most: a burst refuses hundreds of calls."""
        now = time.monotonic()
        if now - self._overload_logged_at >= 1.0:
            self._overload_logged_at = now
            log.warning(
                "overloaded: %d request(s) answered busy so far (%d in flight, %.0f answered/s)",
                self.admission.refused,
                self.admission.in_flight,
                self.admission.rate(),
            )

    async def _answer(
        self,
        conn: AGIConnection,
        request: AGIRequest,
        decision: CallDecision,
        pairs: list[tuple[str, str]],
    ) -> None:
        """Set the variables (ACTION last). If that fails while the channel lives, try
        once to set a deny ``unavailable`` instead."""
        uid = request.channel_id
        try:
            await conn.set_variables(pairs)
            return
        except ChannelGone as exc:
            log.info("call %s: channel gone while answering (%s)", uid, exc)
            return
        except (TimeoutError, AGIError, ValueError, OSError) as exc:
            log.warning("call %s: could not set the decision (%s)", uid, type(exc).__name__)
        if conn.gone:
            return
        _, fallback = safe_variables(unavailable(decision.call_id))
        try:
            await conn.set_variables(fallback)
        except ChannelGone:
            return
        except (TimeoutError, AGIError, ValueError, OSError) as exc:
            log.warning("call %s: could not set the fallback deny (%s)", uid, type(exc).__name__)


def load_factory(spec: str) -> Callable[[], CallDesk]:
    """``"package.module:function"`` -> the function (a desk factory)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected module:function, got {spec!r}")
    factory = getattr(importlib.import_module(module_name), attr)
    if not callable(factory):
        raise TypeError(f"{spec} is not callable")
    return factory


async def serve(
    desk: CallDesk, host: str = "127.0.0.1", port: int = 4573, **options: float | int
) -> None:
    """Run a server until cancelled (SIGINT/SIGTERM in ``asyncio.run``), then shut down."""
    server = FastAGIServer(desk, host, port, **options)  # type: ignore[arg-type]
    await server.start()
    try:
        await server.serve_forever()
    finally:
        await server.close()
