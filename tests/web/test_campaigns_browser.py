"""The campaigns console in headless Chromium (issue 11): an employee opens the campaign
assigned to them; every waiting order says why and until when; a running progressive
session shows its call's live status, then asks for the note before the next call, then
says why it waits; a new order appears without a reload; the page in Ukrainian; the order
confirmed after a real call. Screenshots of each step go to ``screenshots/``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from masking import accounts
from masking.calls import call_log
from masking.campaigns import orders, progressive, worklist
from masking.cases import lifecycle
from masking.service import MaskingService
from masking.states import CallStatus, Direction, Disposition
from masking.storage.models import CallRecord, Order, new_id
from masking.web.campaigns.console import SESSION_LIVE_SECONDS
from tests.support.browser import Shots, sign_in, wait_live
from tests.support.web import Seeded

pytestmark = pytest.mark.browser

CUSTOMERS = [f"+7916888{i:04d}" for i in range(10)]
# the browser tests' clock: 2026-11-18 09:00 UTC, Wednesday 12:00 in Moscow


def receive(service: MaskingService, ref: str, i: int, hours_ago: float, tz: str = "") -> int:
    incoming = orders.IncomingOrder(
        source="magna",
        external_ref=ref,
        status="pending_payment",
        payment_method="wire_transfer",
        store="country_ua",
        created_at=service.clock() - timedelta(hours=hours_ago),
        customer_phone=CUSTOMERS[i],
        customer_tz=tz or "Europe/Moscow",
    )
    return orders.upsert_order(service, "pvz1", incoming)[0]


def attempt(service: MaskingService, order_id: int, minutes_ago: int, disposition: str) -> None:
    """A call that reached the customer ``minutes_ago``, ended as ``disposition``."""
    at = service.clock() - timedelta(minutes=minutes_ago)
    with service.db.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        record = CallRecord(
            id=new_id(),
            direction=Direction.CLICK2CALL,
            site_id=order.site_id,
            staff_id=accounts.get_staff(session, "pvz1-empvis").id,
            shipment_id=order.shipment_id,
            case_id=order.case_id,
            reason_code="order_confirmation",
            started_at=at,
            status=CallStatus.RINGING_CUSTOMER,
        )
        record.recording_file = f"x/{record.id}.wav"
        session.add(record)
        session.flush()
        lifecycle.attempt_started(session, order.case_id, at)
        call_id = record.id
    call_log.mark_ended(service, call_id, at + timedelta(seconds=30), disposition)


def visible_digits(page: Any) -> None:
    html = page.content()
    for customer in CUSTOMERS:
        assert customer[2:] not in html and customer[1:] not in html


def test_campaign_worklist_and_progressive_session(
    new_page: Callable[[], Any], shots: Shots, seeded: Seeded
) -> None:
    service = seeded.service
    campaign = worklist.save_campaign(
        service,
        "pvz1",
        "unpaid-wire",
        title="Неоплаченные банковские переводы",
        tz="Europe/Moscow",
        payment_methods=["wire_transfer"],
        statuses=["pending", "pending_payment"],
    )
    with service.db.session() as session:
        operator = accounts.get_staff(session, "pvz1-empvis").id
        colleague = accounts.get_staff(session, "pvz1-manager")
        colleague.display_name = "Иван"
        colleague_id = colleague.id
    worklist.assign(service, campaign, operator, date(2026, 11, 18))
    fresh = receive(service, "100501", 0, 0.5)
    gap = receive(service, "100500", 1, 1)
    busy = receive(service, "100499", 2, 2)
    capped = receive(service, "100498", 3, 3)
    callback = receive(service, "100497", 4, 4)
    receive(service, "100496", 5, 5, tz="America/New_York")
    attempt(service, gap, 10, Disposition.NO_ANSWER)
    attempt(service, busy, 0, Disposition.BUSY)  # at 12:00, in the afternoon window
    for minutes in (170, 120, 60, 30, 5):
        attempt(service, capped, minutes, Disposition.BUSY)
    orders.set_callback(service, callback, colleague_id, service.clock() + timedelta(hours=3))

    page = new_page()
    page.clock.install()  # the page refreshes itself on timers: wait_live moves them on
    sign_in(page, "pvz1-empvis", "empvis-pass")
    page.click("#nav-campaigns")
    page.wait_for_selector("#campaigns")
    shots(page, "campaigns")
    page.click(f"#campaigns tr[data-id='{campaign}'] a >> nth=0")
    page.wait_for_selector("#orders")
    why = {
        order: page.locator(f"#orders tr[data-id='{order}'] td.why").inner_text()
        for order in (fresh, gap, busy, capped, callback)
    }
    assert why[fresh] == "можно звонить — окно «день»"
    assert why[gap] == "пауза до 12:50"
    assert why[busy] == "было занято — повтор в 12:10"
    assert why[capped] == "лимит попыток на сегодня исчерпан; снова завтра в 09:00"
    assert why[callback] == "перезвон в 15:00 (звонит Иван до 15:15)"
    text = page.locator("#orders").inner_text()
    assert "окно «утро» откроется в 17:00 (09:00 у покупателя)" in text
    assert page.locator(f"#orders tr[data-id='{fresh}'] button.call-order").count() == 1
    assert page.locator(f"#orders tr[data-id='{gap}'] button.call-order").count() == 0
    assert "Europe/Moscow" in page.locator("#zone").inner_text()
    visible_digits(page)
    shots(page, "worklist")

    # the progressive session: started, it rings the operator's phone, then the customer
    page.click("#ds-start")
    page.wait_for_selector("#ds-pause")
    session_id = progressive.open_session(service, operator)
    assert session_id is not None
    dialed = progressive.step(service, session_id)
    assert dialed.outcome == progressive.StepOutcome.DIAL and dialed.order_id == fresh
    assert dialed.call_id is not None
    call_id = dialed.call_id
    wait_live(
        page,
        every=SESSION_LIVE_SECONDS,
        function="document.getElementById('ds-call').dataset.status === 'ringing_staff'",
    )
    assert "снимите трубку" in page.locator("#ds-call").inner_text()
    with service.db.session() as session:
        record = session.get(CallRecord, call_id)
        assert record is not None
        record.recording_file = f"x/{call_id}.wav"  # the desk dialed the customer
    call_log.mark_answered(service, call_id, service.clock())
    wait_live(
        page,
        every=SESSION_LIVE_SECONDS,
        function="document.getElementById('ds-call').dataset.status === 'connected'",
    )
    assert "разговор идёт" in page.locator("#ds-call").inner_text()
    assert page.locator("#ds-state").inner_text() == "идёт"
    visible_digits(page)
    shots(page, "session-on-call")

    # the call ends: the note is due before the next call
    call_log.mark_ended(
        service, call_id, service.clock() + timedelta(seconds=15), Disposition.ANSWERED
    )
    assert progressive.step(service, session_id).outcome == progressive.StepOutcome.NOTE_DUE
    wait_live(page, every=SESSION_LIVE_SECONDS, selector="#ds-note")
    assert "100501" in page.locator("#ds-note-due").inner_text()
    shots(page, "session-note-due")
    page.fill("#ds-note", "Клиент подтвердил заказ, реквизиты получил")
    page.click("#ds-note-save")
    page.wait_for_load_state()
    assert page.locator("#ds-note").count() == 0
    # nothing else is due: the session says why and until when
    idle = progressive.step(service, session_id)
    assert idle.outcome == progressive.StepOutcome.IDLE
    wait_live(
        page,
        every=SESSION_LIVE_SECONDS,
        function="document.getElementById('ds-idle').textContent.includes('некому')",
    )
    assert "следующий звонок в 12:10" in page.locator("#ds-idle").inner_text()
    empty = page.locator("#why-empty").inner_text()
    assert "Сейчас звонить некому" in empty and "в 12:10" in empty
    shots(page, "session-idle")

    # a new order arrives: it appears without a reload, due now
    new = receive(service, "100502", 6, 0.1)
    wait_live(
        page, every=SESSION_LIVE_SECONDS, selector=f"#orders tr[data-id='{new}'] button.call-order"
    )
    assert page.locator("#orders tr.wl").first.get_attribute("data-id") == str(new)
    visible_digits(page)
    shots(page, "worklist-live")

    # the same page in Ukrainian
    page.click("a[hreflang='uk']")
    page.wait_for_selector("#orders")
    assert page.locator(f"#orders tr[data-id='{gap}'] td.why").inner_text() == ("перерва до 12:50")
    assert "Автообдзвін" in page.locator("#session").inner_text()
    shots(page, "worklist-uk")

    # the order: its attempt with outcome and duration, confirmed with a note
    page.click("a[hreflang='ru']")
    page.wait_for_selector("#orders")
    page.goto(f"/orders/{fresh}?campaign={campaign}")
    attempts = page.locator("#attempts").inner_text()
    assert "состоялся" in attempts and "15 с" in attempts
    assert "Клиент подтвердил заказ" in page.locator("#notes").inner_text()
    page.fill("#outcome-note", "Подтвердил по телефону")
    page.click("#confirm")
    page.wait_for_load_state()
    assert "подтверждено" in page.locator("#order-status").inner_text()
    visible_digits(page)
    shots(page, "order-confirmed")
    progressive.stop(service, session_id, operator)
