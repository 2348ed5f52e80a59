"""A hotline call from the DID to the agent's screen, on the real storage: the caller
identified by number (exact, a typo, nobody), the case, the contact and the call record
opened, the decision showing agents a short code and the brand and never the caller's
number; the pop of the agent who answered (masked caller, candidates' orders, never a
name, address or number); the failure paths (the queue unidentified, or a prompt)."""

from __future__ import annotations

import logging
import re
from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlalchemy import select

from masking.calls import call_log
from masking.calls.desk import MaskingCallDesk
from masking.hotline import contacts, hotlines
from masking.hotline.contacts import HotlineDecision, mask_caller
from masking.refusals import Refusal
from masking.service import MaskingService
from masking.shipments import add_shipment
from masking.sites import get_site
from masking.states import CaseKind, CaseStatus, Direction, Disposition, MatchType
from masking.storage.models import CallRecord, Case, CaseEvent, HotlineContact
from tests.support import hotline as support
from tests.support.clock import FakeClock
from tests.support.factories import seed_site
from tests.support.hotline import SeededHotline


@pytest.fixture
def hl(service: MaskingService) -> SeededHotline:
    return support.seed_hotline(service)


def call(service: MaskingService, caller: str, n: int = 1) -> HotlineDecision:
    return contacts.incoming(
        service,
        did=support.DID,
        caller_id=caller,
        channel_id=f"1764500000.{n}",
        linked_id=f"1764500000.{n}",
    )


def row(service: MaskingService, contact_id: str | None) -> HotlineContact:
    with service.db.session() as session:
        contact = session.get(HotlineContact, contact_id)
        assert contact is not None
        return contact


def record(service: MaskingService, call_id: str | None) -> CallRecord:
    with service.db.session() as session:
        found = session.get(CallRecord, call_id)
        assert found is not None
        return found


def answer(service: MaskingService, decision: HotlineDecision, endpoint: str) -> str | None:
    assert decision.call_id is not None
    call_log.mark_answered(service, decision.call_id, service.clock())
    return contacts.agent_answered(
        service,
        call_id=decision.call_id,
        linked_id=None,
        agent_endpoint=endpoint,
        at=service.clock(),
    )


def no_secrets(*texts: str) -> None:
    for text in texts:
        assert not support.secrets_in(text), text


# ---- the call comes in --------------------------------------------------------------------
def test_a_caller_one_digit_off_is_queued_under_a_code(
    service: MaskingService, hl: SeededHotline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    decision = call(service, support.CALLER_TYPO_1)
    assert decision.action == "queue" and decision.queue == "hotline-pvz1"
    assert re.fullmatch(r"[1-9][0-9]{3}", decision.callerid_num), decision
    assert decision.callerid_name == f"Haier {decision.callerid_num}"
    assert decision.record_file and decision.call_id in decision.record_file
    no_secrets(repr(decision), caplog.text)

    contact = row(service, decision.contact_id)
    assert contact.code == decision.callerid_num and contact.hotline_id == hl.hotline_id
    assert contact.match_type == MatchType.TYPO_1
    assert contact.candidates == [{"shipment_id": hl.shipment_id, "distance": 1}]
    assert contact.caller_number == support.digits(support.CALLER_TYPO_1)
    assert contact.agent_id is None and contact.call_id == decision.call_id
    with service.db.session() as session:
        case = session.get(Case, contact.case_id)
        assert case is not None
        assert (case.kind, case.status, case.source) == (CaseKind.IDENTIFICATION, "new", "hotline")
        assert case.external_ref == contact.id and case.site_id == hl.site_id
        assert case.shipment_id is None  # no order until the caller proves one
        no_secrets(case.text)
        events = session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id))
        assert list(events) == ["created"]
    rec = record(service, decision.call_id)
    assert rec.direction == Direction.HOTLINE and rec.reason_code == "hotline_identification"
    assert (rec.site_id, rec.case_id, rec.status) == (hl.site_id, contact.case_id, "ringing_staff")
    assert rec.virtual_number == "+" + support.DID and rec.recording_file == decision.record_file
    assert rec.channel_id == rec.linked_id == "1764500000.1"
    assert rec.disposition == Disposition.IN_PROGRESS


