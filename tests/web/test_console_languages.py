"""The console in its three languages (issue 10): every text in Russian, English and
Ukrainian with the same placeholders, the UK switch, and a refused status change worded
wholly in the console's language."""

from __future__ import annotations

import re
import string

import pytest
from fastapi.testclient import TestClient

from masking.cases.rules import RuleBroken, check_change
from masking.reasons import DEFAULT_REASONS
from masking.refusals import Refusal
from masking.states import AppealType, CaseKind, CaseStatus, WaitReason
from masking.web import formatting, i18n
from masking.web.errors import ApiError
from masking.web.pages import error_sentence
from tests.support import appeals
from tests.support.web import Seeded

TABLES = {"TEXT": i18n.TEXT, "ERRORS": i18n.ERRORS, "REFUSED_CHANGES": i18n.REFUSED_CHANGES}
ENTRIES = [(f"{table}[{key!r}]", entry) for table, d in TABLES.items() for key, entry in d.items()]
# a Latin letter: an English word (or a raw code) inside a Russian or Ukrainian sentence
LATIN = re.compile(r"[A-Za-z]")


def placeholders(sentence: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(sentence) if name is not None}


@pytest.mark.parametrize(("where", "entry"), ENTRIES, ids=[w for w, _ in ENTRIES])
def test_every_text_in_three_languages_with_the_same_placeholders(
    where: str, entry: i18n.Text
) -> None:
    assert len(entry) == len(i18n.LANGS) == 3
    for lang in i18n.LANGS:
        assert i18n.pick(entry, lang).strip(), f"{where}: no {lang} text"
    wanted = placeholders(entry.ru)
    for lang in i18n.LANGS:
        assert placeholders(i18n.pick(entry, lang)) == wanted, f"{where}: {lang} placeholders"


def test_the_default_reasons_have_labels_with_the_same_titles() -> None:
    for code, ru, en, _ in DEFAULT_REASONS:
        entry = i18n.TEXT["rs_" + code]
        assert (entry.ru, entry.en) == (ru, en), code
    assert formatting.reason_label("item_found_later", "uk") == (
        "Товар не знайшли одразу, знайшли пізніше"
    )
    own = {"code": "mine", "title_ru": "Своя", "title_en": "Own"}
    assert formatting.reason_title(own, "uk") == "Own"
    assert formatting.reason_title(own, "ru") == "Своя"


def test_every_status_and_appeal_type_has_a_label() -> None:
    for status in CaseStatus:
        assert "cs_" + status in i18n.TEXT, status
    for topic in AppealType:
        assert "at_" + topic in i18n.TEXT, topic
    for refusal in Refusal:
        assert "deny_" + refusal in i18n.TEXT, refusal  # the call history names it
    for reason in WaitReason:
        assert any(key.endswith(reason) for key in i18n.TEXT), reason


def test_pick_and_units_in_ukrainian() -> None:
    entry = i18n.Text("да", "yes", "так")
    assert [i18n.pick(entry, lang) for lang in ("ru", "en", "uk", "xx")] == [
        "да",
        "yes",
        "так",
        "да",
    ]
    assert formatting.duration(3 * 3600 + 120, "uk") == "3 год 2 хв"
    assert formatting.duration(65, "uk") == "1 хв 5 с"
    assert formatting.time_left(-30, "uk") == "прострочено на 30 хв"
    assert i18n.appeal_type("complaint", "uk") == "Скарга"


