"""Verifying a hotline caller without revealing them (seed 004): the comparisons
(normalised for case, ё/е, punctuation, Latin/Cyrillic spellings, name parts in any
order; close for a small typo or a missing part, never for a wrong word), and the use
cases on the real storage: tries limited and audited with the results only, full
identification before any change, the voice flag, the typo case correcting the order's
number (revoking its temporary number), an order awaiting confirmation confirmed with the
hotline call as the evidence, cancel / change requests sent out. No answer, audit detail,
note of the service or log line carries the customer's name, address or number."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from masking.calls import call_log
from masking.cases.rules import RuleBroken
from masking.hotline import verify
from masking.hotline.identify import identify
from masking.hotline.verify import compare, normalise
from masking.numbers import bindings
from masking.service import MaskingService
from masking.states import CaseStatus, Disposition, FieldMatch, MatchType
from masking.storage.models import (
    Binding,
    Case,
    CaseEvent,
    HotlineContact,
    Order,
    OutboxEvent,
    Shipment,
)
from tests.support import hotline as support
from tests.support.clock import FakeClock

M, C, N = FieldMatch.MATCH, FieldMatch.CLOSE, FieldMatch.NO_MATCH


# ---- normalising -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("  ИВАНОВ,  Пётр ", "иванов петр"),
        ("Ёлкина", "Елкина"),
        ("Ivanov", "Иванов"),
        ("IVANOW", "Иванов"),
        ("Shcherbakov", "Щербаков"),
        ("Scherbakov", "Щербаков"),
        ("Khabarova", "Хабарова"),
        ("Yulia", "Юлия"),
        ("Julia", "Юлия"),
        ("Yuliya", "Юлия"),
        ("Evgeniy", "Евгений"),
        ("Yevgeny", "Евгений"),
        ("Fyodor", "Фёдор"),
        ("Afanasyev", "Афанасьев"),
        ("Mariya", "Мария"),
        ("Anna", "Анна"),
        ("Tsoy", "Цой"),
        ("Zhukov", "Жуков"),
        ("Nursultan", "Нұрсұлтан"),
        ("Oleksandr", "Олександр"),
        ("Žukov", "Жуков"),
        ("Алматы", "Almaty"),
        ("Усть-Каменогорск", "усть каменогорск"),
    ],
)
def test_spellings_that_differ_only_in_writing_normalise_alike(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


def test_normalise_keeps_digits_and_drops_punctuation() -> None:
    assert normalise("№ PVZ1-00011") == normalise("pvz1 00011") == "pvz1 00011"
    assert normalise("!!!  ") == ""
    assert normalise("Петров") != normalise("Иванов")


# ---- comparing ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "stored", "result"),
    [
        ("Иванов Иван", "Иван Иванов", M),  # parts in another order
        ("ivan ivanov", "Иванов Иван", M),  # Latin for Cyrillic
        ("Иванов Иван Петрович", "Иван Иванов", M),  # a patronymic the order lacks
        ("ИВАНОВ иван пётр", "Иванов Иван Петр", M),
        ("Иван Иванов", "Иванов Иван Петрович", C),  # one part not said
        ("Иванов", "Иван Иванов", C),
        ("Иванов Иавн", "Иванов Иван", C),  # a transposition in one part
        ("Иванова", "Иванов", C),
        ("Петров Иван", "Иванов Иван", N),  # a wrong surname is no "close"
        ("Петров", "Иванов", N),
        ("Сидоров Пётр", "Иванов Иван", N),
        ("", "Иванов Иван", N),
        ("Иванов Иван", "", N),  # nothing stored: nothing to match
    ],
)
def test_names(said: str, stored: str, result: FieldMatch) -> None:
    assert compare("name", said, stored) is result


@pytest.mark.parametrize(
    ("field", "said", "stored", "result"),
    [
        ("city", "Алматы", "г. Алматы", M),
        ("city", "almaty", "Алматы", M),
        ("city", "город Усть-Каменогорск", "Усть-Каменогорск", M),
        ("city", "Алмааты", "Алматы", M),  # double letters count once
        ("city", "Астана", "Алматы", N),
        ("city", "Караганды", "Караганда", C),
        ("address", "Абая 10 квартира 5", "ул. Абая, д. 10, кв. 5", M),
        ("address", "улица Абая дом 10", "ул. Абая, д. 10, кв. 5", C),  # the flat not said
        ("address", "Абая 12, кв. 5", "ул. Абая, д. 10, кв. 5", N),  # a wrong house number
        ("order", "№ 100042", "100042", M),
        ("order", "ПВЗ1-00011", "PVZ1-00011", M),
        ("order", "100043", "100042", C),
        ("order", "AB-100", "ABB-100", C),  # a letter more: not the same, ask again
        ("order", "abb 100", "ABB-100", M),
        ("order", "100024", "100042", C),  # two digits swapped
        ("order", "4", "5", N),
        ("order", "100", "100042", N),
        ("order", "", "100042", N),
    ],
)
def test_places_and_order_numbers(field: str, said: str, stored: str, result: FieldMatch) -> None:
    assert compare(field, said, stored) is result


def test_compare_refuses_an_unknown_field() -> None:
    with pytest.raises(ValueError):
        compare("phone", "1", "1")


def test_full_identification_needs_name_order_and_city_or_address() -> None:
    assert verify.identified_by({"name": M, "order": M, "city": M})
    assert verify.identified_by({"name": M, "order": M, "address": M, "city": N})
    assert not verify.identified_by({"name": M, "order": M, "city": C})
    assert not verify.identified_by({"name": M, "city": M, "address": M})
    assert not verify.identified_by({"name": C, "order": M, "city": M})


def test_distance_counts_transpositions_and_stops_early() -> None:
    assert verify.distance("abcd", "abdc") == 1
    assert verify.distance("abcd", "abcd") == 0
    assert verify.distance("abcdef", "badcfe", 2) == 3
    assert verify.distance("a", "abcdefgh", 2) == 3


# ---- the use cases ---------------------------------------------------------------------------
SAID_RIGHT = {"name": "Anna Ivanova", "order": support.ORDER, "city": "Ust-Kamenogorsk"}


def secrets_in(text: str) -> list[str]:
    return support.secrets_in(text)


def audit_text(service: MaskingService, case_id: str) -> str:
    with service.db.session() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))
        return "\n".join(f"{e.action} {e.detail}" for e in events)


def test_tries_are_limited_and_audited_with_results_only(
    service: MaskingService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    hl = support.seed_hotline(service)
    contact = support.contact(service, hl, support.CALLER_TYPO_1)
    wrong = {"name": "Петрова Анна", "order": support.ORDER, "city": "Астана"}
    first = verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=wrong)
    assert first == {"name": N, "order": M, "city": N}
    second = verify.verify(
        service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said={"name": "Иванова"}
    )
    assert second == {"name": C}
    third = verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=wrong)
    assert third["city"] is N
    with pytest.raises(RuleBroken) as exhausted:
        verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT)
    assert exhausted.value.rule == "tries_exhausted"
    with service.db.session() as session:
        row = session.get(HotlineContact, contact.id)
        assert row is not None
        assert row.tries == 3 and row.identified_at is None and row.shipment_id is None
    audit = audit_text(service, contact.case_id)
    assert audit.count("verify order") == 3 and "tries_exhausted" in audit
    assert "name=no_match, order=match, city=no_match; try 1 of 3" in audit
    assert not secrets_in(audit) and not secrets_in(caplog.text)
    assert "Петрова" not in audit and "Астана" not in audit  # nor what was said


def test_identified_caller_opens_the_order_and_corrects_the_number(
    service: MaskingService, caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    caplog.set_level(logging.INFO)
    hl = support.seed_hotline(service, pool=3)
    # the order's temporary number is live: the typo fix must revoke it
    binding = support.reveal(service, hl)
    contact = support.contact(service, hl, support.CALLER_TYPO_1)
    with pytest.raises(RuleBroken) as early:
        verify.open_for_changes(service, contact.id, hl.agent_id)
    assert early.value.rule == "not_identified"
    with pytest.raises(RuleBroken) as other:
        verify.verify(
            service, contact.id, hl.other_agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT
        )
    assert other.value.rule == "not_your_contact"
    results = verify.verify(
        service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT
    )
    assert results == {"name": M, "order": M, "city": M}
    view = verify.open_for_changes(service, contact.id, hl.agent_id)
    assert view.order == support.ORDER and view.model == support.MODEL
    assert view.store == support.STORE and view.awaiting_confirmation
    verify.correct_number(service, contact.id, hl.agent_id, "номер в заказе с опечаткой")
    with service.db.session() as session:
        shipment = session.get(Shipment, hl.shipment_id)
        assert shipment is not None and shipment.customer_phone == support.CALLER_TYPO_1
        revoked = session.get(Binding, binding)
        assert revoked is not None and revoked.revoked_at == clock.now
        event = session.scalar(
            select(OutboxEvent).where(OutboxEvent.type == verify.NUMBER_CORRECTED)
        )
        assert event is not None and event.payload["order"] == support.ORDER
    assert (
        bindings.for_customer(service, support.PHONE, support.virtual_of(service, binding)) is None
    )
    # the typo index followed the change: the caller's number is now the order's
    with service.db.session() as session:
        found = identify(session, site_id=hl.site_id, caller_id=support.CALLER_TYPO_1, region="KZ")
        assert found.match_type == MatchType.EXACT
        assert [c.shipment_id for c in found.candidates] == [hl.shipment_id]
        again = identify(session, site_id=hl.site_id, caller_id=support.PHONE, region="KZ")
        assert again.match_type == MatchType.TYPO_1
    audit = audit_text(service, contact.case_id)
    assert "identified order" in audit and "number_corrected" in audit and "typo_1" in audit
    assert not secrets_in(audit) and not secrets_in(caplog.text)
    # the old and the new number: never in the log
    for number in (support.PHONE, support.CALLER_TYPO_1):
        assert number[2:] not in caplog.text


def test_correcting_needs_a_typo_match(service: MaskingService) -> None:
    hl = support.seed_hotline(service)
    contact = support.contact(service, hl, support.PHONE)
    verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT)
    with pytest.raises(RuleBroken) as refused:
        verify.correct_number(service, contact.id, hl.agent_id, "")
    assert refused.value.rule == "not_a_typo"


def test_voice_mismatch_blocks_every_change(service: MaskingService) -> None:
    hl = support.seed_hotline(service)
    contact = support.contact(service, hl, support.CALLER_TYPO_1)
    verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT)
    verify.flag_voice_mismatch(service, contact.id, hl.agent_id, "мужской голос, в заказе — Анна")
    for action in (
        lambda: verify.open_for_changes(service, contact.id, hl.agent_id),
        lambda: verify.correct_number(service, contact.id, hl.agent_id, "x"),
        lambda: verify.confirm_order(service, contact.id, hl.agent_id, "x"),
        lambda: verify.cancel_order(service, contact.id, hl.agent_id, "x"),
        lambda: verify.request_change(service, contact.id, hl.agent_id, "change", "x"),
    ):
        with pytest.raises(RuleBroken) as refused:
            action()
        assert refused.value.rule == "voice_mismatch"
        assert "must call" in str(refused.value)
    assert "voice_mismatch" in audit_text(service, contact.case_id)


def test_an_order_awaiting_confirmation_is_confirmed_with_the_hotline_call(
    service: MaskingService, clock: FakeClock
) -> None:
    hl = support.seed_hotline(service)
    contact = support.contact(service, hl, support.PHONE)
    verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT)
    clock.advance(seconds=5)  # answered 5 s ago: not yet a conversation that counts
    with pytest.raises(RuleBroken) as short:
        verify.confirm_order(service, contact.id, hl.agent_id, "подтвердил заказ")
    assert short.value.rule == "contact_required"
    clock.advance(seconds=40)  # the call is still up, 45 s since it was answered
    verify.confirm_order(service, contact.id, hl.agent_id, "подтвердил заказ")
    with service.db.session() as session:
        order = session.scalar(select(Order).where(Order.shipment_id == hl.shipment_id))
        assert order is not None and order.confirmed_at == clock.now
        assert order.wait_reason == "done"
        case = session.get(Case, order.case_id)
        assert case is not None and case.status == CaseStatus.CONFIRMED
    with pytest.raises(RuleBroken) as again:
        verify.confirm_order(service, contact.id, hl.agent_id, "ещё раз")
    assert again.value.rule == "not_awaiting_confirmation"
    assert "order_confirmed" in audit_text(service, contact.case_id)


def test_an_ended_call_counts_as_it_ended_and_verify_needs_the_call_up(
    service: MaskingService, clock: FakeClock
) -> None:
    hl = support.seed_hotline(service)
    contact = support.contact(service, hl, support.PHONE)
    verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT)
    assert contact.call_id is not None
    call_log.mark_ended(
        service, contact.call_id, clock.now + timedelta(seconds=60), Disposition.ANSWERED
    )
    clock.advance(seconds=90)
    with pytest.raises(RuleBroken) as ended:
        verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT)
    assert ended.value.rule == "call_ended"
    verify.confirm_order(service, contact.id, hl.agent_id, "подтвердил")  # 65 s answered
    clock.advance(minutes=15)
    with pytest.raises(RuleBroken) as late:
        verify.add_note(service, contact.id, hl.agent_id, "потом")
    assert late.value.rule == "call_ended"


def test_cancel_and_change_requests_go_out_with_the_note(service: MaskingService) -> None:
    hl = support.seed_hotline(service)
    contact = support.contact(service, hl, support.PHONE)
    with pytest.raises(RuleBroken):
        verify.cancel_order(service, contact.id, hl.agent_id, "передумал")
    verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT)
    with pytest.raises(RuleBroken) as no_note:
        verify.cancel_order(service, contact.id, hl.agent_id, " ")
    assert no_note.value.rule == "note_required"
    verify.cancel_order(service, contact.id, hl.agent_id, "передумал покупать")
    verify.request_change(service, contact.id, hl.agent_id, "change", "доставка на пятницу")
    with service.db.session() as session:
        events = list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)))
        types = [e.type for e in events]
        assert verify.CANCEL_REQUESTED in types and verify.CHANGE_REQUESTED in types
        for event in events:
            assert not secrets_in(str(event.payload))
    audit = audit_text(service, contact.case_id)
    assert "cancel_requested" in audit and "change_requested" in audit


def test_only_candidates_are_verified_and_the_light_path_finds_any_order(
    service: MaskingService,
) -> None:
    hl = support.seed_hotline(service)
    contact = support.contact(service, hl, "+77019999999")
    assert support.match_of(service, contact.id) == (MatchType.NONE, [])
    with pytest.raises(RuleBroken) as refused:
        verify.verify(service, contact.id, hl.agent_id, shipment_id=hl.shipment_id, said=SAID_RIGHT)
    assert refused.value.rule == "not_a_candidate"
    found = verify.find_order(service, contact.id, hl.agent_id, support.ORDER)
    assert found is not None and found.model == support.MODEL and found.store == support.STORE
    assert verify.find_order(service, contact.id, hl.agent_id, "NOPE-1") is None
    assert not secrets_in(repr(found))
