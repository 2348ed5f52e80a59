"""The hotline console (issue 12) as the agent reads it, in Russian, English and
Ukrainian: the pop with the match in words, the candidate orders (number, status, model,
store), the caller masked, the rule never to say the name or address; the verification
form answering per field; the voice flag; the actions after identification; the light
path; the support e-mail when the number matched nothing; the recent contacts and a
contact's audit for the managers, admin and QA. Every page of every test is scanned for
the customer's name, city, address and number digits."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from masking.service import MaskingService
from tests.support import hotline as support
from tests.support.clock import FakeClock
from tests.support.web import Seeded

PASSWORDS = {
    "pvz1-emp": "emp-pass",
    "pvz1-owner": "owner-pass",
    "root": "admin-pass",
    "qa1": "qa-pass",
}


def visible(page: str) -> str:
    """The text of the page's main part as a person sees it (no tags, no attributes)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.split("<main>")[1])).split())


@dataclass
class Console:
    client: TestClient
    service: MaskingService
    hl: support.SeededHotline
    pages: list[Response] = field(default_factory=list)

    def sign_in(self, login: str) -> None:
        self.client.cookies.clear()
        page = self.client.get("/login")
        data = {"login": login, "password": PASSWORDS[login], "csrf": csrf_of(page.text)}
        assert self.client.post("/login", data=data, follow_redirects=False).status_code == 303

    def get(self, path: str) -> Response:
        response = self.client.get(path)
        self.pages.append(response)
        return response

    def post(self, path: str, data: dict[str, str]) -> Response:
        """A form of the /hotline page, with its CSRF token; the page it lands on."""
        token = csrf_of(self.get("/hotline").text)
        response = self.client.post(path, data={**data, "csrf": token})
        self.pages.append(response)
        return response


def csrf_of(page: str) -> str:
    return page.split('name="csrf" content="')[1].split('"')[0]


@pytest.fixture
def console(client: TestClient, world: Seeded) -> Iterator[Console]:
    hl = support.seed_hotline(world.service, "pvz1")
    state = Console(client, world.service, hl)
    state.sign_in("pvz1-emp")
    yield state
    for page in state.pages:
        assert not support.secrets_in(page.text), (page.url, visible(page.text)[:300])


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("ru", ("опечатка, 1 цифра", "Не называйте клиенту ФИО и адрес", "ожидает подтверждения")),
        ("en", ("typo, 1 digit", "Never say the name or address", "awaiting confirmation")),
        ("uk", ("помилка, 1 цифра", "Не називайте клієнтові ПІБ", "очікує підтвердження")),
    ],
)
def test_the_pop_in_three_languages(console: Console, lang: str, words: tuple[str, ...]) -> None:
    waiting = visible(console.get(f"/hotline?lang={lang}").text)
    assert support.SUPPORT_EMAIL not in waiting
    contact = support.contact(console.service, console.hl, support.CALLER_TYPO_1)
    page = console.get("/hotline")
    text = visible(page.text)
    for word in words:
        assert word in text, (word, text[:600])
    assert support.ORDER in text and support.MODEL in text and support.STORE in text
    assert f"{support.BRAND} {contact.code}" in text
    assert re.search(r"\+7 7\*+ \*+ \*+79", text), text[:400]
    assert 'id="verify-form"' in page.text and 'id="flag-voice"' in page.text
    assert f'data-signature="{contact.id}|0|0|0|0|1|0"' in page.text
    assert 'src="/static/hotline.js"' in page.text
    assert 'id="nav-hotline"' in page.text