def refusal(*args: object, **kwargs: object) -> RuleBroken:
    with pytest.raises(RuleBroken) as caught:
        check_change(*args, **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, []), {"note": "ok"}),
        ((CaseStatus.IN_PROGRESS, CaseStatus.NOT_RESOLVED, []), {"note": "ok"}),
        ((CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, []), {"note": " "}),
        ((CaseStatus.RESOLVED, CaseStatus.IN_PROGRESS, []), {"note": "ok"}),
    ],
)
def test_every_refused_change_is_a_whole_sentence_in_each_language(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    exc = refusal(CaseKind.APPEAL, *args, **kwargs)
    assert exc.rule in i18n.REFUSED_CHANGES
    err = ApiError(409, exc.rule, str(exc), params=dict(exc.params))
    for lang in ("ru", "uk"):
        sentence = error_sentence(err, lang)
        assert not LATIN.search(sentence), sentence
        assert "{" not in sentence and sentence != i18n.pick(i18n.REFUSED_CHANGES["refused"], lang)
    english = error_sentence(err, "en")
    assert "{" not in english and not re.search("[А-Яа-яЁёІіЇїЄєҐґ]", english)


def test_the_refused_change_names_statuses_by_their_labels() -> None:
    params = {"current": "resolved", "target": "in_progress"}
    assert i18n.refused_change("transition", "ru", params) == (
        "Статус «Решено» нельзя сменить на «В работе»."
    )
    assert i18n.refused_change("transition", "uk", params) == (
        "Статус «Вирішено» не можна змінити на «В роботі»."
    )
    # parameters missing: a sentence still, never a KeyError
    assert i18n.refused_change("transition", "ru", {}) == "Такая смена статуса невозможна."
    # "closed" of a site (no params) is not "closed" of a case
    site_closed = ApiError(409, "closed", "the site is closed")
    assert error_sentence(site_closed, "ru") == i18n.error_text("closed", "ru")
    case_closed = ApiError(409, "closed", "status: ...", params={"current": "not_resolved"})
    assert error_sentence(case_closed, "uk") == (
        "Роботу щодо цього клієнта вже закрито зі статусом «Не вирішено»."
    )


# ---- the console ---------------------------------------------------------------------------
def sign_in(client: TestClient, login: str, password: str) -> None:
    page = client.get("/login")
    csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    data = {"login": login, "password": password, "csrf": csrf}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


@pytest.fixture
def owner(client: TestClient) -> TestClient:
    sign_in(client, "pvz1-owner", "owner-pass")
    return client


def test_switching_to_ukrainian(owner: TestClient, world: Seeded) -> None:
    service = world.service
    for i, topic in enumerate(AppealType):
        appeals.receive(service, f"UK-{i}", topic=topic)
    russian = owner.get("/appeals").text
    assert 'href="/lang/uk?next=/appeals"' in russian and "Жалоба" in russian

    switched = owner.get("/lang/uk?next=/appeals", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/appeals"
    assert owner.cookies.get("lang") == "uk"

    page = owner.get("/appeals").text
    assert '<html lang="uk">' in page
    table = page.split('id="appeals"')[1].split("</table>")[0]
    for label in (
        "Прохання зв’язатися",
        "Уточнення щодо доставки",
        "Скасування замовлення",
        "Скарга",
        "Повернення товару",
        "Виправлення інформації на сайті",
        "Запитання про оплату",
        "нове",
        "вчасно",
    ):
        assert label in table, label
    for russian_label in ("Жалоба", "Вопрос о доставке", "новое", "в срок"):
        assert russian_label not in table
    for label in ("Звернення", "Тип звернення", "Виконавець", "Залишилося", "Вийти"):
        assert label in page, label
    assert 'class="on" hreflang="uk"' in page

    search = owner.get(f"/search?shipment={world.shipment('pvz1')}").text
    assert '<html lang="uk">' in search
    for label in (
        "Пошук товару",
        "Номер відправлення",
        "Знайти",
        "у пункті видачі",
        "Причина дзвінка",
        "Показати номер",
        "Товар не знайшли одразу, знайшли пізніше",
        "Телефонуйте лише в робочі години",
    ):
        assert label in search, label
    assert "Поиск товара" not in search and "Item could not be found" not in search

    calls = owner.get("/calls").text
    assert 'lang="uk"' in calls.split('name="since"')[1].split(">")[0]
    assert "Історія дзвінків" in calls and "1 хв" in calls


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", "Статус «Решено» ставится только после разговора с покупателем"),
        ("uk", "Статус «Вирішено» можна встановити лише після розмови з покупцем"),
    ],
)
def test_a_refused_resolved_is_one_sentence_in_the_console_language(
    owner: TestClient, world: Seeded, lang: str, expected: str
) -> None:
    service = world.service
    case_id = appeals.receive(service, "A-REFUSED")
    appeals.call(service, case_id, service.clock(), "no_answer", None)
    owner.get(f"/lang/{lang}?next=/")
    page = owner.get(f"/appeals/{case_id}").text
    csrf = page.split('name="csrf" content="')[1].split('"')[0]
    refused = owner.post(
        f"/appeals/{case_id}/status",
        data={"status": "resolved", "note": "поговорили", "csrf": csrf},
    )
    assert refused.status_code == 200
    flash = refused.text.split('class="msg error"')[1].split(">", 1)[1].split("</p>")[0]
    assert flash.startswith(expected), flash
    assert "10 с" in flash
    assert not LATIN.search(flash), flash


def test_the_api_keeps_its_english_refusal_and_adds_the_parameters(
    client: TestClient, world: Seeded
) -> None:
    case_id = appeals.receive(world.service, "A-API")
    response = client.put(
        f"/api/v1/appeals/{case_id}/status",
        json={"status": "resolved", "note": "talked"},
        headers=world.headers("owner"),
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "contact_required",
            "message": "status: resolved needs an answered call of at least 10 s about this case",
            "params": {"target": "resolved", "seconds": 10},
        }
    }
