"""A progressive dialing session on the real Asterisk, through the live service's API.

Three orders of a confirmation campaign, for three customers behind the SIPp carrier: the
newest answers and talks (about 12 s), the next never answers (the operator gives up
after a few seconds of ringing), the oldest is busy (486). The operator (employee1, desk
phone desk2, a SIPp that answers) starts a session; the service dials the orders newest
first, one call at a time, and the next call starts only once the operator has written
the note of the last one. Afterwards the answered order can be confirmed, the other two
cannot (409 contact_required), and their next attempt follows the campaign's policy: no
answer -> the next window, busy -> the busy retry in the same window. Every INVITE the
carrier received shows the call's temporary number, never the customer's.

The runtime under test runs on the real clock, so the policy is made to fit "now": the
customers live in a fixed-offset zone where it is 12:xx, and the first window is
10:00-15:00 local.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from lab.sipp import Sipp, SippResult
from masking import accounts
from masking.storage.models import CallRecord, Order, Staff
from tests.support.e2e import MOSCOW, Live, log_tail
from tests.support.leaks import digit_leaks, sip_leaks

pytestmark = pytest.mark.e2e

# newest first: the order of the dials
CUSTOMERS = {
    "E2E-ANSWERS": "+79005550101",
    "E2E-NO-ANSWER": "+79005550102",
    "E2E-BUSY": "+79005550103",
}
DESK_BUSY_ORDER = ("E2E-DESK-BUSY", "+79005550104")
ALL_PHONES = [*CUSTOMERS.values(), DESK_BUSY_ORDER[1]]
TALK = ("carrier_uas", "staff_phone_talks_long_uas")  # the operator hangs up after ~13 s
NO_ANSWER = ("carrier_no_answer_uas", "staff_phone_talks_uas")  # gives up after ~6 s
BUSY = ("carrier_busy_uas", "staff_phone_talks_uas")  # 486; Asterisk hangs the operator up


def customer_zone(now: datetime) -> ZoneInfo:
    """A fixed-offset zone where it is 12:xx now (Etc/GMT-N is UTC+N)."""
    offset = (12 - now.astimezone(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return ZoneInfo(
        "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    )


class Api:
    """One staff member on the live service's API; keeps every answer."""

    def __init__(self, live: Live, login: str) -> None:
        with live.service.db.session() as session:
            token = accounts.issue_token(accounts.get_staff(session, login))
        port = live.thread.runtime.settings.http_port
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        self.answers: list[httpx.Response] = []

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        self.answers.append(response)
        return response

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self(method, path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json()


@pytest.fixture
def staff(live: Live) -> Iterator[tuple[Api, Api]]:
    """(the owner of pvz1, the operator employee1 who may see numbers)"""
    with live.service.db.session() as session:
        employee = session.get(Staff, live.site1.employee_id)
        assert employee is not None
        accounts.set_numbers_visible(employee, True)
    owner, operator = Api(live, "owner1"), Api(live, "employee1")
    yield owner, operator
    for client in (owner, operator):
        client.http.close()
        for response in client.answers:
            assert not digit_leaks(response.text, ALL_PHONES), response.text


def campaign_of(
    owner: Api, customers: dict[str, str], now: datetime, tz: ZoneInfo
) -> tuple[dict[str, int], int]:
    """The shop's orders (the first one the newest) and a campaign over them whose first
    window holds "now" for customers in ``tz``, assigned to employee1 today. Returns
    (order ids by reference, campaign id)."""
    order_ids: dict[str, int] = {}
    for age, (ref, phone) in enumerate(customers.items()):
        body = {
            "source": "shop",
            "order_id": ref,
            "status": "pending",
            "payment_method": "wire_transfer",
            "created_at": (now - timedelta(minutes=5 + 10 * age)).isoformat(),
            "phone": phone,
            "customer_tz": tz.key,
        }
        order_ids[ref] = owner.ok("POST", "/orders", 201, json=body)["id"]
    policy = {
        "windows": [
            {"name": "morning", "start": "10:00", "end": "15:00"},
            {"name": "afternoon", "start": "15:00", "end": "18:00"},
            {"name": "evening", "start": "18:00", "end": "21:00"},
        ],
        "min_gap_minutes": 60,
        "busy_retry_minutes": 10,
    }
    campaign = owner.ok(
        "POST",
        "/campaigns",
        201,
        json={
            "code": "e2e-wire",
            "tz": "Europe/Moscow",
            "payment_methods": ["wire_transfer"],
            "statuses": ["pending"],
            "policy": policy,
        },
    )["id"]
    owner.ok(
        "POST",
        f"/campaigns/{campaign}/assignments",
        201,
        json={"staff": "employee1", "starts_on": datetime.now(MOSCOW).date().isoformat()},
    )
    return order_ids, campaign


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def note_due(operator: Api, session_id: str, done: list[int]) -> dict[str, Any] | None:
    """The session, once the note of an ended call about a new order is due."""
    view: dict[str, Any] = operator.ok("GET", f"/dial-sessions/{session_id}")
    due = view["note_due"]
    return view if due and due["ended_at"] and due["order"] not in done else None


class Phones:
    """The carrier and the operator's desk phone for one call (SIPp, one after the other
    on the same ports)."""

    def __init__(self, live: Live, carrier: str, operator: str) -> None:
        e2e = live.e2e
        self.carrier = Sipp(
            carrier, e2e.workdir / "sipp", port=e2e.carrier_port, rtp_echo=True, timeout=40
        ).start()
        self.operator = Sipp(
            operator, e2e.workdir / "sipp", port=e2e.site_ports["desk2"], timeout=40
        ).start()
        self.carrier.listening()
        self.operator.listening()

    def wait(self, live: Live) -> tuple[SippResult, SippResult]:
        try:
            operator = self.operator.wait(35)
            carrier = self.carrier.wait(10)
        finally:
            self.operator.stop()
            self.carrier.stop()
        assert operator.ok, operator.describe() + "\n" + log_tail(live.e2e)
        assert carrier.ok, carrier.describe() + "\n" + log_tail(live.e2e)
        return operator, carrier


def test_progressive_session_dials_newest_first_note_by_note(
    live: Live, staff: tuple[Api, Api], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "masking")
    caplog.set_level(logging.INFO, "agi")
    began = time.monotonic()
    owner, operator = staff
    now = datetime.now(UTC)
    tz = customer_zone(now)
    local_today = now.astimezone(tz).date()

    order_ids, campaign = campaign_of(owner, CUSTOMERS, now, tz)

    calls: list[tuple[str, SippResult, SippResult, dict[str, Any]]] = []
    session_id = ""
    try:
        for index, (ref, (carrier, desk)) in enumerate(
            zip(CUSTOMERS, (TALK, NO_ANSWER, BUSY), strict=True)
        ):
            phones = Phones(live, carrier, desk)
            if index == 0:
                started = operator.ok("POST", f"/campaigns/{campaign}/sessions", 201)
                session_id = started["id"]
                assert started["state"] == "running"
            else:
                # the note of the last call lets this one start
                operator.ok(
                    "POST", f"/dial-sessions/{session_id}/note", json={"text": f"call {index}"}
                )
            desk_result, carrier_result = phones.wait(live)
            done = [c[3]["order"] for c in calls]
            view = wait_for(
                lambda: note_due(operator, session_id, done),  # noqa: B023 - called at once
                10,
                f"the note of call {index + 1} to be due",
            )
            assert view["current_call"] is None, view
            due = view["note_due"]
            assert due["order"] == order_ids[ref], (ref, due)  # newest first
            calls.append((ref, desk_result, carrier_result, due))
            if index == 0:
                # the note is owed: no next call, however long the operator waits
                time.sleep(2.5)
                assert len(live.records()) == 1, live.records()

        # the last note: nothing is dialable any more, and the session says why
        operator.ok("POST", f"/dial-sessions/{session_id}/note", json={"text": "busy"})
        idle = wait_for(
            lambda: (
                v
                if (v := operator.ok("GET", f"/dial-sessions/{session_id}"))["idle_reason"]
                else None
            ),
            10,
            "the session to say why it waits",
        )
    finally:
        if session_id:
            operator("POST", f"/dial-sessions/{session_id}/stop")

    records = {r.id: r for r in live.records()}
    assert len(records) == 3, records
    answered, unanswered, busy = (records[c[3]["id"]] for c in calls)
    assert answered.disposition == "answered", answered.__dict__
    assert (answered.bridged_seconds or 0) >= 10, answered.__dict__
    assert unanswered.disposition == "no_answer", unanswered.__dict__
    assert busy.disposition == "busy", busy.__dict__
    assert all(r.reason_code == "order_confirmation" and r.staff_id for r in records.values())

    # every carrier INVITE: the customer dialed, showing the call's temporary number
    for ref, desk_result, carrier_result, due in calls:
        record = records[due["id"]]
        assert record.virtual_number
        digits = CUSTOMERS[ref].lstrip("+")
        [invite] = carrier_result.invites
        assert (invite.request_uri or "").startswith(f"sip:{digits}@"), invite
        sender = invite.header("From") or ""
        assert record.virtual_number.lstrip("+") in sender, sender
        assert not digit_leaks(sender, CUSTOMERS.values()), sender
        assert "desk2" not in sender and "employee1" not in sender, sender
        for name in ("P-Asserted-Identity", "Remote-Party-ID", "Contact"):
            assert not digit_leaks(" ".join(invite.header_all(name)), CUSTOMERS.values())
        # the operator's phone never saw a customer's number either
        assert not sip_leaks(desk_result, CUSTOMERS.values()), "customer digits at the desk"

    # the answered order can be confirmed; the two others cannot
    confirmed = operator(
        "POST", f"/orders/{order_ids['E2E-ANSWERS']}/confirm", json={"note": "will pay"}
    )
    assert confirmed.status_code == 200, confirmed.text
    for ref in ("E2E-NO-ANSWER", "E2E-BUSY"):
        refused = operator("POST", f"/orders/{order_ids[ref]}/confirm", json={"note": "yes"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "contact_required", refused.text

    # their next attempts: no answer -> the next window; busy -> 10 min on, same window
    next_window = datetime.combine(local_today, clock_time(15), tz)
    no_answer = operator.ok("GET", f"/orders/{order_ids['E2E-NO-ANSWER']}")["verdict"]
    assert not no_answer["dialable"] and no_answer["window"] == "afternoon", no_answer
    assert datetime.fromisoformat(no_answer["until"]) == next_window, no_answer
    retry = busy.started_at + timedelta(minutes=10)
    busy_verdict = operator.ok("GET", f"/orders/{order_ids['E2E-BUSY']}")["verdict"]
    assert busy_verdict["reason"] == "busy_retry" and busy_verdict["window"] == "morning"
    assert datetime.fromisoformat(busy_verdict["until"]) == retry, busy_verdict
    with live.service.db.session() as session:
        hints = {o.external_ref: o for o in session.scalars(select(Order))}
    assert hints["E2E-NO-ANSWER"].next_at == next_window
    assert hints["E2E-BUSY"].next_at == retry and hints["E2E-BUSY"].wait_reason == "busy_retry"
    assert hints["E2E-ANSWERS"].confirmed_at is not None
    assert all(o.dialing_call_id is None for o in hints.values())
    # the session waited for the busy retry, the soonest (to the minute, rounded up)
    assert idle["idle_reason"] == "busy_retry", idle
    until = datetime.fromisoformat(idle["idle_until"])
    assert retry <= until < retry + timedelta(minutes=1), (idle, retry)

    # the new path leaks the customers' numbers nowhere in the service's log
    log_text = "\n".join(caplog.handler.format(r) for r in caplog.records)
    assert "progressive session" in log_text
    assert not digit_leaks(log_text, CUSTOMERS.values()), "customer digits in the log"
    with live.service.db.session() as session:
        assert session.scalar(select(CallRecord.id).where(CallRecord.ended_at.is_(None))) is None
    elapsed = time.monotonic() - began
    logging.getLogger(__name__).info("progressive e2e: %.1f s", elapsed)
    assert elapsed < 90, f"the session took {elapsed:.0f} s"


def test_operator_phone_busy_is_no_attempt_and_pauses_the_session(
    live: Live, staff: tuple[Api, Api]
) -> None:
    """The operator's own phone is busy (486 to the Originate): the customer is never
    dialed, the order is not attempted and is dialed again at once; after the second miss
    in a row the session pauses, saying why."""
    owner, operator = staff
    now = datetime.now(UTC)
    ref, phone = DESK_BUSY_ORDER
    order_ids, campaign = campaign_of(owner, {ref: phone}, now, customer_zone(now))
    e2e = live.e2e
    carrier = Sipp(
        "carrier_uas", e2e.workdir / "sipp", port=e2e.carrier_port, rtp_echo=True, timeout=20
    ).start()
    desk = Sipp(
        "carrier_busy_uas", e2e.workdir / "sipp", port=e2e.site_ports["desk2"], calls=2, timeout=20
    ).start()
    session_id = ""
    try:
        carrier.listening()
        desk.listening()
        session_id = operator.ok("POST", f"/campaigns/{campaign}/sessions", 201)["id"]
        paused = wait_for(
            lambda: (
                v
                if (v := operator.ok("GET", f"/dial-sessions/{session_id}"))["state"] == "paused"
                else None
            ),
            15,
            "the session to pause",
        )
        desk_result = desk.wait(10)
        time.sleep(0.5)
    finally:
        if session_id:
            operator("POST", f"/dial-sessions/{session_id}/stop")
        desk.stop()
        carrier.stop()
    carrier_result = carrier.result(-1)
    assert desk_result.ok and len(desk_result.invites) == 2, desk_result.describe()
    assert not carrier_result.invites, "a customer was dialed:\n" + carrier_result.describe()
    assert paused["idle_reason"] == "operator_unreachable", paused
    assert paused["note_due"] is None and paused["current_call"] is None, paused
    records = live.records()
    assert len(records) == 2, records
    # (the tracker reads this OriginateResponse as "failed"; the cause is 17, user busy)
    assert all(r.disposition in ("busy", "failed") and r.recording_file is None for r in records), [
        (r.disposition, r.recording_file, r.status, r.hangup_cause) for r in records
    ]
    # no attempt: dialable now, and not yet declinable
    order = operator.ok("GET", f"/orders/{order_ids[ref]}")
    assert order["verdict"]["dialable"] and not order["dialing"], order
    declined = operator("POST", f"/orders/{order_ids[ref]}/decline", json={"note": "no answer"})
    assert declined.status_code == 409, declined.text
    assert declined.json()["error"]["code"] == "attempt_required", declined.text
