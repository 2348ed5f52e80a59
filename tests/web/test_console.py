"""The console in headless Chromium: login, search + reveal, visibility, suspension, QA."""

from __future__ import annotations

from typing import Any

import pytest

from masking.calls import call_log
from tests.support.browser import Server, Shots, sign_in, sign_out
from tests.support.web import Seeded

pytestmark = pytest.mark.browser

REASON = "item_found_later"


def reveal_in_page(page: Any, shots: Shots, shipment: str, step: str) -> None:
    page.goto("/search")
    page.fill("input[name=shipment]", shipment)
    page.click("#find")
    page.wait_for_selector("#item")
    shots(page, f"{step}-search")
    page.select_option("#reason", REASON)
    page.click("#reveal")
    page.wait_for_load_state()
    shots(page, f"{step}-reveal")


def test_login(new_page: Any, shots: Shots, console: Server) -> None:
    page = new_page()
    page.goto("/")
    assert page.url.endswith("/login")
    assert page.locator("h1").inner_text() == "Вход"
    shots(page, "login-ru")
    page.fill("input[name=login]", "pvz1-owner")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "Неверный логин или пароль" in page.locator("#error").inner_text()
    shots(page, "login-wrong-password")
    page.goto("/lang/en?next=/login")
    assert page.locator("h1").inner_text() == "Sign in"
    shots(page, "login-en")
    sign_in(page, "pvz1-owner", "owner-pass")
    assert page.url.endswith("/search")
    assert "Item search" in page.locator("h1").inner_text()
    shots(page, "signed-in-en")


def test_search_and_reveal(new_page: Any, shots: Shots) -> None:
    page = new_page()
    sign_in(page, "pvz1-owner", "owner-pass")
    reveal_in_page(page, shots, "PVZ1-00001", "owner")
    number = page.locator("#temp-number").inner_text()
    assert number.startswith("+7495")
    assert "+7916" not in page.content()
    assert page.locator("#call").is_visible()
    page.goto("/calls")
    shots(page, "history")
    page.goto("/admin/audit")
    assert "PVZ1-00001" in page.locator("#audit").inner_text()
    shots(page, "audit")
    page.goto("/search?shipment=NOPE-1")
    assert "не найдено" in page.locator("#error").inner_text()
    shots(page, "unknown-shipment")


def test_employee_refused_until_owner_switches_visibility(new_page: Any, shots: Shots) -> None:
    employee = new_page()
    sign_in(employee, "pvz1-emp", "emp-pass")
    reveal_in_page(employee, shots, "PVZ1-00002", "employee-refused")
    message = employee.locator("#error").inner_text()
    assert "Попросите владельца пункта включить доступ" in message
    assert employee.locator("#temp-number").count() == 0

    owner = new_page()
    sign_in(owner, "pvz1-owner", "owner-pass")
    owner.goto("/team")
    shots(owner, "team-before")
    row = owner.locator("#staff-pvz1-emp")
    row.locator("button.toggle").click()
    owner.wait_for_load_state()
    assert "да" in owner.locator("#staff-pvz1-emp").inner_text()
    shots(owner, "team-after")
    sign_out(owner)

    reveal_in_page(employee, shots, "PVZ1-00002", "employee-allowed")
    assert employee.locator("#temp-number").inner_text().startswith("+7495")


def test_admin_suspends_site_and_reveals_stop(new_page: Any, shots: Shots) -> None:
    owner = new_page()
    sign_in(owner, "pvz1-owner", "owner-pass")
    reveal_in_page(owner, shots, "PVZ1-00000", "before-suspension")
    assert owner.locator("#temp-number").count() == 1

    admin = new_page()
    sign_in(admin, "root", "admin-pass")
    assert admin.url.endswith("/admin/sites")
    shots(admin, "sites")
    admin.click("text=pvz1")
    admin.wait_for_url("**/admin/sites/pvz1")
    shots(admin, "site")
    admin.fill("#suspend-reason", "Жалобы клиентов на грубость")
    admin.click("#suspend")
    admin.wait_for_selector("#suspended")
    shots(admin, "site-suspended")
    admin.goto("/admin/pool")
    shots(admin, "pool")
    admin.goto("/admin/reasons")
    shots(admin, "reasons")

    reveal_in_page(owner, shots, "PVZ1-00000", "after-suspension")
    assert "временно скрыты администратором" in owner.locator("#error").inner_text()
    assert owner.locator("#temp-number").count() == 0

    admin.goto("/admin/sites/pvz1")
    admin.click("#resume")
    admin.wait_for_selector("#suspend")
    reveal_in_page(owner, shots, "PVZ1-00000", "after-resume")
    assert owner.locator("#temp-number").count() == 1


def test_qa_plays_a_recording(new_page: Any, shots: Shots, seeded: Seeded) -> None:
    page = new_page()
    ranges: list[tuple[int, str | None]] = []
    page.on(
        "response",
        lambda r: (
            ranges.append((r.status, r.request.headers.get("range")))
            if "/api/v1/recordings/" in r.url
            else None
        ),
    )
    sign_in(page, "qa1", "qa-pass")
    assert page.url.endswith("/qa/recordings")
    shots(page, "recordings")
    audio = page.locator(f"audio[data-call='{seeded.calls['pvz1']}']")
    result = audio.evaluate(
        """async (el) => {
            await el.play();
            await new Promise((resolve) => {
                if (el.currentTime > 0.1) return resolve();
                el.addEventListener("timeupdate", () => { if (el.currentTime > 0.1) resolve(); });
                setTimeout(resolve, 5000);
            });
            return {time: el.currentTime, duration: el.duration, error: el.error && el.error.code};
        }"""
    )
    assert result["error"] is None
    assert result["duration"] == pytest.approx(0.5, abs=0.05)
    assert result["time"] > 0.1
    assert any(status == 206 for status, _ in ranges), ranges
    shots(page, "recording-playing")
    page.goto("/qa/recordings?site=pvz2&sample=1&size=5&days=30")
    assert page.locator("audio").count() == 1
    shots(page, "sample")


def test_call_button_shows_live_status(
    new_page: Any, shots: Shots, browser_service: Any, console: Server
) -> None:
    """The Call button's live status display (console JS + SSE). The originator here is
    the HTTP-layer test double and the status changes are written the way the AMI client
    writes them; the same flow against the real Asterisk is not covered here."""
    from datetime import timedelta

    page = new_page()
    sign_in(page, "pvz1-owner", "owner-pass")
    reveal_in_page(page, shots, "PVZ1-00001", "call")
    page.click("#call")
    page.wait_for_selector("#call-status[data-status=ringing_staff]")
    call_id = page.locator("#call-status").get_attribute("data-call")
    assert call_id
    shots(page, "call-ringing-staff")

    # each change as the AMI client writes it, the next once the page showed this one
    call_log.set_status(browser_service, call_id, "ringing_customer")
    page.wait_for_selector("#call-status[data-status=ringing_customer]")
    call_log.mark_answered(browser_service, call_id, browser_service.clock())
    page.wait_for_selector("#call-status[data-status=connected]")
    assert "разговор идёт" in page.locator("#call-status-text").inner_text()
    shots(page, "call-connected")
    call_log.mark_ended(browser_service, call_id, browser_service.clock() + timedelta(seconds=20))
    page.wait_for_selector("#call-status[data-status=ended]")
    assert page.locator("#call-status").get_attribute("data-disposition") == "answered"
    assert "звонок завершён: состоялся" in page.locator("#call-status-text").inner_text()
    shots(page, "call-ended")
