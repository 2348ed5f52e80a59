"""The real service with two workers (``masking serve --workers 2``, JSON logs) on a Redis
of the test's own: decisions placed through the real FastAGI server are counted in both
workers and added up on one scrape of /metrics over HTTP; /readyz turns 503 naming Redis
when that Redis stops and ready again when it is back; every log line is a JSON object
and none carries the customer's digits."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import multiprocess

from lab.private_redis import PrivateRedis, redis_binary
from masking.config import Settings, load_settings
from masking.numbers import bindings
from masking.service import MaskingService
from tests.support import factories
from tests.support.agi import exchange, set_vars
from tests.support.calls import revealed_number
from tests.support.environment import free_tcp_port, unavailable
from tests.support.factories import seed_site
from tests.support.leaks import digit_leaks
from tests.support.metrics import Samples, counted, samples, value
from tests.support.serve import AmiInThread, ServeProcess

CUSTOMER = factories.customer(0)  # of seed_site's one shipment
VIRTUAL = factories.virtual(0)  # seed_site's one pool number
DESK = "pvz1-desk1"  # seed_site's owner's desk phone
DIALS, DENIALS = 24, 8
SERVING = re.compile(r"worker \d \(pid \d+\) is serving")


def seed(settings: Settings) -> None:
    """A site open around the clock, desk phone ``pvz1-desk1`` of its owner, the
    customer's shipment revealed on the one temporary number (so the desk dialing it is a
    ``dial``)."""
    service = MaskingService.from_settings(settings)
    try:
        service.db.upgrade()
        bindings.restore_live_state(service)
        world = seed_site(service, hours="daily 00:00-24:00", pool=1, shipments=1)
        assert revealed_number(service, world) == VIRTUAL
    finally:
        service.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    if redis_binary() is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    server = PrivateRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def ami() -> Iterator[AmiInThread]:
    peer = AmiInThread()
    yield peer
    peer.stop()


async def place_calls(port: int) -> list[list[tuple[str, str]]]:
    """DIALS requests of the owner's desk phone dialing the temporary number and DENIALS
    of an unknown desk phone, each on its own connection (the kernel spreads them over
    the workers)."""
    requests = [(DESK, VIRTUAL.lstrip("+"))] * DIALS + [("nobody-desk", "74950000009")] * DENIALS
    replies = []
    for start in range(0, len(requests), 8):
        batch = requests[start : start + 8]
        replies += await asyncio.gather(
            *(
                exchange(port, "operator-call", endpoint, dialed, uniqueid=f"1700000{n}.1")
                for n, (endpoint, dialed) in enumerate(batch, start)
            )
        )
    return [set_vars(reply) for reply in replies]


def test_two_workers_add_up_and_readiness_follows_redis(
    tmp_path: Path, sqlite_url: str, redis_server: PrivateRedis, ami: AmiInThread
) -> None:
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    settings = load_settings(
        var_dir=tmp_path / "var",
        database_url=sqlite_url,
        redis_url=redis_server.url,
        redis_prefix=prefix,
    )
    seed(settings)
    agi_port, http_port = free_tcp_port(), free_tcp_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKING_")}
    env.update(
        MASKING_VAR_DIR=str(settings.var_dir),
        MASKING_DATABASE_URL=sqlite_url,
        MASKING_REDIS_URL=redis_server.url,
        MASKING_REDIS_PREFIX=prefix,
        MASKING_AGI_PORT=str(agi_port),
        MASKING_HTTP_PORT=str(http_port),
        MASKING_AMI_PORT=str(ami.fake.port),
        MASKING_AMI_SECRET="s3cret",
        MASKING_LOG_FORMAT="json",
    )
    serve = ServeProcess(env, ["--workers", "2"])
    http = httpx.Client(base_url=f"http://127.0.0.1:{http_port}", trust_env=False, timeout=10)

    def scrape() -> Samples:
        response = http.get("/metrics")
        assert response.status_code == 200
        return samples(response.text)

    def entries() -> list[dict[str, object]]:
        return [json.loads(line) for line in serve.drain()]

    def ready() -> int:
        try:
            return http.get("/readyz").status_code
        except httpx.TransportError:
            return 0

    try:
        serve.wait_for(
            lambda: sum(SERVING.match(str(e["message"])) is not None for e in entries()) == 2
        )
        workers = serve.workers()
        assert len(workers) == 2
        # both workers logged in to AMI (the lowest of their states is 1), one tracks events
        serve.wait_for(lambda: ready() == 200)
        serve.wait_for(lambda: value(scrape(), "masking_ami_connected") == 1)
        serve.wait_for(lambda: value(scrape(), "masking_ami_event_tracking", asterisk="") == 1)
        before = scrape()

        answers = asyncio.run(place_calls(agi_port))
        # what the callers heard, by (outcome, reason); 32 requests are under the admission
        # floor, so none is answered "busy" even by a worker that was idle a second ago
        heard = Counter(
            (dict(a)["MASKING_ACTION"], dict(a).get("MASKING_DENY_REASON", "")) for a in answers
        )
        assert heard == Counter({("dial", ""): DIALS, ("deny", "not_allowed"): DENIALS}), heard

        after = scrape()
        route = {"route": "operator-call"}

        def delta(name: str, **labels: str) -> float:
            return counted(after, name, **labels) - counted(before, name, **labels)

        for (outcome, reason), count in heard.items():
            scraped = delta("masking_decisions_total", **route, outcome=outcome, reason=reason)
            assert scraped == count, (outcome, reason, scraped, count)
        decided = len(answers)  # none was busy (a busy answer is not timed)
        assert delta("masking_decision_seconds_count", **route) == decided
        assert delta("masking_decision_seconds_bucket", **route, le="3.0") == decided
        assert delta("masking_decision_seconds_bucket", **route, le="+Inf") == decided
        assert 0 < delta("masking_decision_seconds_sum", **route) < 3.0 * decided
        assert value(after, "masking_agi_in_flight") == 0

        # each worker wrote its own share; the scrape is their sum
        folder = settings.var_dir / "metrics" / str(serve.process.pid)
        shares = {}
        for pid in workers:
            own = samples_of_files([folder / f"counter_{pid}.db"])
            shares[pid] = sum(
                v for (name, labels), v in own.items()
                if name == "masking_decisions_total" and ("route", "operator-call") in labels
            )  # fmt: skip
        assert all(share > 0 for share in shares.values()), shares
        assert sum(shares.values()) == DIALS + DENIALS

        # Redis stops: not ready, naming it (and nothing of its URL); back: ready again
        redis_server.stop()
        serve.wait_for(lambda: ready() == 503, timeout=20)
        body = http.get("/readyz")
        assert body.json()["checks"] == {"database": "ok", "redis": "down", "ami": "ok"}
        assert "redis://" not in body.text and str(redis_server.port) not in body.text
        assert value(scrape(), "masking_dependency_up", dependency="redis") == 0
        redis_server.start()
        serve.wait_for(lambda: ready() == 200, timeout=20)
        assert value(scrape(), "masking_dependency_up", dependency="redis") == 1

        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(30) == 0
        serve.wait_for(lambda: True)
        assert not folder.exists()  # the supervisor cleans its metrics directory up
    finally:
        http.close()
        serve.stop()

    # the whole log: JSON lines, the decisions with fields of their own, no customer digits
    log = [json.loads(line) for line in serve.drain()]
    assert log and all({"time", "level", "logger", "message", "pid"} <= set(e) for e in log)
    logged = [e for e in log if e.get("route") == "operator-call"]
    assert len(logged) == decided  # one line per decision made (busy is logged per second)
    assert sum(e["outcome"] == "dial" for e in logged) == heard[("dial", "")]
    assert {e["pid"] for e in logged} == workers
    assert not digit_leaks("".join(serve.log), [CUSTOMER])


def samples_of_files(files: list[Path]) -> Samples:
    """The values written to the given multiprocess files alone."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for metric in multiprocess.MultiProcessCollector.merge([str(f) for f in files])
        for s in metric.samples
    }
