"""Two service instances, separate ``masking serve`` processes on one PostgreSQL and one
Redis, in front of the real Asterisk whose dialplan lists both (MASKING_AGI_SERVERS):
one of them leads (AMI event tracking, timers) and closes every call's record whichever
instance decided or originated it; click-to-call works from the one that does not lead;
with the first killed (-9) the second answers and calls go through, and it takes the
leadership over; with both down calls are denied "unavailable" and nobody is dialed;
an instance restarted by its index serves again (lab.instances)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.support.e2e import E2E, LogMark, assert_denied, denied_desk_call
from tests.support.instances import Fleet, fleet

pytestmark = pytest.mark.e2e

LEADS = "leader duties start"


@pytest.fixture(scope="module")
def two(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with fleet(e2e, tmp_path_factory.mktemp("fleet")) as started:
        yield started


def operator_call(two: Fleet) -> tuple[str, LogMark]:
    """desk1 dials S1's temporary number, the customer answers (nobody got a customer's
    digits: Seeded.masked_desk_call); the call's id (its record closed as answered: by
    the leader's AMI tracker) and the Asterisk log."""
    started = time.time()
    mark = two.masked_desk_call(two.e2e)
    record = two.wait_record(
        lambda r: r.started_at.timestamp() >= started - 1 and r.ended_at is not None, timeout=15
    )
    assert (record.direction, record.disposition) == ("outbound", "answered"), record.__dict__
    return record.id, mark


def test_one_leader_and_click_to_call_from_the_other(two: Fleet) -> None:
    instances = two.instances
    assert instances.leaders() == [0]
    assert LEADS not in instances[1].log()  # tracking and timers run in one process only

    call_id, _ = operator_call(two)
    assert two.decided_by(call_id) == [0]  # the first server of the list

    # click-to-call through the instance that does not lead: it originates over its own
    # AMI connection; the staff leg asks the dialplan's first server; the leader's
    # tracker follows the call to its end
    c2c, _, _ = two.click_to_call_through(two.e2e, 1)
    record = two.wait_record(lambda r: r.id == c2c and r.ended_at is not None, timeout=15)
    assert f"click-to-call {c2c}: ringing staff" in instances[1].log()
    assert f"click-to-call {c2c}: ringing staff" not in instances[0].log()
    assert two.decided_by(c2c) == [0]
    assert (record.direction, record.disposition, record.status) == (
        "click2call",
        "answered",
        "ended",
    )
    assert instances.leaders() == [0]


def test_failover_to_the_next_instance_and_both_down(two: Fleet) -> None:
    instances = two.instances
    killed_at = datetime.now()
    instances.kill(0)  # the leader, and the first server of the list
    assert instances.wait_leader(not_=0) == 1
    [took_over] = [line[:23] for line in instances[1].log().splitlines() if LEADS in line]
    takeover = (datetime.strptime(took_over, "%Y-%m-%d %H:%M:%S,%f") - killed_at).total_seconds()
    print(f"leadership taken over {takeover:.2f} s after the kill")
    assert takeover < 5

    # the dead instance is still first in the list: every call goes past it. (A call that
    # both starts and ends inside the takeover window, before the new leader's tracker
    # logs in, is closed by its reconciliation without knowing it was answered.)
    call_id, mark = operator_call(two)
    assert two.decided_by(call_id) == [1]
    (tried, dead_url), (asked, _) = mark.agi_requests()
    assert dead_url.startswith(f"{instances[0].agi_url}/operator-call?")
    print(f"failover past a killed instance: {(asked - tried).total_seconds() * 1000:.1f} ms")
    assert (asked - tried).total_seconds() < 0.5

    instances.kill(1)
    before = len(two.records())
    call = denied_desk_call(two.e2e, two.reveal("S1").lstrip("+"), "desk1")
    assert_denied(call, two.e2e, "masking/unavailable")
    assert len(call.log.agi_requests()) == 2
    assert len(two.records()) == before

    # back by index: the first server of the list answers again, and leads
    instances.restart(0)
    call_id, _ = operator_call(two)
    assert two.decided_by(call_id) == [0]
    assert instances.leaders() == [0]


def test_the_lab_renders_the_list_for_the_dialplan(two: Fleet) -> None:
    globals_out = two.e2e.asterisk.cli("dialplan show globals")
    assert f"MASKING_AGI_SERVERS={two.instances.agi_servers}" in globals_out
    assert two.instances.agi_servers == ",".join(
        f"agi://127.0.0.1:{i.agi_port}" for i in two.instances
    )
