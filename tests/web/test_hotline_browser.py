"""The hotline console in headless Chromium (issue 12): the agent waits on ``/hotline``; a
call from a number one digit off an order's pops live (no reload: the page polls
``/api/v1/hotline/pop``) with "typo, 1 digit", the order's number, status, model and
store, and the caller masked; a wrong identification answers per field, the right one
identifies; the order is opened, confirmed on this call and its number corrected; the
page in Ukrainian; the next call (the buyer's number, another voice) pops in its place and
is flagged; a caller whose number matched nothing gets the support address and the light
path; a manager sees the recent calls. Every page and every answer the browser received
is scanned for the customer's name, city, address and number digits. Screenshots of each
step go to ``screenshots/``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from masking.calls import call_log
from masking.states import Disposition
from masking.web.hotline.console import POLL_SECONDS
from tests.support import hotline as support
from tests.support.browser import Shots, sign_in, wait_live
from tests.support.clock import FakeClock
from tests.support.web import Seeded

pytestmark = pytest.mark.browser


class Session:
    """Every page state and every HTTP answer the browser got, for the final scan."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.snapshots: list[str] = []
        self.responses: list[Any] = []
        page.on("response", self._keep)

    def _keep(self, response: Any) -> None:
        self.responses.append(response)

    def snap(self) -> None:
        self.snapshots.append(self.page.content())

    def leaks(self) -> list[str]:
        found = []
        for html in self.snapshots:
            found += support.secrets_in(html)
        for response in self.responses:
            if response.status in (301, 302, 303, 307):
                continue
            try:
                body = response.text()
            except Exception:  # noqa: S112 - a body the browser no longer holds
                continue
            found += [f"{response.url}: {leak}" for leak in support.secrets_in(body)]
        return found

    def polls(self) -> int:
        return sum(1 for r in self.responses if r.url.endswith("/api/v1/hotline/pop"))


