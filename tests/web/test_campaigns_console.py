"""The campaigns console (issue 11) as a person reads it, in Russian, English and
Ukrainian: an employee sees only the campaign assigned to them today, a manager every
campaign read-only; each waiting order says why and until when in words on the site's
clock with the zone named; an empty list says why nothing is due; the progressive panel,
the order page (attempts with units, a refused Confirm worded by the rule) and the day
report; and no customer's digits on any page."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from masking import accounts
from masking.calls import call_log
from masking.campaigns import orders, worklist
from masking.cases import lifecycle
from masking.service import MaskingService
from masking.states import CallStatus, Direction, Disposition, WaitReason
from masking.storage.models import CallRecord, Order, new_id
from masking.web import i18n
from masking.web.campaigns import console
from tests.support.web import Seeded

ZONE = "Europe/Moscow, UTC+03:00"
CUSTOMERS = [f"+7916777{i:04d}" for i in range(10)]
# 2026-11-18 09:00 UTC: Wednesday 12:00 in Moscow


def sign_in(client: TestClient, login: str, password: str) -> None:
    page = client.get("/login")
    csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    data = {"login": login, "password": password, "csrf": csrf}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


def csrf_of(page: str) -> str:
    return page.split('name="csrf" content="')[1].split('"')[0]


def visible(page: str) -> str:
    """The text of the page's main part as a person sees it (no tags, no attributes)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.split("<main>")[1]))


def no_customer_digits(text: str, world: Seeded) -> None:
    for customer in [*world.customers, *CUSTOMERS]:
        assert customer[2:] not in text and customer[1:] not in text, customer


def receive(service: MaskingService, ref: str, i: int, hours_ago: float, **fields: str) -> int:
    now = service.clock()
    incoming = orders.IncomingOrder(
        source="magna",
        external_ref=ref,
        status=fields.get("status", "pending_payment"),
        payment_method=fields.get("payment_method", "wire_transfer"),
        store="country_ua",
        created_at=now - timedelta(hours=hours_ago),
        customer_phone=CUSTOMERS[i],
        customer_tz=fields.get("tz", "Europe/Moscow"),
    )
    return orders.upsert_order(service, "pvz1", incoming)[0]


def attempt(
    service: MaskingService,
    order_id: int,
    at: datetime,
    disposition: Disposition,
    seconds: int | None = None,
) -> None:
    """A call that reached the customer, ended through the call log."""
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
    if disposition == Disposition.ANSWERED:
        call_log.mark_answered(service, call_id, at + timedelta(seconds=2))
    end = at + timedelta(seconds=2 + (seconds or 20))
    call_log.mark_ended(service, call_id, end, disposition, bridged_seconds=seconds)


def campaign(
    service: MaskingService,
    code: str = "unpaid-wire",
    methods: tuple[str, ...] = ("wire_transfer",),
) -> int:
    return worklist.save_campaign(
        service,
        "pvz1",
        code,
        title="Неоплаченные переводы",
        tz="Europe/Moscow",
        payment_methods=list(methods),
        statuses=["pending", "pending_payment"],
    )


def assign(service: MaskingService, campaign_id: int, login: str) -> None:
    with service.db.session() as session:
        staff_id = accounts.get_staff(session, login).id
    worklist.assign(service, campaign_id, staff_id, date(2026, 11, 18))


@pytest.fixture
def setup(world: Seeded) -> dict[str, int]:
    """A campaign assigned to pvz1-empvis with one order per reason."""
    service = world.service
    now = service.clock()
    cid = campaign(service)
    assign(service, cid, "pvz1-empvis")
    ids = {
        "fresh": receive(service, "W-fresh", 0, 1),
        "gap": receive(service, "W-gap", 1, 2),
        "capped": receive(service, "W-capped", 2, 4),
        "callback": receive(service, "W-callback", 3, 5),
        "nyc": receive(service, "W-nyc", 4, 6, tz="America/New_York"),
        "campaign": cid,
    }
    attempt(service, ids["gap"], now - timedelta(minutes=10), Disposition.NO_ANSWER)
    for minutes in (180, 120, 60, 30, 5):
        attempt(service, ids["capped"], now - timedelta(minutes=minutes), Disposition.BUSY)
    with service.db.session() as session:
        owner = accounts.get_staff(session, "pvz1-empvis").id
    orders.set_callback(service, ids["callback"], owner, now + timedelta(hours=3, minutes=30))
    return ids


@pytest.fixture
def employee(client: TestClient) -> TestClient:
    sign_in(client, "pvz1-empvis", "empvis-pass")
    return client