@pytest.mark.parametrize(
    ("caller", "match", "candidates", "number"),
    [
        (support.PHONE, MatchType.EXACT, 1, support.PHONE),
        ("8 701 234 56 78", MatchType.EXACT, 1, support.PHONE),  # the same, written in KZ
        (support.CALLER_TYPO_2, MatchType.TYPO_2, 1, support.CALLER_TYPO_2),
        ("+77779990011", MatchType.NONE, 0, "+77779990011"),
        ("anonymous", MatchType.NONE, 0, ""),
        ("", MatchType.NONE, 0, ""),
        ("7\r\nagi_arg_1: x", MatchType.NONE, 0, ""),
    ],
)
def test_every_caller_reaches_the_queue_with_what_was_found(
    service: MaskingService,
    hl: SeededHotline,
    caller: str,
    match: str,
    candidates: int,
    number: str,
) -> None:
    decision = call(service, caller)
    assert decision.action == "queue" and decision.contact_id is not None
    contact = row(service, decision.contact_id)
    assert contact.match_type == match and len(contact.candidates) == candidates
    assert contact.caller_number == support.digits(number)


def test_codes_differ_among_the_days_contacts(service: MaskingService, hl: SeededHotline) -> None:
    codes = [call(service, support.CALLER_TYPO_1, n).callerid_num for n in range(40)]
    assert len(set(codes)) == 40


def test_an_unknown_or_switched_off_hotline_is_refused_on_record(
    service: MaskingService, hl: SeededHotline
) -> None:
    unknown = contacts.incoming(
        service, did="77270000000", caller_id=support.PHONE, channel_id="c1", linked_id=None
    )
    assert (unknown.action, unknown.refusal, unknown.contact_id) == (
        "prompt",
        Refusal.UNKNOWN,
        None,
    )
    rec = record(service, unknown.call_id)
    assert (rec.direction, rec.disposition, rec.deny_reason) == ("hotline", "denied", "unknown")
    hotlines.set_active(service, support.DID, False)
    off = call(service, support.PHONE)
    assert (off.action, off.refusal) == ("prompt", Refusal.UNKNOWN)
    with service.db.session() as session:
        assert session.scalar(select(HotlineContact.id)) is None


def test_identification_failing_still_queues_the_caller_unidentified(
    service: MaskingService,
    hl: SeededHotline,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"index gone while looking up {support.CALLER_TYPO_1}")

    monkeypatch.setattr(contacts, "identify", broken)
    decision = call(service, support.CALLER_TYPO_1)
    assert decision.action == "queue" and decision.queue == "hotline-pvz1"
    assert (decision.callerid_num, decision.callerid_name) == (support.DID, "Haier")
    assert decision.contact_id is None and decision.record_file
    rec = record(service, decision.call_id)
    assert rec.direction == "hotline" and rec.case_id is None and rec.site_id == hl.site_id
    no_secrets(repr(decision), caplog.text)
    assert "RuntimeError" in caplog.text