def test_the_verify_form_answers_per_field(console: Console, clock: FakeClock) -> None:
    contact = support.contact(console.service, console.hl, support.CALLER_TYPO_1)
    said = {"name": "Иванова", "order": support.ORDER, "city": "Астана", "address": ""}
    page = console.post(f"/hotline/{contact.id}/verify", said)
    text = visible(page.text)
    assert "Проверено." in text
    assert 'data-field="name" data-result="close"' in page.text
    assert 'data-field="order" data-result="match"' in page.text
    assert 'data-field="city" data-result="no_match"' in page.text
    assert "похоже — переспросите" in text and "не совпадает" in text
    assert "Осталось попыток: 2 из 3." in text
    assert "Астана" not in page.text  # what was typed is not shown back
    right = {"name": "Анна Иванова", "order": support.ORDER, "city": "усть-каменогорск"}
    page = console.post(f"/hotline/{contact.id}/verify", right)
    text = visible(page.text)
    assert f"Клиент идентифицирован по заказу {support.ORDER}." in text
    assert 'id="open"' in page.text and 'id="verify-form"' not in page.text
    page = console.post(f"/hotline/{contact.id}/open", {})
    assert 'id="actions"' in page.text and 'id="fix-number"' in page.text
    assert 'id="confirm"' in page.text
    clock.advance(seconds=20)
    page = console.post(f"/hotline/{contact.id}/confirm", {"note": "подтвердила заказ"})
    assert "Сохранено" in visible(page.text) or 'class="msg ok"' in page.text
    assert 'id="confirm"' not in page.text
    page = console.post(f"/hotline/{contact.id}/correct-number", {"note": "опечатка"})
    assert 'class="msg ok"' in page.text
    audit = console.get(f"/hotline/contacts/{contact.id}")
    text = visible(audit.text)
    for words in (
        "проверка личности",
        "клиент идентифицирован",
        "заказ открыт для изменений",
        "заказ подтверждён",
        "номер в заказе исправлен",
    ):
        assert words in text, words
    assert "name=match, order=match, city=match; try 2 of 3" in text


def test_a_refusal_is_a_sentence_in_the_console_language(console: Console) -> None:
    contact = support.contact(console.service, console.hl, support.PHONE)
    right = {"name": "Anna Ivanova", "order": support.ORDER, "city": "Ust-Kamenogorsk"}
    page = console.post(f"/hotline/{contact.id}/open", {})
    assert "Сначала идентифицируйте клиента" in visible(page.text)
    console.post(f"/hotline/{contact.id}/verify", right)
    page = console.post(f"/hotline/{contact.id}/voice", {"note": "мужской голос"})
    text = visible(page.text)
    assert "Голос не соответствует покупателю" in text and "должен сам позвонить" in text
    assert 'id="open"' not in page.text and 'id="flag-voice"' not in page.text
    page = console.post(f"/hotline/{contact.id}/cancel", {"note": "передумал"})
    assert "Покупатель должен сам позвонить на горячую линию." in visible(page.text)
    console.get("/hotline?lang=uk")
    page = console.post(f"/hotline/{contact.id}/change", {"note": "адреса"})
    assert "Покупець має сам зателефонувати" in visible(page.text)


def test_no_match_shows_the_support_address_and_the_light_path(console: Console) -> None:
    contact = support.contact(console.service, console.hl, "+77019999999")
    page = console.get("/hotline")
    text = visible(page.text)
    assert "нет совпадения" in text and "Номер звонящего не найден в заказах" in text
    assert support.SUPPORT_EMAIL in text and 'id="verify-form"' not in page.text
    page = console.post(f"/hotline/{contact.id}/find", {"order": support.ORDER})
    found = visible("<main>" + page.text.split('id="found"')[1])
    assert support.MODEL in found and support.STORE in found
    page = console.post(f"/hotline/{contact.id}/find", {"order": "NOPE-1"})
    assert "Заказ с таким номером не найден." in visible(page.text)


def test_managers_admin_and_qa_see_the_recent_contacts(console: Console) -> None:
    contact = support.contact(console.service, console.hl, support.CALLER_TYPO_1)
    for login in ("pvz1-owner", "root", "qa1"):
        console.sign_in(login)
        page = console.get("/hotline")
        assert page.status_code == 200
        assert f'data-id="{contact.id}"' in page.text, login
        assert "опечатка, 1 цифра" in visible(page.text)
        assert 'id="nav-hotline"' in page.text
        detail = console.get(f"/hotline/contacts/{contact.id}")
        assert detail.status_code == 200 and "pvz1-emp" in visible(detail.text)
        if login != "pvz1-owner":
            assert 'id="pop"' not in page.text  # platform roles never answer
    console.sign_in("pvz1-emp")
    assert 'id="recent"' not in console.get("/hotline").text
