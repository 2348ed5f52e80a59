"""Two real Asterisk servers active at once on one deployment (one PostgreSQL, one Redis),
an instance attached to each (``MASKING_ASTERISK_NAME`` = its Asterisk's systemname):
both dialplans ask instance 0 first; each Asterisk's calls are tracked and closed by the
instance attached to it, whichever instance decided them; click-to-call from instance 1
rings its own Asterisk; and a reconciliation of one Asterisk never closes the other's
live call."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agi.ami import AmiClient
from lab.asterisk import LocalAsterisk, Phone, Ports
from lab.asterisk.local import AsteriskError
from lab.sipp import free_udp_port
from masking.service import MaskingService
from masking.storage.models import CallRecord
from tests.support.e2e import E2E, PHONE_PASSWORDS
from tests.support.instances import Fleet, fleet, wait_logged

pytestmark = pytest.mark.e2e

TRACKS = "AMI event tracking starts for Asterisk "


@dataclass
class Pair:
    fleet: Fleet  # fleet.e2e: Asterisk A (the session's), instance 0 attached to it
    b: E2E  # Asterisk B, instance 1 attached to it


@pytest.fixture(scope="module")
def pair(e2e: E2E, rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    workdir = tmp_path_factory.mktemp("asterisks")
    carrier_port, desk1_port = free_udp_port(), free_udp_port()
    asterisk_b = LocalAsterisk(
        workdir / "asterisk-b",
        Ports.free(),
        agi=f"127.0.0.1:{e2e.agi_port}",
        carrier=f"127.0.0.1:{carrier_port}",
        phones=[Phone("desk1", PHONE_PASSWORDS["desk1"], contact=f"127.0.0.1:{desk1_port}")],
        rootfs=rootfs,
    )
    try:
        asterisk_b.start()
    except AsteriskError as exc:
        asterisk_b.stop()
        pytest.fail(f"the second Asterisk did not start: {exc}")
    b = E2E(asterisk_b, workdir, carrier_port, e2e.agi_port, {"desk1": desk1_port})
    try:
        with fleet(e2e, workdir, asterisks=(e2e.asterisk, asterisk_b)) as started:
            yield Pair(started, b)
    finally:
        asterisk_b.stop()


def desk_call(pair: Pair, on: E2E, scenario: str = "desk_uac_brief") -> None:
    """desk1 of Asterisk ``on`` dials S1's temporary number; the customer answers."""
    pair.fleet.masked_desk_call(on, scenario)


def record_on(pair: Pair, asterisk: LocalAsterisk, since: float, *, ended: bool) -> CallRecord:
    return pair.fleet.wait_record(
        lambda r: (
            r.asterisk == asterisk.name
            and r.started_at.timestamp() >= since - 1
            and (r.ended_at is not None) == ended
            and (ended or r.answered_at is not None)
        ),
        timeout=15,
    )


def closed_by(pair: Pair, call_id: str) -> list[int]:
    """The instances whose tracker closed the record (their log says it ended)."""
    return [i.index for i in pair.fleet.instances if f"call {call_id}: ended" in i.log()]


def test_each_asterisk_is_tracked_by_the_instance_attached_to_it(pair: Pair) -> None:
    a, b, instances = pair.fleet.e2e, pair.b, pair.fleet.instances
    assert TRACKS + a.asterisk.name in instances[0].log()
    assert TRACKS + b.asterisk.name in instances[1].log()
    assert instances.trackers() == [0, 1]
    assert instances.leaders() == [0]  # timers and the dialer: one leader for both
    for instance in instances:  # each checked its Asterisk's systemname and reconciled
        wait_logged(instance.log, "AMI reconcile: ")
        assert "reconcile skipped" not in instance.log()

    for on, tracker in ((a, 0), (b, 1)):
        since = time.time()
        desk_call(pair, on)
        record = record_on(pair, on.asterisk, since, ended=True)
        assert (record.direction, record.disposition) == ("outbound", "answered")
        assert pair.fleet.decided_by(record.id) == [0]  # the first server of both lists
        assert closed_by(pair, record.id) == [tracker]

    # click-to-call through instance 1: it rings desk1 on its own Asterisk (B)
    fleet = pair.fleet
    call_id, _, _ = fleet.click_to_call_through(b, 1)
    record = fleet.wait_record(lambda r: r.id == call_id and r.ended_at is not None, timeout=15)
    assert (record.asterisk, record.disposition) == (b.asterisk.name, "answered")
    assert closed_by(pair, call_id) == [1]


def reconcile(asterisk: LocalAsterisk, name: str | None, service: MaskingService) -> list[str]:
    """One reconciliation of ``asterisk``, as its tracker runs it, a minute from now (past
    the grace that spares young records)."""

    def later() -> datetime:
        return datetime.now(UTC) + timedelta(minutes=1)

    ahead = MaskingService(service.settings, service.db, service.pool, later)

    async def once() -> list[str]:
        client = AmiClient(
            host="127.0.0.1",
            port=asterisk.ports.ami_port,
            username="masking",
            secret="masking",
            service=ahead,
            track_events=False,
            asterisk=name,
        )
        await client.start()
        try:
            await client.wait_connected(10)
            return await client.reconcile()
        finally:
            await client.close()

    return asyncio.run(once())


def test_a_live_call_is_not_closed_by_the_other_asterisks_reconciliation(pair: Pair) -> None:
    a, b = pair.fleet.e2e, pair.b
    since = time.time()
    failures: list[BaseException] = []

    def talk() -> None:  # 7 s of talk
        try:
            desk_call(pair, b, "desk_uac")
        except BaseException as exc:
            failures.append(exc)

    call = threading.Thread(target=talk)
    call.start()
    try:
        live = record_on(pair, b.asterisk, since, ended=False)
        service = pair.fleet.service
        assert reconcile(a.asterisk, a.asterisk.name, service) == []  # not A's call
        assert reconcile(b.asterisk, b.asterisk.name, service) == []  # alive on B
        current = pair.fleet.wait_record(lambda r: r.id == live.id)
        assert current.ended_at is None
    finally:
        call.join(30)
    assert not failures, failures
    record = pair.fleet.wait_record(lambda r: r.id == live.id and r.ended_at is not None)
    assert record.disposition == "answered"
    assert closed_by(pair, live.id) == [1]