def test_the_agent_identifies_a_caller_on_the_live_pop(
    new_page: Callable[[], Any], shots: Shots, seeded: Seeded, clock: FakeClock
) -> None:
    service = seeded.service
    hl = support.seed_hotline(service, "pvz1")
    page = new_page()
    page.clock.install()  # the pop is polled on a timer: wait_live moves it on
    session = Session(page)
    sign_in(page, "pvz1-emp", "emp-pass")
    page.click("#nav-hotline")
    page.wait_for_selector("#pop-none")
    session.snap()
    shots(page, "waiting")

    # a call from a number one digit off the order's: the pop appears without a reload
    first = support.contact(service, hl, support.CALLER_TYPO_1)
    wait_live(page, every=POLL_SECONDS, selector="#pop-card")
    assert page.locator("#match-type").inner_text() == "опечатка, 1 цифра"
    row = page.locator(f"#candidates tr[data-shipment='{hl.shipment_id}']").inner_text()
    for fact in (support.ORDER, support.MODEL, support.STORE, "ожидает оплаты"):
        assert fact in row, fact
    assert "номер отличается на 1 цифру" in row and "ожидает подтверждения" in row
    caller = page.locator("#caller").inner_text()
    assert caller.startswith("+7 7") and caller.endswith("79") and "*" in caller
    assert f"{support.BRAND} {first.code}" in page.locator("#pop-card h2").inner_text()
    assert "Не называйте клиенту ФИО и адрес" in page.locator("#never-say").inner_text()
    page.wait_for_function(
        "document.getElementById('elapsed').textContent.includes(':')", timeout=5_000
    )
    session.snap()
    shots(page, "pop-typo-1-digit")

    # a wrong identification: per field, never the stored value
    page.fill("#said-name", "Петрова Анна")
    page.fill("#said-order", support.ORDER)
    page.fill("#said-city", "Астана")
    page.click("#check")
    page.wait_for_selector("#results")
    results = {
        field: page.locator(f"#results li[data-field='{field}']").get_attribute("data-result")
        for field in ("name", "order", "city")
    }
    assert results == {"name": "no_match", "order": "match", "city": "no_match"}
    assert "Осталось попыток: 2 из 3." in page.locator("#tries").inner_text()
    session.snap()
    shots(page, "verify-no-match")

    # the right one, as the customer says it (Latin, another order of the parts)
    page.fill("#said-name", "Anna Ivanova")
    page.fill("#said-order", f"№ {support.ORDER}")
    page.fill("#said-city", "г. Усть-Каменогорск")
    page.click("#check")
    page.wait_for_selector("#identified")
    assert support.ORDER in page.locator("#identified").inner_text()
    session.snap()
    shots(page, "identified")

    page.click("#open")
    page.wait_for_selector("#actions")
    assert "Этот звонок засчитывается" in page.locator("#confirm-hint").inner_text()
    session.snap()
    shots(page, "order-open")
    clock.advance(seconds=40)  # still on the phone: 40 s of conversation
    page.fill("#confirm-note", "Клиентка подтвердила заказ")
    page.click("#confirm")
    page.wait_for_selector(".msg.ok")
    assert page.locator("#confirm").count() == 0
    page.fill("#fix-note", "опечатка в номере при оформлении")
    page.click("#fix-number")
    page.wait_for_selector(".msg.ok")
    session.snap()
    shots(page, "confirmed-and-number-corrected")

    # the same pop in Ukrainian
    page.click("a[hreflang='uk']")
    page.wait_for_selector("#pop-card")
    assert page.locator("#match-type").inner_text() == "помилка, 1 цифра"
    assert "Клієнта ідентифіковано" in page.locator("#identified").inner_text()
    session.snap()
    shots(page, "pop-uk")
    page.click("a[hreflang='ru']")
    page.wait_for_selector("#pop-card")

    # the call ends; the next one, from the (corrected) buyer's number, pops in its place
    assert first.call_id is not None
    call_log.mark_ended(service, first.call_id, clock.now, Disposition.ANSWERED)
    clock.advance(minutes=1)
    second = support.contact(service, hl, support.CALLER_TYPO_1)
    wait_live(
        page,
        every=POLL_SECONDS,
        function=f"document.getElementById('pop-card')?.dataset.contact === '{second.id}'",
    )
    assert page.locator("#match-type").inner_text() == "точное"
    page.fill("#said-name", "Иванова Анна")
    page.fill("#said-order", support.ORDER)
    page.fill("#said-address", "Абая 10, кв. 5")
    page.click("#check")
    page.wait_for_selector("#identified")
    page.fill("#voice-note", "мужской голос, заказ на Анну")
    page.click("#flag-voice")
    page.wait_for_selector("#voice-flagged")
    assert "должен сам позвонить" in page.locator("#voice-flagged").inner_text()
    assert page.locator("#open").count() == 0
    session.snap()
    shots(page, "voice-mismatch")

    # a caller whose number matched nothing: the support address, and the light path
    assert second.call_id is not None
    call_log.mark_ended(service, second.call_id, clock.now, Disposition.ANSWERED)
    clock.advance(minutes=1)
    third = support.contact(service, hl, "+77019999999")
    wait_live(
        page,
        every=POLL_SECONDS,
        function=f"document.getElementById('pop-card')?.dataset.contact === '{third.id}'",
    )
    assert page.locator("#match-type").inner_text() == "нет совпадения"
    assert page.locator("#support-email").inner_text() == support.SUPPORT_EMAIL
    page.fill("#find-order", support.ORDER)
    page.click("#find")
    page.wait_for_selector("#found")
    assert support.MODEL in page.locator("#found").inner_text()
    session.snap()
    shots(page, "no-match-light-path")
    assert session.polls() >= 3

    # the site's owner: the recent calls and one call's audit
    manager = new_page()
    watched = Session(manager)
    sign_in(manager, "pvz1-owner", "owner-pass")
    manager.goto("/hotline")
    manager.wait_for_selector("#recent")
    assert manager.locator("#recent tr[data-id]").count() == 3
    watched.snap()
    shots(manager, "recent-calls")
    manager.click(f"#recent tr[data-id='{first.id}'] a")
    manager.wait_for_selector("#events")
    events = manager.locator("#events").inner_text()
    for words in ("проверка личности", "клиент идентифицирован", "номер в заказе исправлен"):
        assert words in events, words
    watched.snap()
    shots(manager, "call-audit")

    leaks = session.leaks() + watched.leaks()
    assert not leaks, leaks
