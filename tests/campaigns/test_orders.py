"""Orders in (one by one and CSV, idempotent, a phone correction revokes the live number),
and what people do with an order: confirm only after a real conversation, decline after
an attempt, a callback, the payment details again. Real SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from masking.calls import call_log
from masking.campaigns import orders, worklist
from masking.cases.rules import RuleBroken
from masking.numbers import bindings
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.shapes import AdminError
from masking.states import CaseKind, CaseStatus, Disposition, WaitReason
from masking.storage.models import (
    Binding,
    CallRecord,
    Case,
    CaseEvent,
    CaseNote,
    Order,
    OutboxEvent,
    Shipment,
)
from tests.support.clock import FakeClock
from tests.support.orders import (
    SITE,
    SOURCE,
    call,
    customer_leg,
    incoming,
    order_row,
    phone,
    place,
    seed_campaign,
)


def count(service: MaskingService, model: type) -> int:
    with service.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_order_arrives_with_its_shipment_and_confirmation_case(
    service: MaskingService, clock: FakeClock
) -> None:
    seed_campaign(service)
    at = clock.now - timedelta(hours=2)
    order_id, created = orders.upsert_order(service, SITE, incoming("O-1", at))
    assert created
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        shipment = session.get(Shipment, order.shipment_id)
        case = session.get(Case, order.case_id)
        assert shipment is not None and case is not None
        assert (shipment.external_number, shipment.customer_phone) == ("O-1", phone(1))
        assert (case.kind, case.status, case.source, case.external_ref) == (
            CaseKind.CONFIRMATION,
            CaseStatus.NEW,
            SOURCE,
            "O-1",
        )
        assert case.received_at == at
        assert (order.status, order.payment_method, order.store) == (
            "pending_payment",
            "wire_transfer",
            "Country stores",
        )
        assert order.customer_tz == "Europe/Moscow"  # empty: the site's zone
        # 12:00 in Moscow: dialable now (the afternoon window), as far as the hint knows
        assert (order.next_at, order.wait_reason) == (None, None)
        actions = session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id))
        assert list(actions) == ["created"]


def test_the_same_order_again_changes_nothing(service: MaskingService, clock: FakeClock) -> None:
    seed_campaign(service)
    order_id = place(service, "O-1")
    before = order_row(service, order_id)
    clock.advance(minutes=5)
    again = orders.upsert_order(
        service, SITE, incoming("O-1", before.created_at, customer_phone="8 916 000-00-01")
    )
    assert again == (order_id, False)
    after = order_row(service, order_id)
    assert after.updated_at == before.updated_at
    assert (count(service, Order), count(service, Case), count(service, CaseEvent)) == (1, 1, 1)
    # a known order may come without the number; a changed status is taken
    orders.upsert_order(
        service,
        SITE,
        incoming("O-1", before.created_at, customer_phone=None, status="Pending"),
    )
    updated = order_row(service, order_id)
    assert (updated.status, updated.updated_at) == ("pending", clock.now)


def test_a_changed_phone_revokes_the_live_temporary_number(
    service: MaskingService, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1")
    revealed = reveal_number(
        service, staff_id=cw.world.owner_id, shipment_number="O-1", reason="order_confirmation"
    )
    caplog.set_level(logging.INFO)
    new_phone = "+79169998877"
    orders.upsert_order(
        service,
        SITE,
        incoming("O-1", order_row(service, order_id).created_at, customer_phone=new_phone),
    )
    with service.db.session() as session:
        binding = session.get(Binding, revealed.binding_id)
        assert binding is not None and binding.revoked_at == clock.now
        shipment = session.scalar(select(Shipment).where(Shipment.external_number == "O-1"))
        assert shipment is not None and shipment.customer_phone == new_phone
    assert bindings.for_site(service, cw.world.site_id, revealed.virtual_number) is None
    assert "9998877" not in caplog.text and "+7 916 ***-**-77" in caplog.text
    again = reveal_number(
        service, staff_id=cw.world.owner_id, shipment_number="O-1", reason="order_confirmation"
    )
    assert again.binding_id != revealed.binding_id


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source": "Shop!"}, "source:"),
        ({"external_ref": "O 1"}, "external_ref:"),
        ({"status": ""}, "status:"),
        ({"payment_method": "wire/transfer"}, "payment_method:"),
        ({"store": "x" * 65}, "store:"),
        ({"customer_tz": "Mars/Olympus"}, "customer_tz:"),
        ({"customer_phone": "+7 916 12"}, "customer_phone:"),
        ({"customer_phone": None}, "customer_phone: a new order needs"),
    ],
)
def test_a_bad_order_names_the_field_and_writes_nothing(
    service: MaskingService, clock: FakeClock, overrides: dict[str, object], message: str
) -> None:
    seed_campaign(service)
    with pytest.raises(AdminError, match=message) as caught:
        orders.upsert_order(service, SITE, incoming("O-1", clock.now, **overrides))
    assert "916 12" not in str(caught.value)
    assert (count(service, Order), count(service, Case), count(service, Shipment)) == (0, 0, 0)


def test_times_must_be_aware_and_not_in_the_future(
    service: MaskingService, clock: FakeClock
) -> None:
    seed_campaign(service)
    with pytest.raises(AdminError, match="created_at: must be a time with its UTC offset"):
        orders.upsert_order(service, SITE, incoming("O-1", clock.now.replace(tzinfo=None)))
    with pytest.raises(AdminError, match="created_at: is in the future"):
        orders.upsert_order(service, SITE, incoming("O-1", clock.now + timedelta(hours=1)))
    with pytest.raises(AdminError, match="site:"):
        orders.upsert_order(service, "nope", incoming("O-1", clock.now))


HEADER = "order_id,status,payment_method,store,created_at,phone,timezone\n"


def test_csv_import_is_all_or_nothing_with_line_numbers(
    service: MaskingService, clock: FakeClock
) -> None:
    seed_campaign(service)
    at = (clock.now - timedelta(hours=3)).isoformat()
    good = (
        f"O-1,pending,wire_transfer,Country stores,{at},+7 916 000-00-01,Europe/Kyiv\n"
        f"O-2,pending_payment,wire_transfer,,{at},8 916 000 00 02,\n"
    )
    cases = [
        (good + f"O-3,pending,wire_transfer,,{at},12,\n", "line 4: phone:"),
        (good + f"O-1,pending,wire_transfer,,{at},,\n", "line 4: order_id: O-1 is also on line 2"),
        (good + "O-3,pending,wire_transfer,,yesterday,,\n", "line 4: created_at:"),
        (good + f"O-3,pending,wire_transfer,,{at},,Nowhere/City\n", "line 4: timezone:"),
    ]
    for text, message in cases:
        with pytest.raises(AdminError) as caught:
            orders.import_csv(service, SITE, HEADER + text, SOURCE)
        assert message in str(caught.value)
        assert count(service, Order) == 0
    with pytest.raises(AdminError, match="'payment_method' column"):
        orders.import_csv(service, SITE, "order_id,status\nO-1,pending\n", SOURCE)
    report = orders.import_csv(service, SITE, HEADER + good, SOURCE)
    assert (report.added, report.skipped) == (2, 0)
    report = orders.import_csv(service, SITE, HEADER + good, SOURCE)
    assert (report.added, report.skipped) == (0, 2)
    with service.db.session() as session:
        zones = dict(session.execute(select(Order.external_ref, Order.customer_tz)).all())
    assert zones == {"O-1": "Europe/Kyiv", "O-2": "Europe/Moscow"}


def test_confirm_needs_an_answered_call_of_ten_seconds(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1")
    staff = cw.employee_id
    with pytest.raises(RuleBroken) as refused:
        orders.confirm(service, order_id, staff, "Confirmed by phone")
    assert refused.value.rule == "contact_required"
    call(service, clock, order_id, staff, Disposition.NO_ANSWER)  # 12:00: the afternoon
    clock.advance(hours=5)  # 17:00: the evening window
    call(service, clock, order_id, staff, Disposition.ANSWERED, seconds=5)  # too short
    with pytest.raises(RuleBroken) as refused:
        orders.confirm(service, order_id, staff, "Confirmed by phone")
    assert refused.value.rule == "contact_required"
    assert order_row(service, order_id).confirmed_at is None

    clock.advance(hours=16)  # 09:00 the next morning
    call(service, clock, order_id, staff, Disposition.ANSWERED, seconds=12)
    with pytest.raises(RuleBroken) as refused:
        orders.confirm(service, order_id, staff, "  ")
    assert refused.value.rule == "note_required"
    orders.confirm(service, order_id, staff, "Confirmed; the bank details arrived")
    order = order_row(service, order_id)
    assert order.confirmed_at == clock.now
    assert (order.wait_reason, order.next_at) == (WaitReason.DONE, None)
    with service.db.session() as session:
        case = session.get(Case, order.case_id)
        assert case is not None and case.status == CaseStatus.CONFIRMED
        note = session.scalar(select(CaseNote.text).where(CaseNote.case_id == case.id))
        assert note == "Confirmed; the bank details arrived"
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.case_id == case.id)
            .order_by(OutboxEvent.created_at)
        ).all()
        # the first call moved it to In progress; the confirmation goes out last
        assert [(e.type, e.payload["status"]) for e in events][-1] == (
            "case.status_changed",
            "confirmed",
        )
    # confirmed: out of the campaign's list, and never dialed again
    page = worklist.worklist(service, cw.campaign_id, clock.now)
    assert [r.order_id for r in page.rows] == []
    with pytest.raises(worklist.NotDialable) as not_now:
        worklist.dial_order(service, order_id, staff)
    assert not_now.value.verdict.reason is WaitReason.DONE
    with pytest.raises(RuleBroken) as again:
        orders.confirm(service, order_id, staff, "again")
    assert again.value.rule == "transition"


def test_decline_needs_an_attempt_that_reached_the_customer(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1")
    staff = cw.employee_id
    with pytest.raises(RuleBroken) as refused:
        orders.decline(service, order_id, staff, "Cancelled")
    assert refused.value.rule == "attempt_required"
    # the operator's phone never answered: the customer was not called, no attempt
    call_id = worklist.dial_order(service, order_id, staff)
    call_log.mark_ended(service, call_id, clock.now, Disposition.NO_ANSWER)
    with pytest.raises(RuleBroken) as refused:
        orders.decline(service, order_id, staff, "Cancelled")
    assert refused.value.rule == "attempt_required"
    order = order_row(service, order_id)
    assert (order.dialing_call_id, order.wait_reason) == (None, None)  # dialable again
    call(service, clock, order_id, staff, Disposition.ANSWERED, seconds=40)
    orders.decline(service, order_id, staff, "The customer cancelled the order")
    order = order_row(service, order_id)
    assert (order.confirmed_at, order.wait_reason) == (None, WaitReason.DONE)
    with service.db.session() as session:
        assert session.scalar(select(Case.status)) == CaseStatus.NOT_RESOLVED


def test_callback_and_payment_details_are_recorded(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1")
    staff = cw.employee_id
    with pytest.raises(AdminError, match="at: must be in the future"):
        orders.set_callback(service, order_id, staff, clock.now)
    with pytest.raises(AdminError, match="staff_id:"):
        orders.set_callback(service, order_id, 999, clock.now + timedelta(hours=1))
    at = clock.now + timedelta(hours=2)
    orders.set_callback(service, order_id, staff, at)
    order = order_row(service, order_id)
    assert (order.callback_at, order.callback_owner_id) == (at, staff)
    # the stored hint is anyone's: the callback is its owner's for 15 minutes first
    assert (order.wait_reason, order.next_at) == (WaitReason.CALLBACK, at + timedelta(minutes=15))
    orders.resend_payment_details(service, order_id, staff)
    assert order_row(service, order_id).payment_details_resent_at == clock.now
    with service.db.session() as session:
        actions = list(session.scalars(select(CaseEvent.action).order_by(CaseEvent.id)))
        assert actions == ["created", "callback", "payment_details"]
        event = session.scalar(select(OutboxEvent))
        assert event is not None
        assert event.type == "order.payment_details_requested"
        assert event.payload["order_id"] == order_id
        assert "+7916" not in str(event.payload)
    with pytest.raises(orders.OrderNotFound):
        orders.resend_payment_details(service, 12345, staff)


def test_attempts_are_counted_only_when_the_customer_was_dialed(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1")
    staff = cw.employee_id
    call_id = worklist.dial_order(service, order_id, staff)
    assert customer_leg(service, call_id) == "dial"
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        verdict = orders.order_verdict(session, order, now=clock.now)
        assert verdict.reason is WaitReason.DIALING
        record = session.get(CallRecord, call_id)
        assert record is not None and record.case_id == order.case_id
    clock.advance(minutes=1)
    call_log.mark_ended(service, call_id, clock.now, Disposition.BUSY)
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        assert order.dialing_call_id is None
        assert order.wait_reason == WaitReason.BUSY_RETRY
        assert order.next_at == clock.now + timedelta(minutes=9)


def test_the_identity_the_hotline_asks_for_is_stored_and_kept(
    service: MaskingService, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The shop sends the customer's name, city, address and the model with the order;
    they are stored on the order's customer (compared by the hotline, never shown), a
    later update without them keeps them, and an overlong one is refused by the field's
    name alone."""
    seed_campaign(service)
    caplog.set_level(logging.DEBUG)
    at = clock.now - timedelta(hours=1)
    identity = {
        "model": "Haier HRF-600",
        "customer_name": "Жанна  Искакова",
        "customer_city": "Алматы",
        "customer_address": "ул. Абая, 10",
    }
    order_id, _ = orders.upsert_order(service, SITE, incoming("O-9", at, **identity))
    orders.upsert_order(service, SITE, incoming("O-9", at, status="pending"))
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        shipment = session.get(Shipment, order.shipment_id)
        assert shipment is not None
        assert order.model == "Haier HRF-600"
        assert (shipment.customer_name, shipment.customer_city, shipment.customer_address) == (
            "Жанна Искакова",
            "Алматы",
            "ул. Абая, 10",
        )
    with pytest.raises(AdminError) as refused:
        orders.upsert_order(service, SITE, incoming("O-10", at, customer_name="Ж" * 201))
    assert str(refused.value) == "customer_name: is longer than 200 characters"
    assert "Искакова" not in caplog.text and "Абая" not in caplog.text
    # the CSV carries them as optional columns
    report = orders.import_csv(
        service,
        SITE,
        "order_id,status,payment_method,store,created_at,phone,timezone,model,name,city,address\n"
        f"O-11,pending,wire_transfer,,{at.isoformat()},{phone(11)},,TV-1,Ivan Petrov,Astana,\n",
        SOURCE,
    )
    assert report.added == 1
    with service.db.session() as session:
        shipment = session.scalar(select(Shipment).where(Shipment.external_number == "O-11"))
        assert shipment is not None and shipment.customer_name == "Ivan Petrov"
