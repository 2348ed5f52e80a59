"""Appeals on the real Asterisk, through the live service's HTTP API: an appeal arrives,
staff press Call, the desk phone and then the customer (through the carrier, masked) are
rung; AMI's outcome of that attempt decides which status the rules accept."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lab.sipp import Sipp, SippResult
from masking import accounts
from masking.storage.models import CallRecord, OutboxEvent
from tests.support.appeals import api_body
from tests.support.e2e import CUSTOMER_1, Live, log_tail
from tests.support.leaks import digit_leaks, sip_leaks

pytestmark = pytest.mark.e2e

CUSTOMER_DIGITS = CUSTOMER_1.lstrip("+")


class Console:
    """The owner of pvz1 (desk1) on the live service's API; keeps every answer."""

    def __init__(self, live: Live) -> None:
        with live.service.db.session() as session:
            token = accounts.issue_token(accounts.get_staff(session, "owner1"))
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

    def status(self, case_id: str, status: str, note: str) -> httpx.Response:
        return self("PUT", f"/appeals/{case_id}/status", json={"status": status, "note": note})


@pytest.fixture
def console(live: Live) -> Iterator[Console]:
    client = Console(live)
    yield client
    client.http.close()
    for response in client.answers:
        assert CUSTOMER_DIGITS[1:] not in response.text, response.text


def call_about(
    live: Live, console: Console, ref: str, carrier_scenario: str, staff_scenario: str
) -> tuple[str, dict[str, Any], SippResult, SippResult, CallRecord]:
    """Receive appeal ``ref`` about order S1, press Call, let the phones play their
    scenarios; returns (appeal id, the call as the API gave it, staff phone, carrier,
    the ended call record)."""
    received = console("POST", "/appeals", json=api_body(ref, order="S1", channel="call"))
    assert received.status_code == 201, received.text
    case_id = received.json()["id"]
    e2e = live.e2e
    carrier = Sipp(
        carrier_scenario, e2e.workdir / "sipp", port=e2e.carrier_port, rtp_echo=True, timeout=40
    ).start()
    staff = Sipp(
        staff_scenario, e2e.workdir / "sipp", port=e2e.site_ports["desk1"], timeout=40
    ).start()
    try:
        carrier.listening()
        staff.listening()
        pressed = console("POST", f"/appeals/{case_id}/calls", headers={"Idempotency-Key": ref})
        assert pressed.status_code == 201, pressed.text
        call = pressed.json()
        staff_result = staff.wait(35)
        carrier_result = carrier.wait(10)
        record = live.wait_record(
            lambda r: r.id == call["id"] and r.ended_at is not None and r.disposition != "",
            timeout=10,
        )
    finally:
        staff.stop()
        carrier.stop()
    assert staff_result.ok, staff_result.describe() + "\n" + log_tail(e2e)
    assert carrier_result.ok, carrier_result.describe() + "\n" + log_tail(e2e)
    # the carrier saw only the temporary number, never the staff's phone or login
    virtual = call["temporary_number"].lstrip("+")
    assert carrier_result.invites
    for invite in carrier_result.invites:
        sender = invite.header("From") or ""
        assert virtual in sender and "desk1" not in sender and "owner1" not in sender, sender
        assert (invite.request_uri or "").startswith(f"sip:{CUSTOMER_DIGITS}@")
    assert record.case_id == case_id and record.reason_code == "appeal_callback"
    return case_id, call, staff_result, carrier_result, record


def test_answered_call_of_12_s_lets_staff_resolve_the_appeal(
    live: Live, console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "masking")
    caplog.set_level(logging.INFO, "agi")
    case_id, call, staff_result, _, record = call_about(
        live, console, "E2E-1", "carrier_uas", "staff_phone_talks_long_uas"
    )
    assert record.disposition == "answered", record.__dict__
    assert record.bridged_seconds is not None and record.bridged_seconds >= 10, record.__dict__
    appeal = console("GET", f"/appeals/{case_id}").json()
    assert appeal["status"] == "in_progress" and appeal["first_attempt_at"]
    [attempt] = appeal["attempts"]
    assert attempt["call_id"] == call["id"] and attempt["disposition"] == "answered"
    assert attempt["bridged_seconds"] >= 10
    refused = console.status(case_id, "resolved", " ")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "note_required"
    resolved = console.status(case_id, "resolved", "explained the delivery date")
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"

    # the new call path leaks the customer nowhere: the desk phone's SIP messages, the
    # service's log, the events the upstream system receives
    assert not sip_leaks(staff_result, [CUSTOMER_1]), "customer digits at the desk phone"
    log_text = "\n".join(caplog.handler.format(r) for r in caplog.records)
    assert "masking" in log_text
    assert not digit_leaks(log_text, [CUSTOMER_1]), "customer digits in the service's log"
    with live.service.db.session() as session:
        events = [e.payload for e in session.scalars(select(OutboxEvent))]
    assert [e["status"] for e in events if e["case_id"] == case_id][-1] == "resolved"
    assert not digit_leaks(json.dumps(events), [CUSTOMER_1]), "customer digits in events out"


def test_unanswered_call_refuses_resolved_and_allows_not_resolved(
    live: Live, console: Console
) -> None:
    case_id, _, _, _, record = call_about(
        live, console, "E2E-2", "carrier_busy_uas", "staff_phone_talks_uas"
    )
    assert record.disposition != "answered" and not record.bridged_seconds, record.__dict__
    refused = console.status(case_id, "resolved", "talked to the buyer")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "contact_required"
    closed = console.status(case_id, "not_resolved", "the buyer's line was busy")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "not_resolved"
