"""Receiving appeals (one by one and from CSV) and the report of how they were handled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from masking.cases import appeals, lifecycle
from masking.service import MaskingService
from masking.shapes import AdminError
from masking.states import CaseStatus, Disposition
from masking.storage.models import Case, CaseEvent, Shipment
from tests.support.appeals import call, fields, receive
from tests.support.clock import FakeClock
from tests.support.factories import customer, seed_site

HEADER = "appeal_id,type,channel,order,phone,text,received_at\n"


def count(service: MaskingService, model: Any) -> int:
    with service.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_receive_sets_the_clocks_and_audits(service: MaskingService, clock: FakeClock) -> None:
    seed_site(service, shipments=1)
    case_id = receive(service, "A-1")
    with service.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.status == CaseStatus.NEW
        assert case.shipment.external_number == "PVZ1-00000"
        assert case.first_call_due_at == clock.now + timedelta(hours=2)
        assert case.due_at == clock.now + timedelta(hours=24)
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
        assert [(e.action, e.staff_id) for e in events] == [("created", None)]


def test_the_same_appeal_twice_is_one_case(service: MaskingService, clock: FakeClock) -> None:
    seed_site(service, shipments=1)
    first = appeals.receive_appeal(
        service, **fields(service, "A-1", topic="complaint", text="Rude staff")
    )
    clock.advance(minutes=5)
    again = appeals.receive_appeal(service, **fields(service, "A-1", text="changed"))
    assert first.new and not again.new
    assert again.case_id == first.case_id
    assert count(service, Case) == 1
    assert count(service, CaseEvent) == 1
    with service.db.session() as session:
        case = session.get(Case, first.case_id)
        assert case is not None and case.topic == "complaint" and case.text == "Rude staff"
    # another source may use the same reference
    assert receive(service, "A-1", source="other") != first.case_id


def test_a_known_order_gives_the_number(service: MaskingService) -> None:
    seed_site(service, shipments=1)
    receive(service, "A-1", customer_phone="8 916 000-00-00")  # the same number, written so
    with pytest.raises(AdminError) as refused:
        receive(service, "A-2", customer_phone="+7 916 555-44-33")
    assert str(refused.value).startswith("phone: differs")
    assert "5554433" not in str(refused.value)
    with service.db.session() as session:
        assert session.scalars(select(Shipment.customer_phone)).all() == [customer(0)]
    assert count(service, Case) == 1


def test_a_new_order_is_created_with_the_phone(service: MaskingService) -> None:
    seed_site(service)
    case_id = receive(service, "A-1", order_ref="NEW-1", customer_phone="8 (916) 555-44-33")
    with service.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.shipment.external_number == "NEW-1"
        assert case.shipment.customer_phone == "+79165554433"
    with pytest.raises(AdminError, match=r"^phone: order NEW-2 is unknown"):
        receive(service, "A-2", order_ref="NEW-2")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("source", "Market!", "source:"),
        ("external_ref", "a b", "external_ref:"),
        ("topic", "praise", "topic: must be one of"),
        ("channel", "fax", "channel: must be one of"),
        ("order_ref", "", "order_ref:"),
        ("text", "x" * 4001, "text: is longer"),
        ("customer_phone", "12", "customer_phone:"),
        ("staff_id", 999, "staff_id:"),
        ("site_code", "nowhere", "site:"),
    ],
)
def test_every_field_is_checked(
    service: MaskingService, field: str, value: object, message: str
) -> None:
    seed_site(service, shipments=1)
    with pytest.raises(AdminError) as refused:
        receive(service, "A-1", **{field: value})
    assert str(refused.value).startswith(message)
    assert count(service, Case) == 0


def test_received_at_must_be_aware_and_not_ahead(service: MaskingService, clock: FakeClock) -> None:
    seed_site(service, shipments=1)
    with pytest.raises(AdminError, match=r"^received_at: must carry"):
        receive(service, "A-1", received_at=clock.now.replace(tzinfo=None))
    with pytest.raises(AdminError, match=r"^received_at: is in the future"):
        receive(service, "A-1", received_at=clock.now + timedelta(minutes=10))
    receive(service, "A-1", received_at=clock.now + timedelta(minutes=1))  # clock skew


def test_a_staff_manager_enters_one_by_hand(service: MaskingService) -> None:
    world = seed_site(service, shipments=1)
    with pytest.raises(AdminError, match=r"^staff_id: appeals are entered"):
        receive(service, "A-1", staff_id=world.employee_id)
    case_id = receive(service, "A-1", staff_id=world.manager_id)
    with service.db.session() as session:
        event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id))
        assert event is not None and event.staff_id == world.manager_id


def test_csv_import_is_all_or_nothing(service: MaskingService, clock: FakeClock) -> None:
    seed_site(service, shipments=1)
    at = clock.now.isoformat()
    good = (
        f"A-1,complaint,review,PVZ1-00000,,Rude,{at}\n"
        f'A-2,contact_request,call,NEW-1,+7 916 555-44-33,"Call me, please",{at}\n'
    )
    bad = HEADER + good + f"A-3,delivery_question,chat,NEW-2,,Where?,{at}\n"
    with pytest.raises(AdminError, match=r"^line 4: phone: order NEW-2 is unknown"):
        appeals.import_csv(service, "pvz1", bad, "market")
    assert count(service, Case) == 0 and count(service, Shipment) == 1
    no_offset = HEADER + good + "A-3,complaint,chat,NEW-2,,x,2026-11-18T09:00:00\n"
    with pytest.raises(AdminError, match=r"^line 4: received_at: must carry"):
        appeals.import_csv(service, "pvz1", no_offset, "market")
    twice = HEADER + good + f"A-1,complaint,chat,PVZ1-00000,,x,{at}\n"
    with pytest.raises(AdminError, match=r"^line 4: appeal_id: A-1 is also on line 2"):
        appeals.import_csv(service, "pvz1", twice, "market")
    with pytest.raises(AdminError, match=r"^line 2: type:"):
        appeals.import_csv(service, "pvz1", HEADER + "A-1,x,chat,S,,x," + at, "market")
    with pytest.raises(AdminError, match="'channel' column"):
        appeals.import_csv(service, "pvz1", "appeal_id,type\nA-1,complaint\n", "market")
    assert count(service, Case) == 0

    report = appeals.import_csv(service, "pvz1", HEADER + good, "market")
    assert (report.added, report.skipped) == (2, 0)
    report = appeals.import_csv(service, "pvz1", HEADER + good, "market")
    assert (report.added, report.skipped) == (0, 2)
    assert count(service, Case) == 2 and count(service, Shipment) == 2


def test_report(service: MaskingService, clock: FakeClock) -> None:
    world = seed_site(service, shipments=1)
    start = clock.now
    on_time, late, never = (receive(service, ref) for ref in ("A-1", "A-2", "A-3"))
    call(service, on_time, start + timedelta(minutes=30))
    clock.advance(hours=1)
    lifecycle.change_status(service, on_time, world.manager_id, "resolved", "Parcel found")
    call(service, late, start + timedelta(hours=3), Disposition.NO_ANSWER, None)
    clock.advance(hours=23)
    assert sorted(appeals.close_overdue(service, clock.now)) == sorted([late, never])

    day = start.date()
    numbers = appeals.report(service, "pvz1", day, day)
    assert numbers["received"] == 3
    assert numbers["open"] == 0
    assert numbers["first_called_in_time"] == pytest.approx(1 / 3, abs=1e-3)
    assert numbers["resolved_in_time"] == pytest.approx(1 / 3, abs=1e-3)
    assert numbers["auto_closed"] == pytest.approx(2 / 3, abs=1e-3)
    assert numbers["median_minutes_to_first_call"] == 105.0
    empty = appeals.report(service, "pvz1", day + timedelta(days=1), day + timedelta(days=2))
    assert empty["received"] == 0 and empty["first_called_in_time"] is None
    with pytest.raises(AdminError, match=r"^until:"):
        appeals.report(service, "pvz1", day, day - timedelta(days=1))
