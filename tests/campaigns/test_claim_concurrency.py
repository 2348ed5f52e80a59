"""An order is never dialed twice at once, whichever path dials it: two progressive-style
pickers, a preview click and a desk phone dialing the temporary number, all at the same
instant, each through its own service instance (its own connection pool), round after
round, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from masking.calls import call_log
from masking.calls.desk import MaskingCallDesk
from masking.campaigns import worklist
from masking.config import Settings
from masking.refusals import Refusal, Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.states import Disposition, WaitReason
from masking.storage.models import CallRecord, Order
from tests.support.clock import FakeClock
from tests.support.orders import (
    CampaignWorld,
    customer_leg,
    end_call,
    order_row,
    place,
    seed_campaign,
)
from tests.support.services import open_service

REASON = "order_confirmation"

ROUNDS = 50
DESK = "pvz1-desk1"  # the owner's desk phone


def contend(
    instances: tuple[MaskingService, ...],
    cw: CampaignWorld,
    clock: FakeClock,
    order_id: int,
    number: str,
    channel: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """Two pickers, a preview click and the desk phone go for the order at one instant;
    how each fared and the calls the winners made."""
    picker_a, picker_b, previewer, desk_owner = instances
    world = cw.world
    barrier = threading.Barrier(4)
    outcomes: dict[str, str] = {}
    calls: dict[str, str] = {}

    def picker(name: str, instance: MaskingService, staff_id: int) -> None:
        barrier.wait()
        picked = worklist.pick_next(instance, cw.campaign_id, staff_id, clock.now)
        if isinstance(picked, worklist.Empty):
            outcomes[name] = "empty"
            return
        calls[name] = worklist.dial_order(instance, picked.order_id, staff_id, claimed=picked.token)
        outcomes[name] = f"dialed {picked.order_id}"

    def preview() -> None:
        barrier.wait()
        try:
            calls["preview"] = worklist.dial_order(previewer, order_id, world.manager_id)
            outcomes["preview"] = f"dialed {order_id}"
        except Refused as refused:
            outcomes["preview"] = f"refused {refused.code}"
        except worklist.NotDialable as not_now:
            outcomes["preview"] = f"not dialable {not_now.verdict.reason}"

    def desk_phone() -> None:
        barrier.wait()
        decision = MaskingCallDesk(desk_owner).operator_call(
            endpoint=DESK, dialed=number, channel_id=channel
        )
        if decision.action == "dial":
            calls["desk"] = decision.call_id
            outcomes["desk"] = f"dialed {order_id}"
        else:
            outcomes["desk"] = f"refused {decision.deny_reason}"

    jobs: list[Callable[[], None]] = [
        lambda: picker("picker-a", picker_a, cw.employee_id),
        lambda: picker("picker-b", picker_b, world.owner_id),
        preview,
        desk_phone,
    ]
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes, calls


def test_pickers_a_preview_and_a_desk_phone_never_dial_one_order_twice(
    service: MaskingService, settings: Settings, clock: FakeClock
) -> None:
    cw = seed_campaign(service, pool=ROUNDS + 10)
    with (
        open_service(settings, clock) as second,
        open_service(settings, clock) as third,
        open_service(settings, clock) as fourth,
    ):
        for round_ in range(ROUNDS):
            ref = f"O-{round_ + 1}"
            order_id = place(service, ref, clock.now - timedelta(minutes=1))
            # the desk phone's owner has the customer's temporary number already
            number = reveal_number(
                service, staff_id=cw.world.owner_id, shipment_number=ref, reason=REASON
            ).virtual_number
            outcomes, calls = contend(
                (service, second, third, fourth), cw, clock, order_id, number, f"desk-{round_}"
            )
            assert len(outcomes) == 4, outcomes
            dialed = [k for k, v in outcomes.items() if v.startswith("dialed")]
            assert len(dialed) == 1, outcomes
            assert outcomes[dialed[0]] == f"dialed {order_id}", outcomes
            losers = {v for k, v in outcomes.items() if k not in dialed}
            assert losers <= {"empty", "refused already_dialing"}, outcomes
            # the winner's call reaches the customer, who does not answer
            winner = dialed[0]
            if winner != "desk":
                assert customer_leg(service, calls[winner]) == "dial"
            end_call(service, clock, calls[winner], Disposition.NO_ANSWER, seconds=20)
            order = order_row(service, order_id)
            assert order.dialing_call_id is None
            assert order.wait_reason == WaitReason.WINDOW_DONE  # not again this window
    # every order: exactly one call that reached the customer, none still under way
    with service.db.session() as session:
        per_order = Counter(
            session.scalars(
                select(Order.id)
                .join(CallRecord, CallRecord.case_id == Order.case_id)
                .where(CallRecord.recording_file.is_not(None))
            )
        )
        in_progress = session.scalar(
            select(func.count())
            .select_from(CallRecord)
            .where(CallRecord.disposition == Disposition.IN_PROGRESS)
        )
    assert len(per_order) == ROUNDS and set(per_order.values()) == {1}
    assert in_progress == 0


def test_the_desk_refuses_an_order_being_dialed_and_dials_it_after(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1")
    number = reveal_number(
        service, staff_id=cw.world.owner_id, shipment_number="O-1", reason=REASON
    ).virtual_number
    call_id = worklist.dial_order(service, order_id, cw.employee_id)
    desk = MaskingCallDesk(service)
    refused = desk.operator_call(endpoint=DESK, dialed=number, channel_id="desk-1")
    assert (refused.action, refused.deny_reason) == ("deny", Refusal.ALREADY_DIALING)
    assert refused.prompt == "masking/not-allowed"
    with service.db.session() as session:
        record = session.get(CallRecord, refused.call_id)
        assert record is not None
        assert (record.disposition, record.deny_reason, record.case_id) == (
            Disposition.DENIED,
            "already_dialing",
            None,
        )
    assert order_row(service, order_id).dialing_call_id == call_id
    # the operator's phone never answered: the claim ends with the call
    call_log.mark_ended(service, call_id, clock.now, Disposition.NO_ANSWER)
    allowed = desk.operator_call(endpoint=DESK, dialed=number, channel_id="desk-2")
    assert allowed.action == "dial"
    order = order_row(service, order_id)
    assert order.dialing_call_id == allowed.call_id
    with service.db.session() as session:
        record = session.get(CallRecord, allowed.call_id)
        assert record is not None and record.case_id == order.case_id
    # while the desk call is up, a preview click is refused
    try:
        worklist.dial_order(service, order_id, cw.employee_id)
    except Refused as exc:
        assert exc.reason is Refusal.ALREADY_DIALING
    else:
        raise AssertionError("dialed an order already being dialed")
    end_call(service, clock, allowed.call_id, Disposition.ANSWERED, seconds=15)
    order = order_row(service, order_id)
    # answered at 12:00 Moscow: the gap ends at 13:00, the used afternoon holds it till 17:00
    assert order.dialing_call_id is None and order.wait_reason == WaitReason.WINDOW_DONE


def test_a_claim_whose_call_never_ended_expires(service: MaskingService, clock: FakeClock) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1")
    first = worklist.pick_next(service, cw.campaign_id, cw.employee_id, clock.now)
    assert isinstance(first, worklist.Picked)  # and then the instance died
    blocked = worklist.pick_next(service, cw.campaign_id, cw.world.owner_id, clock.now)
    assert isinstance(blocked, worklist.Empty) and blocked.counts == {"dialing": 1}
    clock.advance(minutes=10, seconds=1)
    again = worklist.pick_next(service, cw.campaign_id, cw.world.owner_id, clock.now)
    assert isinstance(again, worklist.Picked) and again.order_id == order_id
    # the stale token no longer names the claim
    try:
        worklist.dial_order(service, order_id, cw.employee_id, claimed=first.token)
    except Refused as exc:
        assert exc.reason is Refusal.ALREADY_DIALING
    else:
        raise AssertionError("a stale claim dialed")


def test_a_call_closed_by_reconciliation_releases_its_order(
    service: MaskingService, clock: FakeClock
) -> None:
    cw = seed_campaign(service)
    order_id = place(service, "O-1")
    call_id = worklist.dial_order(service, order_id, cw.employee_id)
    assert customer_leg(service, call_id) == "dial"
    clock.advance(minutes=2)  # Asterisk lost the call; AMI never said it ended
    assert call_log.reconcile(service, set(), clock.now) == [call_id]
    order = order_row(service, order_id)
    assert order.dialing_call_id is None
    # closed as failed: retried soon, in the same window
    assert order.wait_reason == WaitReason.BUSY_RETRY