WORDS = {
    "ru": {
        "gap": "пауза до 12:50",
        "nyc": "окно «утро» откроется в 17:00 (09:00 у покупателя)",
        "capped": "лимит попыток на сегодня исчерпан; снова завтра в 09:00",
        "callback": "перезвон в 15:30 (звонит pvz1-empvis до 15:45)",
        "fresh": "можно звонить — окно «день»",
        "title": "Заказы к обзвону",
    },
    "en": {
        "gap": "gap until 12:50",
        "nyc": "morning window opens at 17:00 (09:00 customer's time)",
        "capped": "daily cap reached; next try tomorrow at 09:00",
        "callback": "callback at 15:30 (pvz1-empvis's until 15:45)",
        "fresh": "due now: afternoon window",
        "title": "Orders to call",
    },
    "uk": {
        "gap": "перерва до 12:50",
        "nyc": "вікно «ранок» відкриється о 17:00 (09:00 у покупця)",
        "capped": "ліміт спроб на сьогодні вичерпано; знову завтра о 09:00",
        "callback": "передзвін о 15:30 (телефонує pvz1-empvis до 15:45)",
        "fresh": "можна телефонувати — вікно «день»",
        "title": "Замовлення для обдзвону",
    },
}


@pytest.mark.parametrize("lang", ["ru", "en", "uk"])
def test_the_worklist_says_why_not_now_in_each_language(
    employee: TestClient, world: Seeded, setup: dict[str, int], lang: str
) -> None:
    page = employee.get(f"/campaigns/{setup['campaign']}?lang={lang}").text
    assert f'<html lang="{lang}">' in page
    table = page.split('id="orders"')[1].split("</table>")[0]
    rows = {
        key: html.unescape(table.split(f'data-id="{setup[key]}"')[1].split("</tr>")[0])
        for key in ("fresh", "gap", "capped", "callback", "nyc")
    }
    for key, row in rows.items():
        assert WORDS[lang][key] in row, (key, row)
    assert WORDS[lang]["title"] in page and ZONE in page
    # newest first, and a Call button only on the dialable row
    order = [table.index(f'data-id="{setup[k]}"') for k in ("fresh", "gap", "capped")]
    assert order == sorted(order)
    assert "call-order" in rows["fresh"] and "call-order" not in rows["gap"]
    assert 'id="ds-start"' in page and 'id="next"' in page
    shown = visible(page)
    for raw in ("why_", "cmp_", "wr_", "ds_", "win_", "window_closed", "daily_cap", "{"):
        assert raw not in shown, raw
    no_customer_digits(page, world)


@pytest.mark.parametrize(
    ("lang", "waiting", "next_call"),
    [
        ("ru", "Сейчас звонить некому: пауза после попытки — 1.", "станет возможен в 12:50"),
        ("en", "Nobody is due now: gap after an attempt — 1.", "becomes possible at 12:50"),
        ("uk", "Зараз нікому телефонувати: перерва після спроби — 1.", "стане можливим о 12:50"),
    ],
)
def test_an_empty_list_explains_why_nothing_is_due(
    employee: TestClient, world: Seeded, lang: str, waiting: str, next_call: str
) -> None:
    service = world.service
    cid = campaign(service)
    assign(service, cid, "pvz1-empvis")
    page = employee.get(f"/campaigns/{cid}?lang={lang}").text
    empty = page.split('id="why-empty"')[1].split("</p>")[0]
    assert "2026-11-17 00:00" in empty  # since yesterday, on the site's clock
    order = receive(service, "E-1", 0, 1)
    attempt(service, order, service.clock() - timedelta(minutes=10), Disposition.NO_ANSWER)
    page = employee.get(f"/campaigns/{cid}?lang={lang}").text
    empty = page.split('id="why-empty"')[1].split("</p>")[0]
    assert waiting in empty and next_call in empty, empty
    no_customer_digits(page, world)


def test_who_sees_which_campaign_in_the_console(
    client: TestClient, world: Seeded, setup: dict[str, int]
) -> None:
    cid = setup["campaign"]
    sign_in(client, "pvz1-emp", "emp-pass")  # an employee it is not assigned to
    listing = client.get("/campaigns").text
    assert 'id="no-campaign"' in listing and "не назначена ни одна кампания" in listing
    refused = client.get(f"/campaigns/{cid}")
    assert refused.status_code == 403 and "назначена не вам" in refused.text
    assert client.get(f"/orders/{setup['fresh']}").status_code == 403
    client.post("/logout", data={"csrf": csrf_of(listing)})

    sign_in(client, "pvz1-owner", "owner-pass")  # every campaign of the site, read-only
    listing = client.get("/campaigns?lang=en").text
    assert f'href="/campaigns/{cid}"' in listing and "pvz1-empvis" in listing
    assert 'id="nav-campaigns"' in listing
    page = client.get(f"/campaigns/{cid}").text
    assert 'id="read-only"' in page and "call-order" not in page and 'id="ds-start"' not in page
    assert "gap until 12:50" in page and 'id="assign-form"' in page
    order = client.get(f"/orders/{setup['gap']}").text
    assert 'id="read-only"' in order and 'id="outcome-form"' not in order
    no_customer_digits(listing + page + order, world)