def test_identification_failing_with_on_failure_prompt_is_a_prompt(
    service: MaskingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_site(service, "kz2")
    hotlines.add_hotline(
        service, "kz2", "77272000999", brand="TR", queue="tr", region="KZ", on_failure="prompt"
    )
    monkeypatch.setattr(contacts, "identify", lambda *a, **k: 1 / 0)
    decision = contacts.incoming(
        service, did="77272000999", caller_id="+77011112233", channel_id=None, linked_id=None
    )
    assert (decision.action, decision.refusal) == ("prompt", Refusal.UNAVAILABLE)


def test_storage_failing_is_unavailable_never_an_exception(
    service: MaskingService, hl: SeededHotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("database is gone")

    monkeypatch.setattr(contacts, "get_by_did", down)
    decision = call(service, support.PHONE)
    assert (decision.action, decision.refusal) == ("prompt", Refusal.UNAVAILABLE)


# ---- the agent answers --------------------------------------------------------------------
def test_the_agent_who_answered_gets_the_case(service: MaskingService, hl: SeededHotline) -> None:
    decision = call(service, support.CALLER_TYPO_1)
    endpoint = support.agent_endpoint(service, hl.agent_id)
    assert answer(service, decision, endpoint) == decision.contact_id
    # the same report again (AMI events repeat after a reconnect): nothing changes
    assert answer(service, decision, endpoint) == decision.contact_id
    contact = row(service, decision.contact_id)
    assert contact.agent_id == hl.agent_id and contact.answered_at is not None
    rec = record(service, decision.call_id)
    assert (rec.staff_id, rec.endpoint, rec.status) == (hl.agent_id, endpoint, "connected")
    with service.db.session() as session:
        case = session.get(Case, contact.case_id)
        assert case is not None
        assert (case.assignee_id, case.status) == (hl.agent_id, CaseStatus.IN_PROGRESS)
        actions = list(
            session.scalars(
                select(CaseEvent.action).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        )
        assert actions == ["created", "assigned", "status"]


def test_the_contact_is_found_by_the_linked_id_too(
    service: MaskingService, hl: SeededHotline
) -> None:
    decision = call(service, support.CALLER_TYPO_1, n=7)
    found = contacts.agent_answered(
        service,
        call_id=None,
        linked_id="1764500000.7",
        agent_endpoint=support.agent_endpoint(service, hl.agent_id),
        at=service.clock(),
    )
    assert found == decision.contact_id


def test_no_pop_for_other_calls_or_phones(service: MaskingService, hl: SeededHotline) -> None:
    decision = call(service, support.CALLER_TYPO_1)
    # a phone of nobody, a malformed name, another site's staff member
    seed_site(service, "other")
    for endpoint in ("nobody-desk", "bad name", "other-desk3"):
        assert answer(service, decision, endpoint) is None
    assert row(service, decision.contact_id).agent_id is None
    # an inbound call back answered by a site phone is no hotline contact
    inbound = MaskingCallDesk(service).inbound_call(
        caller=support.PHONE, did="74950000001", channel_id="x.1"
    )
    assert (
        contacts.agent_answered(
            service,
            call_id=inbound.call_id,
            linked_id="x.1",
            agent_endpoint=support.agent_endpoint(service, hl.agent_id),
            at=service.clock(),
        )
        is None
    )


# ---- the agent's screen ---------------------------------------------------------------------
def test_the_pop_shows_the_match_and_orders_never_the_customer(
    service: MaskingService, hl: SeededHotline, clock: FakeClock
) -> None:
    assert contacts.current_pop(service, hl.agent_id) is None
    decision = call(service, support.CALLER_TYPO_1)
    assert contacts.current_pop(service, hl.agent_id) is None  # ringing: nobody answered
    answer(service, decision, support.agent_endpoint(service, hl.agent_id))
    pop = contacts.current_pop(service, hl.agent_id)
    assert pop is not None
    assert (pop.contact_id, pop.code, pop.brand) == (
        decision.contact_id,
        decision.callerid_num,
        "Haier",
    )
    assert (pop.match_type, pop.ambiguous, pop.live, pop.identified) == (
        "typo_1",
        False,
        True,
        False,
    )
    assert pop.caller_masked == "+7 7** *** **79"
    assert pop.support_email == support.SUPPORT_EMAIL
    assert pop.candidates == (
        {
            "shipment_id": hl.shipment_id,
            "distance": 1,
            "orders": [
                {
                    "ref": support.ORDER,
                    "status": "pending_payment",
                    "model": support.MODEL,
                    "store": support.STORE,
                }
            ],
        },
    )
    no_secrets(repr(pop), str(asdict(pop)))
    # only the agent who answered sees it
    assert contacts.current_pop(service, hl.other_agent_id) is None

    # the call ends: kept for the wrap-up, then gone
    clock.advance(seconds=40)
    assert decision.call_id is not None
    call_log.mark_ended(service, decision.call_id, clock.now, hangup_cause=16)
    clock.advance(minutes=9)
    ended = contacts.current_pop(service, hl.agent_id)
    assert ended is not None and not ended.live
    clock.advance(minutes=2)
    assert contacts.current_pop(service, hl.agent_id) is None


def test_the_pop_is_the_latest_answered_call(
    service: MaskingService, hl: SeededHotline, clock: FakeClock
) -> None:
    endpoint = support.agent_endpoint(service, hl.agent_id)
    first = call(service, support.CALLER_TYPO_1, 1)
    answer(service, first, endpoint)
    clock.advance(minutes=3)
    second = call(service, support.PHONE, 2)
    answer(service, second, endpoint)
    pop = contacts.current_pop(service, hl.agent_id)
    assert pop is not None and pop.contact_id == second.contact_id and pop.match_type == "exact"


def test_two_customers_one_digit_off_are_ambiguous(
    service: MaskingService, hl: SeededHotline
) -> None:
    with service.db.session() as session:
        add_shipment(session, get_site(session, "pvz1"), "S-TWIN", "+77012345670")
    decision = call(service, support.CALLER_TYPO_1)
    answer(service, decision, support.agent_endpoint(service, hl.agent_id))
    pop = contacts.current_pop(service, hl.agent_id)
    assert pop is not None and pop.match_type == "typo_1" and pop.ambiguous
    refs = [c["orders"][0]["ref"] for c in pop.candidates]
    assert sorted(refs) == sorted([support.ORDER, "S-TWIN"])
    twin = next(c for c in pop.candidates if c["orders"][0]["ref"] == "S-TWIN")
    assert twin["orders"][0]["status"] == "at_pickup_point" and twin["orders"][0]["model"] == ""


def test_a_caller_matching_nobody_pops_with_no_candidates(
    service: MaskingService, hl: SeededHotline
) -> None:
    decision = call(service, "anonymous")
    answer(service, decision, support.agent_endpoint(service, hl.agent_id))
    pop = contacts.current_pop(service, hl.agent_id)
    assert pop is not None
    assert (pop.match_type, pop.candidates, pop.caller_masked) == ("none", (), None)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+77012345679", "+7 7** *** **79"),
        ("77012345679", "+7 7** *** **79"),
        ("+79161234567", "+7 9** *** **67"),
        ("+442079460958", "+44 2** *** **58"),
        (None, None),
        ("", None),
        ("+999", None),
    ],
)
def test_mask_caller(number: str | None, masked: str | None) -> None:
    assert mask_caller(number) == masked


def test_the_days_codes_leave_room(
    service: MaskingService, hl: SeededHotline, clock: FakeClock
) -> None:
    first = call(service, support.PHONE, 1)
    clock.advance(days=1, seconds=1)
    later = [call(service, support.PHONE, n).callerid_num for n in range(2, 12)]
    assert all(len(code) == 4 for code in [first.callerid_num, *later])
    assert timedelta(days=1) == contacts.CODE_UNIQUE_FOR


def test_the_case_closes_by_itself_when_the_call_ends(
    service: MaskingService, hl: SeededHotline
) -> None:
    """An answered hotline call that ends resolves its case (automatic, audited, sent out);
    a caller who hangs up in the queue leaves it not resolved."""
    answered = support.contact(service, hl, support.CALLER_TYPO_1)
    assert answered.call_id is not None
    call_log.mark_ended(service, answered.call_id, service.clock(), dial_status="ANSWER")
    abandoned = call(service, support.CALLER_TYPO_1)
    assert abandoned.call_id is not None
    call_log.mark_ended(service, abandoned.call_id, service.clock(), dial_status="NOANSWER")
    with service.db.session() as session:
        handled = session.get(Case, answered.case_id)
        contact = row(service, abandoned.contact_id or "")
        gave_up = session.get(Case, contact.case_id)
        assert handled is not None and gave_up is not None
        assert (handled.status, handled.closed_automatically) == (CaseStatus.RESOLVED, True)
        assert (gave_up.status, gave_up.closed_automatically) == (CaseStatus.NOT_RESOLVED, True)
        details = set(
            session.scalars(
                select(CaseEvent.detail).where(
                    CaseEvent.case_id.in_([handled.id, gave_up.id]), CaseEvent.action == "status"
                )
            )
        )
        assert {"call_handled", "call_abandoned"} <= details
    # the end reported again (AMI repeats after a reconnect): nothing more happens
    assert not call_log.mark_ended(service, answered.call_id, service.clock())
