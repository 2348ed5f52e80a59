"""The service hangs past its deadline, and hostile input from the network: the real
Asterisk with the real dialplan never dials anything but a validated customer through
the carrier, and never shows the customer's number to a site phone."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from agi.server import FastAGIServer
from lab.sipp import SippResult
from masking.calls.contract import CallDecision
from masking.refusals import Refusal
from masking.states import Direction
from tests.support.e2e import CUSTOMER_1, Live, LogMark, denied_desk_call, log_tail
from tests.support.environment import free_tcp_port

pytestmark = pytest.mark.e2e

CUSTOMER_DIGITS = CUSTOMER_1.lstrip("+")


# ---- the service hangs past its deadline --------------------------------------------------
class HangingDesk:
    """A test double for the domain: every question takes 10 s (or until released), then
    would say "dial". Only the server's deadline stands between it and the carrier."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked = threading.Event()

    def _hang(self) -> CallDecision:
        self.asked.set()
        self.release.wait(10)
        return CallDecision(
            call_id="0" * 32,
            action="dial",
            dial_number=CUSTOMER_DIGITS,
            callerid_num="+74951110001",
            callerid_name="Pickup point",
            record_file="late/late.wav",
        )

    def operator_call(self, *, endpoint: str, dialed: str, channel_id: str) -> CallDecision:
        return self._hang()

    def inbound_call(self, *, caller: str, did: str, channel_id: str) -> CallDecision:
        return self._hang()

    def click2call_leg(self, *, call_id: str, channel_id: str) -> CallDecision:
        return self._hang()

    def record_denied(self, *, route: str, channel_id: str, reason: Refusal) -> CallDecision:
        return CallDecision(call_id="0" * 32, action="deny", deny_reason=reason)

    def retried(self, *, direction: Direction, channel_id: str) -> CallDecision | None:
        return None


@pytest.fixture
def hanging_server(live: Live) -> Iterator[tuple[FastAGIServer, HangingDesk]]:
    desk = HangingDesk()
    server = FastAGIServer(desk, "127.0.0.1", free_tcp_port(), request_timeout=1.0)
    live.thread.run(server.start())
    live.e2e.point_dialplan_at(server.port)
    try:
        yield server, desk
    finally:
        live_agi = live.thread.runtime.agi
        assert live_agi is not None
        live.e2e.point_dialplan_at(live_agi.port)
        desk.release.set()
        live.thread.run(server.close(grace=1.0))


def test_service_past_its_deadline_is_unavailable_within_seconds(
    live: Live, hanging_server: tuple[FastAGIServer, HangingDesk]
) -> None:
    e2e = live.e2e
    server, desk = hanging_server
    vn = live.reveal("S1")
    call = denied_desk_call(e2e, vn.lstrip("+"), "desk1")
    assert desk.asked.is_set(), "the hanging desk was never asked"
    assert not call.carrier.invites, "a customer was dialed:\n" + call.carrier.describe()
    assert call.desk.ok, call.desk.describe() + "\n" + log_tail(e2e)
    invites = [m for m in call.desk.sent if m.method == "INVITE"]
    answers = [m for m in call.desk.responses("INVITE") if m.status == 200]
    assert invites and answers, call.desk.describe()
    answered_after = answers[0].timestamp - invites[-1].timestamp
    assert answered_after < 5.0, f"answered after {answered_after:.1f} s"
    assert answered_after >= 0.9, f"answered after {answered_after:.1f} s: before the deadline?"
    assert call.desk.requests("BYE"), "Asterisk did not hang up after the prompt"
    assert "masking/unavailable" in call.log.playbacks(), call.log.playbacks()
    assert not call.log.dials(), call.log.dials()
    assert server.answered >= 1


# ---- hostile dialed strings ---------------------------------------------------------------
def any_desk_call(
    live: Live, dialed: str, username: str = "desk1"
) -> tuple[SippResult, SippResult, LogMark]:
    e2e = live.e2e
    mark = LogMark(e2e)
    desk, carrier = e2e.desk_call("desk_uac_any", dialed, username, timeout=25)
    return desk, carrier, mark


@pytest.mark.parametrize(
    "dialed",
    [
        "123&PJSIP/x%40carrier",  # Dial(PJSIP/123&PJSIP/x@carrier) if it reached Dial()
        "{vn}&PJSIP/desk2",
        "{vn};x=1",
        "{vn}%23",  # the number with a trailing #
        "+{vn}%0D%0AX-Evil:1",  # CR LF into a header
        "{vn}%22)",  # a quote and a parenthesis, for expressions and app arguments
    ],
)
def test_hostile_dialed_string_is_denied_and_nothing_dialed(live: Live, dialed: str) -> None:
    """A string that matches the operator pattern (starts with a digit or +) but holds
    anything else is refused: even when the digits in it are a live temporary number."""
    vn = live.reveal("S1").lstrip("+")
    desk, carrier, mark = any_desk_call(live, dialed.format(vn=vn))
    assert not carrier.invites, "a customer was dialed:\n" + carrier.describe()
    assert desk.ok, desk.describe() + "\n" + log_tail(live.e2e)
    assert not mark.dials(), f"Dial() ran: {mark.dials()}"
    answered = any(m.status == 200 for m in desk.responses("INVITE"))
    if answered:  # the denial context answered: the prompt, then Asterisk hung up
        assert "masking/not-allowed" in mark.playbacks(), mark.playbacks()
        assert desk.requests("BYE"), desk.describe()
    assert "masking-dial-customer" not in mark.text()
    assert not [r for r in live.records() if r.disposition != "denied"], live.records()