@pytest.mark.parametrize(
    ("lang", "refusal", "outcome"),
    [
        ("ru", "Статус «Подтверждено» ставится только после разговора", "состоялся"),
        ("en", "“Confirmed” needs a conversation with the buyer of at least 10 s", "answered"),
        ("uk", "Статус «Підтверджено» можна встановити лише після розмови", "відбувся"),
    ],
)
def test_the_order_page_shows_attempts_and_refuses_confirm_without_a_call(
    employee: TestClient,
    world: Seeded,
    setup: dict[str, int],
    lang: str,
    refusal: str,
    outcome: str,
) -> None:
    service = world.service
    order = setup["fresh"]
    url = f"/orders/{order}?campaign={setup['campaign']}"
    page = employee.get(url + f"&lang={lang}").text
    assert 'id="outcome-form"' in page and 'id="call"' in page and ZONE in page
    refused = employee.post(
        f"/orders/{order}/outcome",
        data={"outcome": "confirm", "note": "ok", "campaign": "", "csrf": csrf_of(page)},
    )
    assert refused.status_code == 200 and refusal in refused.text, refused.text[-3000:]
    attempt(service, order, service.clock() - timedelta(minutes=1), Disposition.ANSWERED, 12)
    page = employee.get(url).text
    attempts = page.split('id="attempts"')[1].split("</table>")[0]
    assert outcome in attempts and ("12 с" in attempts or "12 s" in attempts)
    done = employee.post(
        f"/orders/{order}/outcome",
        data={"outcome": "confirm", "note": "bank details received", "csrf": csrf_of(page)},
    )
    assert done.status_code == 200
    status = done.text.split('id="order-status"')[1].split("</dd>")[0]
    assert {"ru": "подтверждено", "en": "confirmed", "uk": "підтверджено"}[lang] in status
    assert "bank details received" in done.text
    no_customer_digits(page + done.text, world)


def test_callback_and_payment_details_from_the_order_page(
    employee: TestClient, world: Seeded, setup: dict[str, int]
) -> None:
    order = setup["fresh"]
    page = employee.get(f"/orders/{order}?lang=en").text
    # 16:00 on the site's clock (Moscow)
    saved = employee.post(
        f"/orders/{order}/callback", data={"at": "2026-11-18T16:00", "csrf": csrf_of(page)}
    )
    assert saved.status_code == 200
    assert "2026-11-18 16:00" in saved.text.split('id="order-callback"')[1].split("</dd>")[0]
    assert "callback at 16:00" in saved.text.split('id="order-why"')[1].split("</dd>")[0]
    resent = employee.post(f"/orders/{order}/payment-details", data={"csrf": csrf_of(page)})
    assert 'id="resent-at"' in resent.text and "payment details resent" in resent.text
    no_customer_digits(resent.text, world)


def test_the_progressive_panel(employee: TestClient, world: Seeded, setup: dict[str, int]) -> None:
    cid = setup["campaign"]
    page = employee.get(f"/campaigns/{cid}?lang=en").text
    assert "Progressive dialing" in page and 'id="ds-start"' in page
    started = employee.post(f"/campaigns/{cid}/sessions", data={"csrf": csrf_of(page)})
    assert started.status_code == 200
    panel = started.text.split('id="session-live"')[1].split("</section>")[0]
    assert "running" in panel and 'id="ds-pause"' in panel and 'id="ds-stop"' in panel
    assert 'data-state="running"' in started.text
    sid = started.text.split('action="/dial-sessions/')[1].split("/")[0]
    paused = employee.post(
        f"/dial-sessions/{sid}/pause", data={"campaign": str(cid), "csrf": csrf_of(page)}
    )
    panel = paused.text.split('id="session-live"')[1].split("</section>")[0]
    assert "paused" in panel and 'id="ds-resume"' in panel
    stopped = employee.post(
        f"/dial-sessions/{sid}/stop", data={"campaign": str(cid), "csrf": csrf_of(page)}
    )
    assert 'id="ds-start"' in stopped.text
    no_customer_digits(started.text + paused.text, world)


def test_the_day_report_page(client: TestClient, world: Seeded, setup: dict[str, int]) -> None:
    sign_in(client, "pvz1-owner", "owner-pass")
    for lang, title in (("ru", "Отчёт за день"), ("en", "Day report"), ("uk", "Звіт за день")):
        page = client.get(f"/campaigns/{setup['campaign']}/report?lang={lang}").text
        assert title in page and 'id="rep-in_list">5<' in page
        assert "format=csv" in page and "day=2026-11-18" in page
        assert "rep_" not in visible(page) and "wr_" not in visible(page)
        no_customer_digits(page, world)


def test_every_text_the_campaign_pages_use_is_in_the_console_tables() -> None:
    """Each key the templates and the console module name has its three languages."""
    web = Path(console.__file__).parent
    used: set[str] = set()
    for template in (web / "templates").glob("*.html"):
        used |= set(re.findall(r't\("([a-z_0-9]+)"\)', template.read_text()))
    used |= set(re.findall(r'(?:text|_fill)\("([a-z_0-9]+)"', Path(console.__file__).read_text()))
    assert len(used) > 80
    assert [key for key in sorted(used) if key not in i18n.TEXT] == []
    for code in ("not_assigned", "not_dialable", "nothing_due", "session_open", "no_call"):
        assert code in i18n.ERRORS, code
    for reason in WaitReason:
        assert "wr_" + reason in i18n.TEXT, reason
