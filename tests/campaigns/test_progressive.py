"""Progressive dialing sessions (the domain, on real SQLite / PostgreSQL and Redis) and the
asyncio loop that steps them (with a recording originator instead of AMI).

The clock is the fake one: Wednesday 2026-11-18 12:00 in Moscow, inside the default
afternoon window and the site's hours (09:00-21:00). A call's life is played through the
real call desk (the operator answered: the customer leg is dialed) and the call log (AMI's
outcomes)."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from agi.progressive import ProgressiveDialer
from masking import accounts
from masking.calls import call_log
from masking.calls.desk import MaskingCallDesk
from masking.campaigns import orders, progressive, worklist
from masking.campaigns.orders import IncomingOrder
from masking.campaigns.progressive import IdleReason, StepOutcome
from masking.cases import lifecycle
from masking.cases.rules import RuleBroken
from masking.config import Settings
from masking.refusals import Refusal, Refused
from masking.service import MaskingService
from masking.states import CallStatus, DialSessionState, Disposition, Role, WaitReason
from masking.storage.models import CallRecord, CaseNote, DialSession, Order, Staff
from tests.support.clock import FakeClock
from tests.support.factories import World, customer, seed_site
from tests.support.services import open_service
from tests.support.web import RecordingOriginator


class Floor:
    """pvz1 with campaign ``wire`` assigned to its employee (desk phone pvz1-desk3, who
    may see numbers), and three wire-transfer orders created 10, 20 and 30 minutes ago
    (O-1 the newest)."""

    def __init__(self, service: MaskingService, clock: FakeClock, orders_count: int = 3) -> None:
        self.service = service
        self.clock = clock
        self.world: World = seed_site(service, pool=6)
        with service.db.session() as session:
            employee = session.get(Staff, self.world.employee_id)
            assert employee is not None
            accounts.set_numbers_visible(employee, True)
        self.campaign_id = worklist.save_campaign(
            service,
            "pvz1",
            "wire",
            tz="Europe/Moscow",
            payment_methods=["wire_transfer"],
            statuses=["pending"],
        )
        worklist.assign(
            service, self.campaign_id, self.operator, clock.now.date(), by=self.world.owner_id
        )
        self.orders = [self.order(i) for i in range(orders_count)]

    @property
    def operator(self) -> int:
        return self.world.employee_id

    def order(self, i: int, *, minutes_ago: int | None = None) -> int:
        order_id, created = orders.upsert_order(
            self.service,
            "pvz1",
            IncomingOrder(
                source="shop",
                external_ref=f"O-{i + 1}",
                status="pending",
                payment_method="wire_transfer",
                store="",
                created_at=self.clock.now - timedelta(minutes=minutes_ago or 10 * (i + 1)),
                customer_phone=customer(i),
                customer_tz="Europe/Moscow",
            ),
        )
        assert created
        return order_id

    def start(self) -> str:
        return progressive.start(self.service, self.campaign_id, self.operator)

    def step(self, session_id: str) -> progressive.StepResult:
        return progressive.step(self.service, session_id)

    def dial(self, session_id: str) -> progressive.StepResult:
        result = self.step(session_id)
        assert result.outcome is StepOutcome.DIAL, result
        return result

    # ---- a call's life as Asterisk / AMI would report it ---------------------------------
    def operator_answers(self, call_id: str) -> None:
        """The operator's phone answered: the desk dials the customer."""
        decision = MaskingCallDesk(self.service).click2call_leg(
            call_id=call_id, channel_id=f"chan-{call_id[:8]}"
        )
        assert decision.action == "dial", decision

    def talk(self, call_id: str, seconds: int = 30) -> None:
        self.operator_answers(call_id)
        call_log.mark_answered(self.service, call_id, self.clock.now)
        self.clock.advance(seconds=seconds)
        call_log.mark_ended(
            self.service, call_id, self.clock.now, None, 16, seconds, dial_status="ANSWER"
        )

    def unanswered(self, call_id: str, dial_status: str = "NOANSWER") -> None:
        self.operator_answers(call_id)
        self.clock.advance(seconds=20)
        call_log.mark_ended(
            self.service, call_id, self.clock.now, None, 19, None, dial_status=dial_status
        )

    def operator_misses(
        self, call_id: str, disposition: Disposition = Disposition.NO_ANSWER
    ) -> None:
        """OriginateResponse Failure: the operator's phone did not answer."""
        self.clock.advance(seconds=30)
        call_log.mark_ended(self.service, call_id, self.clock.now, disposition)

    def order_of(self, call_id: str) -> Order:
        with self.service.db.session() as session:
            record = session.get(CallRecord, call_id)
            assert record is not None
            order = session.scalar(select(Order).where(Order.case_id == record.case_id))
            assert order is not None
            return order