# ---- hostile caller ID on inbound -----------------------------------------------------------
def hostile_customer_call(
    live: Live, vn: str, *, from_user: str, display: str
) -> tuple[SippResult, SippResult, LogMark]:
    e2e = live.e2e
    mark = LogMark(e2e)
    customer, phone = e2e.customer_call(
        "customer_uac_named",
        vn.lstrip("+"),
        from_user,
        keys={"from_display": display},
        timeout=25,
    )
    return customer, phone, mark


HOSTILE_NAMES = [
    '"Ivan \\" & PJSIP/desk2@carrier"',  # an escaped quote, &, a dial string
    '"${{SHELL}} $[1+1] ) ; , | <sip:{customer}@x>"',  # expressions, the customer's number
]


@pytest.mark.parametrize("display", HOSTILE_NAMES)
def test_hostile_caller_name_from_the_customer_is_routed_masked(live: Live, display: str) -> None:
    """The real customer calls back with a hostile display name: the call goes only to
    the site phone, which sees the virtual number and the order, nothing of the caller."""
    vn = live.reveal("S1")
    customer, phone, mark = hostile_customer_call(
        live, vn, from_user=CUSTOMER_DIGITS, display=display.format(customer=CUSTOMER_DIGITS)
    )
    assert customer.ok, customer.describe() + "\n" + log_tail(live.e2e)
    [invite] = phone.invites
    sender = invite.header("From") or ""
    assert '"Order S1"' in sender and vn.lstrip("+") in sender, sender
    whole = str(invite) + "\n" + invite.body
    for leaked in (CUSTOMER_DIGITS, "Ivan", "SHELL", "PJSIP/desk2"):
        assert leaked not in whole, f"{leaked!r} reached the site phone:\n{whole}"
    dials = mark.dials()
    assert dials and all(d.startswith("PJSIP/desk1,") for d in dials), dials
    record = live.wait_record(lambda r: r.direction == "inbound" and r.ended_at is not None)
    assert record.disposition == "answered", record.__dict__


@pytest.mark.parametrize(
    ("from_user", "display"),
    [
        ("79005550199&PJSIP/desk2", '"x\\"&PJSIP/desk1"'),  # a stranger with a dial string
        ("%22%0D%0A", '"\\"\\""'),  # no number at all
        ("anonymous", '"Anonymous"'),
    ],
)
def test_hostile_caller_id_from_a_stranger_is_denied(
    live: Live, from_user: str, display: str
) -> None:
    vn = live.reveal("S1")
    customer, phone, mark = hostile_customer_call(live, vn, from_user=from_user, display=display)
    assert not phone.invites, "a site phone rang:\n" + phone.describe()
    assert customer.ok, customer.describe() + "\n" + log_tail(live.e2e)
    assert not mark.dials(), mark.dials()
    assert "masking-dial-customer" not in mark.text()
    record = live.wait_record(lambda r: r.direction == "inbound" and r.disposition == "denied")
    # a CR LF in the caller ID is filtered out by the dialplan before the AGI request
    # (Asterisk would copy it raw into agi_callerid and end the request early)
    assert "masking/expired" in mark.playbacks(), mark.playbacks()
    assert record.deny_reason == "unknown", record.__dict__


# ---- the service is overloaded --------------------------------------------------------------
class OverloadedDesk(HangingDesk):
    """Stands for a service whose admission control refused the request: ``busy``."""

    def operator_call(self, *, endpoint: str, dialed: str, channel_id: str) -> CallDecision:
        self.asked.set()
        return CallDecision(call_id="1" * 32, action="deny", deny_reason=Refusal.BUSY)


def test_overloaded_service_gives_the_phone_busy_not_an_answered_call(live: Live) -> None:
    """The busy prompt as early media, then 486 Busy Here: the desk phone shows a busy
    call it may redial, never an answered one, and nothing is dialed."""
    desk_double = OverloadedDesk()
    server = FastAGIServer(desk_double, "127.0.0.1", free_tcp_port(), request_timeout=1.0)
    live.thread.run(server.start())
    live.e2e.point_dialplan_at(server.port)
    try:
        vn = live.reveal("S1").lstrip("+")
        mark = LogMark(live.e2e)
        desk, carrier = live.e2e.desk_call(
            "desk_uac_rejected", vn, "desk1", password=live.e2e.passwords["desk1"], timeout=15
        )
    finally:
        live_agi = live.thread.runtime.agi
        assert live_agi is not None
        live.e2e.point_dialplan_at(live_agi.port)
        live.thread.run(server.close(grace=1.0))
    assert desk_double.asked.is_set()
    assert desk.ok, desk.describe() + "\n" + log_tail(live.e2e)
    statuses = [m.status for m in desk.responses("INVITE")]
    assert 486 in statuses and 200 not in statuses, statuses
    assert 183 in statuses, statuses  # the prompt came as early media
    assert not carrier.invites, carrier.describe()
    assert "masking/busy,noanswer" in mark.playbacks(), mark.playbacks()
    assert "does not exist in any format" not in mark.text(), mark.text()
    assert not mark.dials(), mark.dials()
