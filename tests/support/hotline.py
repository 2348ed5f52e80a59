"""A hotline for the verification, API and console tests: site pvz1's team answers the
brand's DID; one order awaiting confirmation whose customer has a name, a city and an
address (compared, never shown); contacts of callers answered by the site's employee.

A contact is made by the hotline's own domain functions: the route's ``incoming`` (the
caller identified by number among the site's orders) and ``agent_answered`` (the AMI
tracker's report that the agent's desk phone answered)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from masking import accounts, sites
from masking.calls import call_log
from masking.campaigns import orders
from masking.hotline import contacts, hotlines
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.models import (
    Binding,
    HotlineContact,
    Order,
    Shipment,
    Site,
    Staff,
)
from tests.support.factories import seed_site
from tests.support.leaks import digit_leaks

DID = "77272000100"
BRAND = "Haier"
SUPPORT_EMAIL = "support-kz@haieronline.kz"
ORDER = "100042"
OTHER_ORDER = "100043"
MODEL = "Haier HW80-BP14979"
STORE = "haieronline.kz"
# the customer (the order's): never in an answer, a page, an audit detail or a log line
NAME = "Иванова Анна"
CITY = "Усть-Каменогорск"
ADDRESS = "ул. Абая, д. 10, кв. 5"
PHONE = "+77012345678"
CALLER_TYPO_1 = "+77012345679"  # one digit off
CALLER_TYPO_2 = "+77012345699"  # two digits off
OTHER_PHONE = "+77015550000"  # the second order's customer
# how they may also be written (a leak in another alphabet is a leak)
SECRET_WORDS = ("Иванова", "Ivanova", "Каменогорск", "Kamenogorsk", "Абая", "Abaia", "Abaya")


def secrets_in(text: str) -> list[str]:
    """The customer's name, city or address words, or 7 digits of a customer's or
    caller's number, found in ``text``."""
    found = [w for w in SECRET_WORDS if w.lower() in text.lower()]
    return found + digit_leaks(text, (PHONE, CALLER_TYPO_1, CALLER_TYPO_2, OTHER_PHONE))


@dataclass
class SeededHotline:
    service: MaskingService
    site: str
    site_id: int
    hotline_id: int
    did: str
    shipment_id: int
    order_id: int
    other_shipment_id: int
    agent_id: int  # the site's employee, who answers
    other_agent_id: int  # the site's staff manager


_calls = itertools.count(1)


@dataclass(frozen=True)
class Contact:
    id: str
    case_id: str
    call_id: str | None
    code: str


def _order(
    service: MaskingService, site: str, ref: str, phone: str, *, model: str, store: str
) -> tuple[int, int]:
    incoming = orders.IncomingOrder(
        source="shop",
        external_ref=ref,
        status="pending_payment",
        payment_method="wire_transfer",
        store=store,
        created_at=service.clock() - timedelta(hours=2),
        customer_phone=phone,
        customer_tz="Asia/Almaty",
    )
    order_id, _ = orders.upsert_order(service, site, incoming)
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        order.model = model
        return order_id, order.shipment_id


def seed_hotline(
    service: MaskingService,
    site: str = "pvz1",
    *,
    pool: int = 0,
    did: str = DID,
    refs: tuple[str, str] = (ORDER, OTHER_ORDER),
) -> SeededHotline:
    """Site ``site`` (seeded unless it exists) with the brand's hotline on ``did``, order
    ``refs[0]`` (awaiting confirmation, of :data:`NAME` in :data:`CITY`, number
    :data:`PHONE`) and order ``refs[1]`` of another customer."""
    with service.db.session() as session:
        exists = session.scalar(select(Site.id).where(Site.code == site)) is not None
    if not exists:
        seed_site(service, site, pool=pool, hours="daily 00:00-23:59")
    order_id, shipment_id = _order(service, site, refs[0], PHONE, model=MODEL, store=STORE)
    hotline_id = hotlines.add_hotline(
        service,
        site,
        did,
        brand=BRAND,
        queue=f"hotline-{site}",
        region="KZ",
        support_email=SUPPORT_EMAIL,
    )
    _, other_shipment = _order(
        service, site, refs[1], OTHER_PHONE, model="Thunderobot 911", store="thunderobot.kz"
    )
    with service.db.session() as session:
        site_row = sites.get_site(session, site)
        shipment = session.get(Shipment, shipment_id)
        assert shipment is not None
        shipment.customer_name = NAME
        shipment.customer_city = CITY
        shipment.customer_address = ADDRESS
        other = session.get(Shipment, other_shipment)
        assert other is not None
        other.customer_name, other.customer_city = "Петров Пётр", "Астана"
        return SeededHotline(
            service=service,
            site=site,
            site_id=site_row.id,
            hotline_id=hotline_id,
            did=did,
            shipment_id=shipment_id,
            order_id=order_id,
            other_shipment_id=other_shipment,
            agent_id=accounts.get_staff(session, f"{site}-emp").id,
            other_agent_id=accounts.get_staff(session, f"{site}-manager").id,
        )


def agent_endpoint(service: MaskingService, staff_id: int) -> str:
    with service.db.session() as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None and staff.sip_endpoint
        return staff.sip_endpoint


def contact(
    service: MaskingService,
    hl: SeededHotline,
    caller: str,
    *,
    agent_id: int | None = None,
) -> Contact:
    """``caller`` calls the hotline (the route's :func:`contacts.incoming`: identified
    by number, queued) and the agent (the site's employee by default) answers now
    (``call_log.mark_answered`` and :func:`contacts.agent_answered`, as the AMI tracker
    reports a queue member's answer); the call is up."""
    n = next(_calls)
    decision = contacts.incoming(
        service,
        did="+" + hl.did,
        caller_id=caller,
        channel_id=f"PJSIP/trunk-{n:08x}",
        linked_id=f"1764500000.{n}",
    )
    assert decision.action == "queue" and decision.contact_id is not None, decision
    agent = hl.agent_id if agent_id is None else agent_id
    # what the AMI tracker does when the queue member's phone answered (DialEnd ANSWER)
    assert decision.call_id is not None
    call_log.mark_answered(service, decision.call_id, service.clock())
    answered = contacts.agent_answered(
        service,
        call_id=decision.call_id,
        linked_id=None,
        agent_endpoint=agent_endpoint(service, agent),
        at=service.clock(),
    )
    assert answered == decision.contact_id
    with service.db.session() as session:
        row = session.get(HotlineContact, decision.contact_id)
        assert row is not None
        return Contact(row.id, row.case_id, row.call_id, row.code)


def match_of(service: MaskingService, contact_id: str) -> tuple[str, list[dict[str, Any]]]:
    with service.db.session() as session:
        row = session.get(HotlineContact, contact_id)
        assert row is not None
        return row.match_type, list(row.candidates)


def reveal(service: MaskingService, hl: SeededHotline) -> str:
    """A live temporary number of the order (revealed by the site's owner)."""
    with service.db.session() as session:
        owner = accounts.get_staff(session, f"{hl.site}-owner").id
    return reveal_number(
        service, staff_id=owner, shipment_number=ORDER, reason="item_found_later"
    ).binding_id


def virtual_of(service: MaskingService, binding_id: str) -> str:
    with service.db.session() as session:
        binding = session.get(Binding, binding_id)
        assert binding is not None
        return binding.virtual_number


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)