@pytest.fixture
def floor(service: MaskingService, clock: FakeClock) -> Floor:
    return Floor(service, clock)


def ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def notes(service: MaskingService, case_id: str) -> list[str]:
    with service.db.session() as session:
        return list(session.scalars(select(CaseNote.text).where(CaseNote.case_id == case_id)))


# ---- starting ---------------------------------------------------------------------------
def test_start_needs_the_role_the_assignment_today_and_one_open_session(
    service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    with service.db.session() as session:
        qa = accounts.add_staff(session, login="qa1", role=Role.QA, site=None)
        qa_id = qa.id
    with pytest.raises(Refused) as refused:
        progressive.start(service, floor.campaign_id, qa_id)
    assert refused.value.reason in (Refusal.NOT_ALLOWED, Refusal.OTHER_SITE)
    # the owner may work campaigns, but this one is assigned to the employee
    with pytest.raises(Refused) as refused:
        progressive.start(service, floor.campaign_id, floor.world.owner_id)
    assert refused.value.reason is Refusal.NOT_ALLOWED and "assigned" in str(refused.value)

    session_id = floor.start()
    with pytest.raises(progressive.SessionConflict) as conflict:
        floor.start()
    assert conflict.value.session_id == session_id and conflict.value.rule == "session_open"
    progressive.pause(service, session_id, floor.operator)
    with pytest.raises(progressive.SessionConflict):
        floor.start()  # paused is still open
    assert progressive.open_session(service, floor.operator) == session_id
    progressive.stop(service, session_id, floor.operator)
    assert progressive.open_session(service, floor.operator) is None
    again = floor.start()
    assert again != session_id

    # after the week of the assignment: not any more
    clock.advance(days=8)
    progressive.stop(service, again, floor.operator)
    with pytest.raises(Refused, match="not assigned to you today"):
        floor.start()


def test_an_employee_without_a_desk_phone_cannot_start(
    service: MaskingService, floor: Floor
) -> None:
    with service.db.session() as session:
        employee = session.get(Staff, floor.operator)
        assert employee is not None
        employee.sip_endpoint = None
    with pytest.raises(Refused) as refused:
        floor.start()
    assert refused.value.reason is Refusal.NO_PHONE


# ---- the cycle: dial, call, note, next ----------------------------------------------------
def test_dials_newest_first_and_waits_for_the_call_and_the_note(
    service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    session_id = floor.start()
    first = floor.dial(session_id)
    assert first.order_id == floor.orders[0]  # O-1, the newest
    assert first.endpoint == "pvz1-desk3" and first.label == "Order O-1"
    with service.db.session() as session:
        record = session.get(CallRecord, first.call_id)
        assert record is not None
        assert record.reason_code == "order_confirmation" and record.staff_id == floor.operator
        assert record.status == CallStatus.RINGING_STAFF
        order = session.get(Order, first.order_id)
        assert order is not None and order.dialing_call_id == first.call_id
    view = progressive.state(service, session_id)
    assert view.current_call_id == first.call_id and view.current_order_id == floor.orders[0]

    # the call is up: nothing else happens, however often it is stepped
    assert floor.step(session_id).outcome is StepOutcome.ON_CALL
    floor.operator_answers(first.call_id or "")
    assert floor.step(session_id) == progressive.StepResult(
        StepOutcome.ON_CALL, call_id=first.call_id
    )
    call_log.mark_answered(service, first.call_id or "", clock.now)
    clock.advance(seconds=25)
    call_log.mark_ended(service, first.call_id or "", clock.now, None, 16, 25, dial_status="ANSWER")

    # ended: the note is due; no call until it is written
    for _ in range(2):
        due = floor.step(session_id)
        assert due.outcome is StepOutcome.NOTE_DUE and due.call_id == first.call_id
    view = progressive.state(service, session_id)
    assert view.current_call_id is None
    assert view.note_due_call_id == first.call_id and view.note_due_order_id == floor.orders[0]
    with pytest.raises(RuleBroken) as empty:
        progressive.write_note(service, session_id, floor.operator, "   ")
    assert empty.value.rule == "note_required"
    with pytest.raises(Refused):
        progressive.write_note(service, session_id, floor.world.owner_id, "not mine")
    assert progressive.write_note(service, session_id, floor.operator, "will pay today") == (
        first.call_id
    )
    case_id = floor.order_of(first.call_id or "").case_id
    assert notes(service, case_id) == ["will pay today"]
    assert progressive.state(service, session_id).note_due_call_id is None

    # the answered order can be confirmed; the next call goes to O-2
    orders.confirm(service, floor.orders[0], floor.operator, "confirmed by phone")
    second = floor.dial(session_id)
    assert second.order_id == floor.orders[1]


def test_a_note_written_during_the_call_or_on_the_order_page_pays_the_note(
    service: MaskingService, floor: Floor
) -> None:
    session_id = floor.start()
    first = floor.dial(session_id)
    floor.operator_answers(first.call_id or "")
    # typed while talking: the session's note about the call up now
    assert progressive.write_note(service, session_id, floor.operator, "typing") == first.call_id
    call_log.mark_ended(
        service, first.call_id or "", floor.clock.now, None, 16, 12, dial_status="ANSWER"
    )
    second = floor.dial(session_id)  # no note owed
    floor.unanswered(second.call_id or "")
    assert floor.step(session_id).outcome is StepOutcome.NOTE_DUE
    # a note on the order's case by the operator, through the order page
    lifecycle.add_note(
        service, floor.order_of(second.call_id or "").case_id, floor.operator, "no answer"
    )
    third = floor.dial(session_id)
    assert third.order_id == floor.orders[2]


def test_after_each_outcome_the_order_waits_as_the_policy_says(
    service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    session_id = floor.start()
    started = clock.now
    first = floor.dial(session_id)
    floor.unanswered(first.call_id or "", "NOANSWER")
    progressive.write_note(service, session_id, floor.operator, "no answer")
    second = floor.dial(session_id)
    busy_started = clock.now
    floor.unanswered(second.call_id or "", "BUSY")
    progressive.write_note(service, session_id, floor.operator, "busy")
    third = floor.dial(session_id)
    floor.talk(third.call_id or "", 40)
    progressive.write_note(service, session_id, floor.operator, "thinking about it")

    no_answer, busy = floor.order_of(first.call_id or ""), floor.order_of(second.call_id or "")
    # 12:00 Moscow was the afternoon window: next the evening one, 17:00 Moscow (the gap
    # ends at 13:00, the used window holds the order until then)
    assert no_answer.wait_reason == WaitReason.WINDOW_DONE and no_answer.wait_detail == "evening"
    assert no_answer.next_at == datetime(2026, 11, 18, 14, 0, tzinfo=started.tzinfo)
    assert busy.wait_reason == WaitReason.BUSY_RETRY
    assert busy.next_at == busy_started + timedelta(minutes=10)
    assert no_answer.dialing_call_id is None and busy.dialing_call_id is None

    # nothing is dialable: the session says why and until when (the busy one, soonest)
    idle = floor.step(session_id)
    assert idle.outcome is StepOutcome.IDLE
    assert idle.idle_reason == WaitReason.BUSY_RETRY
    assert idle.idle_until == busy_started + timedelta(minutes=10)
    view = progressive.state(service, session_id)
    assert view.state == DialSessionState.RUNNING and view.idle_reason == WaitReason.BUSY_RETRY
    # stored to the minute, rounded up: "nothing due: next at 12:11 (busy_retry)"
    assert view.idle_until == ceil_minute(busy_started + timedelta(minutes=10))

    # ten minutes on, the busy order is due again in the same window
    clock.advance(minutes=11)
    again = floor.dial(session_id)
    assert again.order_id == busy.id
    with service.db.session() as session:
        row = session.get(DialSession, session_id)
        assert row is not None and row.idle_reason is None


def test_an_empty_campaign_says_so(service: MaskingService, clock: FakeClock) -> None:
    floor = Floor(service, clock, orders_count=0)
    session_id = floor.start()
    idle = floor.step(session_id)
    assert idle == progressive.StepResult(StepOutcome.IDLE, idle_reason=IdleReason.EMPTY)
    # an order arrives: the session does not look again at once (an empty pick costs a
    # full scan of the list), but within IDLE_RECHECK it dials it
    order_id = floor.order(7, minutes_ago=1)
    assert floor.step(session_id).outcome is StepOutcome.IDLE
    clock.advance(seconds=progressive.IDLE_RECHECK.total_seconds())
    assert floor.dial(session_id).order_id == order_id


# ---- pause, resume, stop ------------------------------------------------------------------
def test_pause_and_stop_never_cut_the_call_and_the_note_stays_due(
    service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    session_id = floor.start()
    first = floor.dial(session_id)
    floor.operator_answers(first.call_id or "")
    progressive.pause(service, session_id, floor.operator)
    progressive.pause(service, session_id, floor.operator)  # twice: no harm
    assert session_id in progressive.sessions_to_step(service)  # its call is up
    assert floor.step(session_id).outcome is StepOutcome.ON_CALL
    with service.db.session() as session:
        record = session.get(CallRecord, first.call_id)
        assert record is not None and record.ended_at is None
    call_log.mark_ended(service, first.call_id or "", clock.now, None, 16, 15, dial_status="ANSWER")
    assert floor.step(session_id).outcome is StepOutcome.PAUSED
    assert progressive.state(service, session_id).note_due_call_id == first.call_id
    assert session_id not in progressive.sessions_to_step(service)

    progressive.resume(service, session_id, floor.operator)
    assert floor.step(session_id).outcome is StepOutcome.NOTE_DUE
    progressive.write_note(service, session_id, floor.operator, "call back tomorrow")
    second = floor.dial(session_id)

    # a staff manager of the site stops it while the call is up; the call goes on
    progressive.stop(service, session_id, floor.world.manager_id)
    with pytest.raises(RuleBroken):
        progressive.resume(service, session_id, floor.operator)
    floor.unanswered(second.call_id or "")
    assert floor.step(session_id).outcome is StepOutcome.STOPPED
    view = progressive.state(service, session_id)
    assert view.state == DialSessionState.STOPPED and view.ended_at is not None
    assert view.note_due_call_id == second.call_id
    progressive.write_note(service, session_id, floor.operator, "no answer")
    assert floor.step(session_id).outcome is StepOutcome.STOPPED
    with service.db.session() as session:
        calls = session.scalars(select(CallRecord.id)).all()
    assert len(calls) == 2


def test_only_the_operator_resumes_and_notes(service: MaskingService, floor: Floor) -> None:
    session_id = floor.start()
    progressive.pause(service, session_id, floor.world.owner_id)  # a supervisor may pause
    with pytest.raises(Refused):
        progressive.resume(service, session_id, floor.world.owner_id)
    progressive.resume(service, session_id, floor.operator)
    with pytest.raises(RuleBroken) as nothing:
        progressive.write_note(service, session_id, floor.operator, "about what?")
    assert nothing.value.rule == "no_call"
    with pytest.raises(progressive.SessionNotFound):
        progressive.step(service, "0" * 32)


# ---- the operator's phone -----------------------------------------------------------------
def test_an_operator_miss_is_no_attempt_and_two_in_a_row_pause(
    service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    session_id = floor.start()
    first = floor.dial(session_id)
    floor.operator_misses(first.call_id or "", Disposition.BUSY)
    order = floor.order_of(first.call_id or "")
    assert order.dialing_call_id is None and order.next_at is None  # dialable at once
    # no note owed, the same order again
    again = floor.dial(session_id)
    assert again.order_id == first.order_id and again.call_id != first.call_id
    floor.operator_misses(again.call_id or "")
    paused = floor.step(session_id)
    assert paused.outcome is StepOutcome.PAUSED
    assert paused.idle_reason == IdleReason.OPERATOR_UNREACHABLE
    view = progressive.state(service, session_id)
    assert view.state == DialSessionState.PAUSED and view.note_due_call_id is None
    assert view.idle_reason == IdleReason.OPERATOR_UNREACHABLE
    assert floor.order_of(again.call_id or "").next_at is None
    # the case has no attempt: it cannot be declined yet
    with pytest.raises(RuleBroken) as broken:
        orders.decline(service, first.order_id or 0, floor.operator, "no answer")
    assert broken.value.rule == "attempt_required"

    # resumed, the phone answers: the misses are forgotten
    progressive.resume(service, session_id, floor.operator)
    assert progressive.state(service, session_id).idle_reason is None
    third = floor.dial(session_id)
    assert third.order_id == first.order_id
    floor.talk(third.call_id or "")
    progressive.write_note(service, session_id, floor.operator, "confirmed")
    fourth = floor.dial(session_id)
    floor.operator_misses(fourth.call_id or "")
    assert floor.step(session_id).outcome is StepOutcome.DIAL  # one miss: go on


def test_a_refused_customer_leg_pauses_the_session(
    service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    session_id = floor.start()
    first = floor.dial(session_id)
    with service.db.session() as session:
        staff = session.get(Staff, floor.operator)
        assert staff is not None
        staff.numbers_visible = False  # the owner switched it off meanwhile
    decision = MaskingCallDesk(service).click2call_leg(call_id=first.call_id or "", channel_id="c1")
    assert decision.action == "deny"
    result = floor.step(session_id)
    assert result.outcome is StepOutcome.PAUSED
    assert result.idle_reason == "refused_not_allowed"
    assert floor.order_of(first.call_id or "").dialing_call_id is None


def test_the_session_waits_while_the_operator_is_on_another_call(
    service: MaskingService, floor: Floor
) -> None:
    session_id = floor.start()
    call_id = worklist.dial_order(service, floor.orders[2], floor.operator, channel="api")
    idle = floor.step(session_id)
    assert idle.outcome is StepOutcome.IDLE and idle.idle_reason == IdleReason.OPERATOR_ON_CALL
    floor.talk(call_id)
    assert floor.dial(session_id).order_id == floor.orders[0]


def test_the_assignment_ending_pauses_the_session(
    service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    session_id = floor.start()
    clock.advance(days=7)
    result = floor.step(session_id)
    assert result.outcome is StepOutcome.PAUSED and result.idle_reason == IdleReason.NOT_ASSIGNED
    with pytest.raises(Refused):
        progressive.resume(service, session_id, floor.operator)


def test_a_dial_refused_by_the_click_to_call_pauses(service: MaskingService, floor: Floor) -> None:
    session_id = floor.start()
    with service.db.session() as session:
        staff = session.get(Staff, floor.operator)
        assert staff is not None
        staff.numbers_visible = False
    result = floor.step(session_id)
    assert result.outcome is StepOutcome.PAUSED and result.idle_reason == "refused_not_allowed"
    with service.db.session() as session:
        assert session.scalars(select(CallRecord)).all() == []
        assert all(o.dialing_call_id is None for o in session.scalars(select(Order)))


# ---- two service instances ----------------------------------------------------------------
def race(session_id: str, services: list[MaskingService]) -> list[Any]:
    """Step the session from every service at once (threads behind a barrier)."""
    barrier = threading.Barrier(len(services))
    results: list[Any] = []

    def run(svc: MaskingService) -> None:
        barrier.wait()
        try:
            results.append(progressive.step(svc, session_id))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(svc,)) for svc in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_instances_stepping_one_session_dial_once(
    settings: Settings, service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    session_id = floor.start()
    with open_service(settings, clock) as other:
        for _ in range(3):
            results = race(session_id, [service, other, service, other])
            dials = [r for r in results if getattr(r, "outcome", None) is StepOutcome.DIAL]
            assert len(dials) == 1, results
            assert all(
                getattr(r, "outcome", None)
                in (StepOutcome.DIAL, StepOutcome.CONTENDED, StepOutcome.ON_CALL)
                for r in results
            ), results
            floor.unanswered(dials[0].call_id)
            progressive.write_note(service, session_id, floor.operator, "no answer")
    with service.db.session() as session:
        dialed = session.scalars(select(CallRecord.case_id)).all()
    assert len(dialed) == 3 and len(set(dialed)) == 3


def test_a_pick_left_by_a_dead_instance_is_dropped(
    service: MaskingService, floor: Floor, clock: FakeClock
) -> None:
    session_id = floor.start()
    with service.db.session() as session:
        row = session.get(DialSession, session_id)
        assert row is not None
        row.current_call_id = "f" * 32  # claimed, never named: the instance died
        row.last_pick_at = clock.now
    assert floor.step(session_id).outcome is StepOutcome.CONTENDED
    clock.advance(minutes=3)
    assert floor.step(session_id).outcome is StepOutcome.DIAL


# ---- the loop of agi/progressive.py -------------------------------------------------------
def test_the_dialer_originates_prepared_calls_and_survives_failures(
    service: MaskingService, floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = floor.start()
    originator = RecordingOriginator()
    dialer = ProgressiveDialer(service, originator, interval=0.01)
    results = asyncio.run(dialer.run_once())
    assert [r.outcome for r in results] == [StepOutcome.DIAL]
    [rung] = originator.calls
    assert rung == {
        "call_id": results[0].call_id,
        "endpoint": "pvz1-desk3",
        "label": "Order O-1",
    }
    assert [r.outcome for r in asyncio.run(dialer.run_once())] == [StepOutcome.ON_CALL]
    assert len(originator.calls) == 1

    # AMI refuses the Originate: the call is closed as failed, the operator "missed" it
    floor.unanswered(rung["call_id"])
    progressive.write_note(service, session_id, floor.operator, "no answer")
    originator.fail = True
    asyncio.run(dialer.run_once())
    failed = originator.calls[-1]["call_id"]
    with service.db.session() as session:
        record = session.get(CallRecord, failed)
        assert record is not None and record.disposition == Disposition.FAILED
    assert floor.order_of(failed).dialing_call_id is None

    # a step that raises is logged; the other sessions and the next rounds go on
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(progressive, "step", broken)

    async def loop() -> int:
        await dialer.start()
        await asyncio.sleep(0.1)
        await dialer.stop()
        return dialer.rounds

    before = dialer.rounds
    assert asyncio.run(loop()) > before + 1
