"""The customer calls the temporary number back through the carrier: the real service
decides, the real Asterisk rings the site's phone showing the virtual number and the
order, never the customer's number, and records the call; refusals are prompts."""

from __future__ import annotations

import wave

import pytest

from lab.sipp import SippResult
from masking import sites
from tests.support.audio import wait_for_file
from tests.support.e2e import CUSTOMER_1, Live, LogMark, expire_binding, log_tail, moscow_today

pytestmark = pytest.mark.e2e

CUSTOMER_DIGITS = CUSTOMER_1.lstrip("+")
STRANGER = "79005550199"


def customer_calls(
    live: Live, vn: str, *, scenario: str, caller: str = CUSTOMER_DIGITS
) -> tuple[SippResult, SippResult, LogMark]:
    """The customer (SIPp, through the carrier trunk) calls ``vn``; desk1's SIPp answers
    if it rings. Returns (customer, site phone, log since the call)."""
    mark = LogMark(live.e2e)
    customer, phone = live.e2e.customer_call(scenario, vn.lstrip("+"), caller)
    return customer, phone, mark


def test_customer_call_back_rings_the_site_masked_and_is_recorded(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    customer, phone, mark = customer_calls(live, vn, scenario="customer_uac")
    assert customer.ok, customer.describe() + "\n" + log_tail(e2e)
    [invite] = phone.invites
    assert (invite.request_uri or "").startswith("sip:desk1@"), invite.request_uri
    sender = invite.header("From") or ""
    assert f"<sip:{vn.lstrip('+')}@" in sender or f"<sip:{vn}@" in sender, sender
    assert '"Order S1"' in sender, sender
    whole = str(invite) + "\n" + invite.body
    assert CUSTOMER_DIGITS not in whole, whole
    assert CUSTOMER_DIGITS[1:] not in whole, whole  # not even without the country code
    dials = mark.dials()
    assert dials and all(d.startswith("PJSIP/desk1,") for d in dials), dials

    record = live.wait_record(
        lambda r: (
            r.direction == "inbound" and r.ended_at is not None and r.recording_bytes is not None
        ),
        timeout=15,
    )
    assert record.disposition == "answered", record.__dict__
    assert record.answered_at is not None and record.status == "ended"
    assert record.site_id == live.site1.site_id and record.virtual_number == vn
    assert record.recording_file and record.id in record.recording_file
    assert CUSTOMER_DIGITS not in record.recording_file
    assert record.recording_bytes and record.recording_bytes > 44
    path = e2e.asterisk.monitor_dir / record.recording_file
    wait_for_file(path)
    with wave.open(str(path)) as handle:
        assert handle.getnframes() / handle.getframerate() > 2.0


def test_customer_call_back_in_closed_hours_gets_the_prompt(live: Live) -> None:
    vn = live.reveal("S1")
    with live.service.db.session() as session:
        site = sites.get_site(session, "pvz1")
        sites.add_exception(session, site, moscow_today().date(), [], note="e2e: closed")
    customer, phone, mark = customer_calls(live, vn, scenario="customer_uac_denied")
    assert not phone.invites, "a site phone rang:\n" + phone.describe()
    assert customer.ok, customer.describe() + "\n" + log_tail(live.e2e)
    assert customer.requests("BYE")
    assert "masking/closed" in mark.playbacks(), mark.playbacks()
    assert not mark.dials(), mark.dials()
    record = live.wait_record(lambda r: r.direction == "inbound" and r.disposition == "denied")
    assert record.deny_reason == "closed", record.__dict__


def test_stranger_calling_a_number_gets_the_prompt(live: Live) -> None:
    vn = live.reveal("S1")
    customer, phone, mark = customer_calls(
        live, vn, scenario="customer_uac_denied", caller=STRANGER
    )
    assert not phone.invites, "a site phone rang:\n" + phone.describe()
    assert customer.ok, customer.describe() + "\n" + log_tail(live.e2e)
    assert "masking/expired" in mark.playbacks(), mark.playbacks()
    assert not mark.dials(), mark.dials()
    record = live.wait_record(lambda r: r.direction == "inbound" and r.disposition == "denied")
    assert record.deny_reason == "unknown", record.__dict__
    assert record.binding_id is None


def test_customer_calling_an_expired_number_gets_the_prompt(live: Live) -> None:
    vn = live.reveal("S1")
    expire_binding(live, vn)
    customer, phone, mark = customer_calls(live, vn, scenario="customer_uac_denied")
    assert not phone.invites, "a site phone rang:\n" + phone.describe()
    assert customer.ok, customer.describe() + "\n" + log_tail(live.e2e)
    assert "masking/expired" in mark.playbacks(), mark.playbacks()
    assert not mark.dials(), mark.dials()
    record = live.wait_record(lambda r: r.direction == "inbound" and r.disposition == "denied")
    assert record.deny_reason == "expired", record.__dict__
