"""The appeals console in headless Chromium (issue 10): the queue in its three SLA colours,
live; an appeal with its attempts; a refused status change naming the rule; the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.support import appeals
from tests.support.browser import Shots, sign_in, wait_live
from tests.support.web import Seeded

pytestmark = pytest.mark.browser

QUEUE_LIVE_SECONDS = 10  # the queue's data-live (appeals.html)
COLOURS = {  # the left edge of each row (console.css)
    "on_time": "rgb(46, 125, 50)",
    "first_call_missed": "rgb(224, 168, 0)",
    "breached": "rgb(198, 40, 40)",
}


def test_appeals(new_page: Callable[[], Any], shots: Shots, seeded: Seeded) -> None:
    service = seeded.service
    now = service.clock()
    appeals.receive(service, "A-101", received_at=now - timedelta(minutes=30))
    appeals.receive(service, "A-102", topic="complaint", received_at=now - timedelta(hours=3))
    appeals.receive(
        service, "A-103", topic="payment_question", received_at=now - timedelta(hours=25)
    )
    page = new_page()
    page.clock.install()  # the queue refreshes itself on a timer: wait_live moves it on
    sign_in(page, "pvz1-owner", "owner-pass")
    page.click("#nav-appeals")
    page.wait_for_selector("#appeals")
    rows = page.locator("#appeals tr.sla")
    assert [rows.nth(i).get_attribute("data-sla") for i in range(3)] == [
        "breached",
        "first_call_missed",
        "on_time",
    ]
    for i in range(3):
        state = rows.nth(i).get_attribute("data-sla") or ""
        edge = (
            rows.nth(i).locator("td").first.evaluate("el => getComputedStyle(el).borderLeftColor")
        )
        assert edge == COLOURS[state]
    text = page.locator("#appeals").inner_text()
    assert "просрочено (24 ч)" in text and "звонок позже 2 ч" in text and "в срок" in text
    assert "Europe/Moscow" in page.locator("#zone").inner_text()
    assert "+7916" not in page.content()
    shots(page, "queue")

    # live: an appeal received now appears without a reload
    case_id = appeals.receive(service, "A-104", topic="contact_request")
    wait_live(page, every=QUEUE_LIVE_SECONDS, selector=f"#appeals tr[data-id='{case_id}']")
    shots(page, "queue-live")

    # the appeal: attempts with outcome and duration, then a refused Resolved
    appeals.call(service, case_id, now - timedelta(minutes=1), "no_answer", None)
    appeals.call(service, case_id, now, "answered", 65)
    page.click(f"#appeals tr[data-id='{case_id}'] a >> nth=0")
    page.wait_for_selector("#attempts")
    attempts = page.locator("#attempts").inner_text()
    assert "нет ответа" in attempts and "1 мин 5 с" in attempts
    assert "+7916" not in page.content()
    shots(page, "detail")

    refused_case = appeals.receive(service, "A-105", received_at=now - timedelta(minutes=5))
    page.goto(f"/appeals/{refused_case}")
    page.select_option("#new-status", "resolved")
    page.fill("#status-note", "Поговорили")
    page.click("#set-status")
    page.wait_for_load_state()
    flash = page.locator("p.msg.error").inner_text()
    assert "разговора с покупателем" in flash and "10 с" in flash
    assert "новое" in page.locator("#appeal-status").inner_text()
    shots(page, "refused")

    page.click("#call")
    page.wait_for_selector("#call-status:not([hidden])")
    assert page.locator("#call-status-text").inner_text()
    shots(page, "call")

    page.goto("/appeals/report")
    assert page.locator("#rep-received").inner_text() == "5"
    assert "format=csv" in (page.locator("#csv").get_attribute("href") or "")
    assert page.locator("input[name=since]").get_attribute("lang") == "ru"
    shots(page, "report")
