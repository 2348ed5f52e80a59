"""Orders and campaigns for the campaign tests: a site with a campaign assigned to its
employee, orders received through the domain, and calls about them made the real way
(claim, click-to-call, the desk's customer leg, the call log's end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from masking.calls import call_log
from masking.calls.desk import MaskingCallDesk
from masking.campaigns import orders, worklist
from masking.service import MaskingService
from masking.states import Disposition
from masking.storage.models import Order, Staff
from tests.support.clock import FakeClock
from tests.support.factories import World, seed_site

SOURCE = "shop"
SITE = "pvz1"


@dataclass
class CampaignWorld:
    world: World
    campaign_id: int

    @property
    def employee_id(self) -> int:
        return self.world.employee_id


def seed_campaign(
    service: MaskingService,
    *,
    hours: str = "daily 08:00-22:00",
    pool: int = 10,
    tz: str = "Europe/Moscow",
    policy: dict[str, Any] | None = None,
    assign: bool = True,
) -> CampaignWorld:
    """Site pvz1 (``hours``, ``tz``) with a pool, its employee allowed to see numbers, and
    campaign ``unpaid`` (wire transfers, pending / pending_payment, from yesterday; Monday
    from Friday) assigned to the employee for the week starting today."""
    world = seed_site(service, SITE, hours=hours, pool=pool, tz=tz)
    with service.db.session() as session:
        employee = session.get(Staff, world.employee_id)
        assert employee is not None
        employee.numbers_visible = True
    campaign_id = worklist.save_campaign(
        service,
        SITE,
        "unpaid",
        title="Unpaid wire transfers",
        tz=tz,
        payment_methods=["wire_transfer"],
        statuses=["pending", "pending_payment"],
        stores=[],
        policy=policy,
    )
    if assign:
        with service.db.session() as session:
            campaign = worklist.get_campaign(session, campaign_id)
            today = worklist.campaign_today(campaign, service.clock())
        worklist.assign(service, campaign_id, world.employee_id, today, by=world.owner_id)
    return CampaignWorld(world, campaign_id)


def phone(i: int) -> str:
    return f"+7916{i:07d}"


def incoming(ref: str, created_at: datetime, **overrides: Any) -> orders.IncomingOrder:
    values: dict[str, Any] = {
        "source": SOURCE,
        "external_ref": ref,
        "status": "pending_payment",
        "payment_method": "wire_transfer",
        "store": "Country stores",
        "created_at": created_at,
        "customer_phone": phone(int("".join(c for c in ref if c.isdigit()) or "0")),
        "customer_tz": "",
    }
    values.update(overrides)
    return orders.IncomingOrder(**values)


def place(
    service: MaskingService, ref: str, created_at: datetime | None = None, **overrides: Any
) -> int:
    """Receive order ``ref`` (created an hour ago unless ``created_at``); its id."""
    at = created_at or service.clock() - timedelta(hours=1)
    order_id, _ = orders.upsert_order(service, SITE, incoming(ref, at, **overrides))
    return order_id


def order_row(service: MaskingService, order_id: int) -> Order:
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order


def customer_leg(service: MaskingService, call_id: str) -> str:
    """The operator's phone answered the click-to-call: the desk's decision on the
    customer leg (``dial`` or ``deny``)."""
    decision = MaskingCallDesk(service).click2call_leg(
        call_id=call_id, channel_id=f"chan-{call_id[:12]}"
    )
    return decision.action if decision.action == "dial" else f"deny:{decision.deny_reason}"


def end_call(
    service: MaskingService,
    clock: FakeClock,
    call_id: str,
    outcome: str = Disposition.NO_ANSWER,
    seconds: int = 30,
) -> None:
    """The customer leg rang (or talked ``seconds``, ``answered``) and the call ended."""
    if outcome == Disposition.ANSWERED:
        call_log.mark_answered(service, call_id, clock.now)
        clock.advance(seconds=seconds)
        call_log.mark_ended(service, call_id, clock.now, hangup_cause=16)
        return
    clock.advance(seconds=seconds)
    call_log.mark_ended(service, call_id, clock.now, outcome)


def call(
    service: MaskingService,
    clock: FakeClock,
    order_id: int,
    staff_id: int,
    outcome: str = Disposition.NO_ANSWER,
    seconds: int = 30,
) -> str:
    """A whole preview call about the order: dial, customer leg, end. The call id."""
    call_id = worklist.dial_order(service, order_id, staff_id, channel="test")
    assert customer_leg(service, call_id) == "dial"
    end_call(service, clock, call_id, outcome, seconds)
    return call_id


def order_ids(service: MaskingService) -> list[int]:
    with service.db.session() as session:
        return list(session.scalars(select(Order.id).order_by(Order.id)))
