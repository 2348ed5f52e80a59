"""The dialplan's list of FastAGI servers on the real Asterisk (masking-sub-agi): a server
that refuses the connection, or takes it and dies before answering, is passed over for
the next; a decision whose answer was lost is not made again by the next server; an
answer cut short is never asked again. The service is the in-process one (``live``);
the failing servers are stand-ins for a dying instance (tests/support/agi.py). The
instances as separate processes: test_instances.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from agi import variables as v
from masking.calls.desk import MaskingCallDesk
from tests.support.agi import AnswerLostServer, DroppingAGIServer
from tests.support.e2e import (
    CUSTOMER_1,
    CUSTOMER_2,
    Live,
    LogMark,
    assert_denied,
    denied_desk_call,
)
from tests.support.environment import free_tcp_port
from tests.support.leaks import asterisk_log_leaks, asterisk_log_offsets, log_leaks

pytestmark = pytest.mark.e2e

CUSTOMERS = [CUSTOMER_1, CUSTOMER_2]


def live_port(live: Live) -> int:
    assert live.thread.runtime.agi is not None
    return live.thread.runtime.agi.port


def answered_call(live: Live) -> LogMark:
    """desk1 dials S1's temporary number; the customer answers and talks (nobody got a
    customer's digits: Seeded.masked_desk_call)."""
    mark = live.masked_desk_call(live.e2e)
    live.wait_record(lambda r: r.disposition == "answered" and r.ended_at is not None)
    return mark


@pytest.fixture(autouse=True)
def no_customer_digits_logged(live: Live, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever failed over or was retried: neither the service's log (at the level it
    runs at) nor Asterisk's (but its VERBOSE trace) holds a customer's digits."""
    caplog.set_level(logging.INFO, "masking")
    caplog.set_level(logging.INFO, "agi")
    offsets = asterisk_log_offsets(live.e2e.asterisk)
    yield
    logged = "\n".join(caplog.handler.format(r) for r in caplog.get_records("call"))
    assert "bound +" in logged  # the service's log was read (the reveal, at least)
    leaks = log_leaks(logged, CUSTOMERS) + asterisk_log_leaks(live.e2e.asterisk, CUSTOMERS, offsets)
    assert not leaks, "customer digits logged:\n" + "\n".join(leaks[:20])


@pytest.fixture
def dropping() -> Iterator[DroppingAGIServer]:
    server = DroppingAGIServer()
    yield server
    server.close()


def test_a_refused_server_costs_milliseconds_and_the_next_one_decides(live: Live) -> None:
    dead = free_tcp_port()
    live.e2e.list_agi_servers(dead, live_port(live))
    mark = answered_call(live)
    (asked_dead, dead_url), (asked_live, live_url) = mark.agi_requests()
    assert dead_url.startswith(f"agi://127.0.0.1:{dead}/operator-call?secret=&attempt=1,")
    assert live_url.startswith(f"agi://127.0.0.1:{live_port(live)}/operator-call?")
    assert "&attempt=2,desk1," in live_url
    cost = (asked_live - asked_dead).total_seconds()
    print(f"failover past a refused FastAGI server: {cost * 1000:.1f} ms")
    assert cost < 0.5, f"the refused server cost {cost:.3f} s"


def test_a_server_that_dies_before_answering_is_passed_over(
    live: Live, dropping: DroppingAGIServer
) -> None:
    """Connected, request sent, connection closed with nothing set (AGISTATUS SUCCESS):
    the next server is asked, checks that no decision was made, and decides."""
    live.e2e.list_agi_servers(dropping.port, live_port(live))
    answered_call(live)
    [request] = dropping.requests
    assert request["agi_network_script"].endswith("&attempt=1")
    [record] = live.records()
    assert record.disposition == "answered"


def test_a_decision_whose_answer_was_lost_is_not_made_again(live: Live) -> None:
    """The first server decided "dial" (and stored it) but died before answering: the
    second is asked, finds that decision, closes it and denies; nothing is dialed."""
    losing = AnswerLostServer(MaskingCallDesk(live.service), "127.0.0.1", free_tcp_port())
    live.thread.run(losing.start())
    try:
        live.e2e.list_agi_servers(losing.port, live_port(live))
        vn = live.reveal("S1").lstrip("+")
        call = denied_desk_call(live.e2e, vn, "desk1")
    finally:
        live.thread.run(losing.close(grace=1.0))
    [lost] = losing.lost
    assert lost.action == "dial"
    assert_denied(call, live.e2e, "masking/unavailable")
    [record] = live.records()
    assert (record.id, record.disposition, record.deny_reason) == (
        lost.call_id,
        "denied",
        "unavailable",
    )
    assert len(call.log.agi_requests()) == 2


def test_an_answer_cut_short_is_never_asked_again(live: Live) -> None:
    """The first server set the call id, then the connection dropped: a decision was
    under way, so no second request; MASKING_ACTION is missing: denied unavailable."""
    cut = DroppingAGIServer(partial=((v.CALL_ID, "a" * 32),))
    try:
        live.e2e.list_agi_servers(cut.port, live_port(live))
        vn = live.reveal("S1").lstrip("+")
        call = denied_desk_call(live.e2e, vn, "desk1")
    finally:
        cut.close()
    assert len(cut.requests) == 1
    assert_denied(call, live.e2e, "masking/unavailable")
    assert len(call.log.agi_requests()) == 1, call.log.agi_requests()
    assert not live.records(), "the next server was asked"
