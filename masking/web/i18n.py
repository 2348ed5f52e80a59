"""Interface text in Russian (default), English and Ukrainian; errors as plain sentences.

Every entry is one :class:`Text` (ru, en, uk) under one key, so adding a label is one line;
:func:`pick` chooses by the console's language. A refused status change is worded from the
rule's code and parameters (:data:`REFUSED_CHANGES`, :func:`refused_change`), never from
the domain's English message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from fastapi import Request


class Text(NamedTuple):
    ru: str
    en: str
    uk: str


LANGS = ("ru", "en", "uk")  # the order of the fields of :class:`Text`
DEFAULT_LANG = "ru"


def pick(entry: Text, lang: str) -> str:
    """The entry in ``lang`` (the default language for one the console does not know)."""
    return entry[LANGS.index(lang) if lang in LANGS else LANGS.index(DEFAULT_LANG)]


TEXT: dict[str, Text] = {
    "app": Text("Звонки клиентам", "Customer calls", "Дзвінки клієнтам"),
    "login": Text("Вход", "Sign in", "Вхід"),
    "login_name": Text("Логин", "Login", "Логін"),
    "password": Text("Пароль", "Password", "Пароль"),
    "sign_in": Text("Войти", "Sign in", "Увійти"),
    "sign_out": Text("Выйти", "Sign out", "Вийти"),
    "bad_login": Text(
        "Неверный логин или пароль.",
        "Wrong login or password.",
        "Неправильний логін або пароль.",
    ),
    "search": Text("Поиск товара", "Item search", "Пошук товару"),
    "calls": Text("История звонков", "Call history", "Історія дзвінків"),
    "team": Text("Команда", "Team", "Команда"),
    "sites": Text("Пункты", "Sites", "Пункти"),
    "pool": Text("Номера", "Numbers", "Номери"),
    "reasons": Text("Причины", "Reasons", "Причини"),
    "audit": Text("Журнал показов", "Reveal audit", "Журнал показів"),
    "recordings": Text("Записи", "Recordings", "Записи"),
    "shipment": Text("Номер отправления", "Shipment number", "Номер відправлення"),
    "find": Text("Найти", "Find", "Знайти"),
    "status": Text("Статус", "Status", "Статус"),
    "reason": Text("Причина звонка", "Reason for the call", "Причина дзвінка"),
    "show_number": Text("Показать номер", "Show number", "Показати номер"),
    "temp_number": Text("Временный номер", "Temporary number", "Тимчасовий номер"),
    "valid_until": Text("действует до", "valid until", "діє до"),
    "call": Text("Позвонить", "Call", "Зателефонувати"),
    "call_hint": Text(
        "Сначала зазвонит ваш рабочий телефон, затем — клиент.",
        "Your desk phone rings first, then the customer.",
        "Спочатку задзвонить ваш робочий телефон, потім — клієнт.",
    ),
    "has_live": Text(
        "Временный номер уже выдан",
        "A temporary number is already issued",
        "Тимчасовий номер уже видано",
    ),
    "no_live": Text(
        "Временный номер ещё не выдан",
        "No temporary number issued yet",
        "Тимчасовий номер ще не видано",
    ),
    "site_closed": Text("Пункт сейчас закрыт", "The site is closed now", "Пункт зараз зачинено"),
    "site_suspended": Text(
        "Номера пункта скрыты", "The site's numbers are hidden", "Номери пункту приховано"
    ),
    "cannot_reveal": Text(
        "Вам не разрешено видеть номера клиентов. Попросите владельца пункта включить доступ "
        "в разделе «Команда».",
        "You may not see customer numbers. Ask the site owner to switch it on in “Team”.",
        "Вам не дозволено бачити номери клієнтів. Попросіть власника пункту ввімкнути доступ "
        "у розділі «Команда».",
    ),
    "rules": Text(
        "Звоните только в рабочие часы и только по разрешённой причине. Представьтесь. "
        "Не сообщайте клиенту свои данные и контакты в мессенджерах. Все звонки записываются.",
        "Call only in working hours and for an allowed reason. Introduce yourself. Never give "
        "the customer your own data or messenger contacts. All calls are recorded.",
        "Телефонуйте лише в робочі години й лише з дозволеної причини. Представтеся. "
        "Не повідомляйте клієнтові своїх даних і контактів у месенджерах. Усі дзвінки "
        "записуються.",
    ),
    "when": Text("Когда", "When", "Коли"),
    "who": Text("Кто", "Who", "Хто"),
    "direction": Text("Направление", "Direction", "Напрямок"),
    "result": Text("Итог", "Result", "Підсумок"),
    "duration": Text("Длительность", "Duration", "Тривалість"),
    "filter": Text("Показать", "Filter", "Показати"),
    "from": Text("с", "from", "з"),
    "to": Text("по", "to", "по"),
    "any": Text("все", "any", "усі"),
    "nothing": Text("Ничего не найдено.", "Nothing found.", "Нічого не знайдено."),
    "name": Text("Имя", "Name", "Ім’я"),
    "role": Text("Роль", "Role", "Роль"),
    "sees_numbers": Text("Видит номера", "Sees numbers", "Бачить номери"),
    "yes": Text("да", "yes", "так"),
    "no": Text("нет", "no", "ні"),
    "switch_on": Text("Включить", "Switch on", "Увімкнути"),
    "switch_off": Text("Выключить", "Switch off", "Вимкнути"),
    "always": Text("всегда (по роли)", "always (by role)", "завжди (за роллю)"),
    "account": Text("Учётная запись", "Account", "Обліковий запис"),
    "account_on": Text("включена", "enabled", "увімкнено"),
    "account_off": Text("отключена", "disabled", "вимкнено"),
    "disable": Text("Отключить", "Disable", "Вимкнути"),
    "enable": Text("Включить", "Enable", "Увімкнути"),
    "new_password": Text(
        "Новый пароль (от 12 символов)",
        "New password (12+ characters)",
        "Новий пароль (від 12 символів)",
    ),
    "set_password": Text("Задать пароль", "Set password", "Встановити пароль"),
    "hours": Text("Часы работы", "Working hours", "Години роботи"),
    "save": Text("Сохранить", "Save", "Зберегти"),
    "exceptions": Text("Особые дни", "Exceptions", "Особливі дні"),
    "day": Text("Дата", "Date", "Дата"),
    "intervals": Text(
        "Часы (пусто — выходной)", "Hours (empty: closed)", "Години (порожньо — вихідний)"
    ),
    "note": Text("Примечание", "Note", "Примітка"),
    "add": Text("Добавить", "Add", "Додати"),
    "delete": Text("Удалить", "Delete", "Видалити"),
    "suspend": Text("Скрыть номера", "Hide numbers", "Приховати номери"),
    "resume": Text("Вернуть номера", "Restore numbers", "Повернути номери"),
    "suspended_because": Text("Номера скрыты", "Numbers hidden", "Номери приховано"),
    "why": Text("Причина", "Reason", "Причина"),
    "open_now": Text("Открыт сейчас", "Open now", "Відчинено зараз"),
    "region": Text("Регион", "Region", "Регіон"),
    "numbers": Text("Номеров", "Numbers", "Номерів"),
    "free": Text("Свободно", "Free", "Вільно"),
    "headroom": Text(
        "Запас для самого занятого пункта",
        "Headroom for the busiest site",
        "Запас для найзавантаженішого пункту",
    ),
    "add_numbers": Text(
        "Добавить номера (по одному в строке)",
        "Add numbers (one per line)",
        "Додати номери (по одному в рядку)",
    ),
    "code": Text("Код", "Code", "Код"),
    "title_ru": Text("Название (рус.)", "Title (Russian)", "Назва (рос.)"),
    "title_en": Text("Название (англ.)", "Title (English)", "Назва (англ.)"),
    "kind": Text("Тип", "Kind", "Тип"),
    "active": Text("Действует", "Active", "Діє"),
    "granted": Text("Показан", "Granted", "Показано"),
    "refusal": Text("Отказ", "Refusal", "Відмова"),
    "play": Text("Прослушать", "Play", "Прослухати"),
    "sample": Text(
        "Случайная выборка для проверки",
        "Random sample for review",
        "Випадкова вибірка для перевірки",
    ),
    "site": Text("Пункт", "Site", "Пункт"),
    "size": Text("Сколько", "How many", "Скільки"),
    "days": Text("За дней", "Last days", "За днів"),
    "saved": Text("Сохранено.", "Saved.", "Збережено."),
    "error_page": Text("Что-то пошло не так", "Something went wrong", "Щось пішло не так"),
    "back": Text("Назад", "Back", "Назад"),
    "call_status": Text("Статус звонка", "Call status", "Статус дзвінка"),
    # live call statuses and dispositions
    "st_deciding": Text("подготовка…", "preparing…", "підготовка…"),
    "st_ringing_staff": Text(
        "звонит ваш телефон — снимите трубку",
        "your phone rings: pick it up",
        "дзвонить ваш телефон — візьміть слухавку",
    ),
    "st_ringing_customer": Text(
        "звоним клиенту…", "calling the customer…", "телефонуємо клієнтові…"
    ),
    "st_connected": Text("разговор идёт", "connected", "триває розмова"),
    "st_ended": Text("звонок завершён", "call ended", "дзвінок завершено"),
    "d_in_progress": Text("идёт", "in progress", "триває"),
    "d_answered": Text("состоялся", "answered", "відбувся"),
    "d_busy": Text("занято", "busy", "зайнято"),
    "d_no_answer": Text("нет ответа", "no answer", "немає відповіді"),
    "d_failed": Text("не удался", "failed", "не вдався"),
    "d_denied": Text("запрещён", "denied", "заборонено"),
    "dir_outbound": Text("исходящий", "outbound", "вихідний"),
    "dir_inbound": Text("входящий", "inbound", "вхідний"),
    "dir_click2call": Text("из консоли", "click-to-call", "з консолі"),
    "role_owner": Text("владелец", "owner", "власник"),
    "role_staff_manager": Text("менеджер", "staff manager", "менеджер"),
    "role_employee": Text("сотрудник", "employee", "працівник"),
    "role_admin": Text("администратор", "admin", "адміністратор"),
    "role_qa": Text("контроль качества", "QA reviewer", "контроль якості"),
    # shipment statuses, refusals of a call
    "ss_at_pickup_point": Text("в пункте выдачи", "at the pickup point", "у пункті видачі"),
    "ss_in_transit": Text("в пути", "in transit", "у дорозі"),
    "ss_issued": Text("выдано", "handed over", "видано"),
    "ss_returned": Text("возвращено", "returned", "повернуто"),
    "deny_not_allowed": Text(
        "нет доступа к номерам", "no access to numbers", "немає доступу до номерів"
    ),
    "deny_other_site": Text("другой пункт", "another site", "інший пункт"),
    "deny_suspended": Text("номера скрыты", "numbers hidden", "номери приховано"),
    "deny_closed": Text("пункт закрыт", "site closed", "пункт зачинено"),
    "deny_bad_reason": Text("нет причины", "no reason", "немає причини"),
    "deny_inactive": Text(
        "учётная запись отключена", "account disabled", "обліковий запис вимкнено"
    ),
    "deny_unknown_shipment": Text("нет отправления", "unknown shipment", "немає відправлення"),
    "deny_pool_exhausted": Text("нет свободных номеров", "no free number", "немає вільних номерів"),
    "deny_no_phone": Text("нет рабочего телефона", "no desk phone", "немає робочого телефону"),
    "deny_expired": Text(
        "временный номер истёк", "temporary number expired", "тимчасовий номер уже не діє"
    ),
    "deny_unknown": Text("неизвестный номер", "unknown number", "невідомий номер"),
    "deny_invalid_input": Text("неверный номер", "invalid number", "неправильний номер"),
    "ed_taken": Text("взято в работу", "taken", "взято в роботу"),
    "ed_first_call": Text("первый звонок", "first call", "перший дзвінок"),
    "ed_call_handled": Text(
        "звонок принят и завершён", "call answered and ended", "дзвінок прийнято й завершено"
    ),
    "ed_call_abandoned": Text(
        "клиент не дождался ответа",
        "caller hung up before an answer",
        "клієнт не дочекався відповіді",
    ),
    "ed_sla_breached": Text(
        "не решено в срок (SLA)", "not resolved within the SLA", "не вирішено вчасно (SLA)"
    ),
    "deny_unavailable": Text("сервис недоступен", "service unavailable", "сервіс недоступний"),
    "deny_already_dialing": Text(
        "клиенту уже звонят", "already being dialed", "клієнту вже телефонують"
    ),
    "deny_busy": Text("все линии заняты", "all lines busy", "усі лінії зайняті"),
    "rk_pickup_point": Text("пункт выдачи", "pickup point", "пункт видачі"),
    "rk_call_centre": Text("колл-центр", "call centre", "кол-центр"),
    "time_zone": Text("Часовой пояс", "Time zone", "Часовий пояс"),
    "overdue": Text("просрочено на", "overdue by", "прострочено на"),
    # the default reasons for a call (masking.reasons.DEFAULT_REASONS: the same Russian and
    # English titles); a reason an admin adds shows its own titles
    "rs_postpaid_payment_failed": Text(
        "Постоплата: не удалось провести оплату",
        "Post-paid order: payment failed at the counter",
        "Післяплата: не вдалося провести оплату",
    ),
    "rs_forgot_or_took_items": Text(
        "Клиент забыл заказ, личные вещи или взял чужое",
        "Customer forgot the order or personal items, or took someone else's",
        "Клієнт забув замовлення, особисті речі або взяв чуже",
    ),
    "rs_wrong_order_given": Text(
        "Клиент получил не тот заказ",
        "Customer was given the wrong order",
        "Клієнт отримав не те замовлення",
    ),
    "rs_item_found_later": Text(
        "Товар не нашли сразу, нашли позже",
        "Item could not be found quickly and was found later",
        "Товар не знайшли одразу, знайшли пізніше",
    ),
    "rs_strong_smell": Text(
        "Товар с резким запахом: забрать побыстрее",
        "Goods with a strong smell should be collected soon",
        "Товар із різким запахом: забрати якнайшвидше",
    ),
    "rs_appeal_callback": Text(
        "Обращение покупателя: обратный звонок",
        "Customer appeal: call back",
        "Звернення покупця: зворотний дзвінок",
    ),
    "rs_order_confirmation": Text(
        "Подтверждение неоплаченного заказа",
        "Confirm an unpaid order",
        "Підтвердження неоплаченого замовлення",
    ),
    "rs_hotline_identification": Text(
        "Горячая линия: идентификация клиента",
        "Hotline: identify the customer",
        "Гаряча лінія: ідентифікація клієнта",
    ),
    # appeals
    "appeals": Text("Обращения", "Appeals", "Звернення"),
    "appeal": Text("Обращение", "Appeal", "Звернення"),
    "appeals_report": Text("Отчёт по обращениям", "Appeals report", "Звіт щодо звернень"),
    "appeal_type": Text("Тип обращения", "Type", "Тип звернення"),
    "assignee": Text("Исполнитель", "Assignee", "Виконавець"),
    "unassigned": Text("не назначен", "unassigned", "не призначено"),
    "mine": Text("мои", "mine", "мої"),
    "time_left": Text("Осталось", "Time left", "Залишилося"),
    "sla": Text("Срок", "SLA", "Строк"),
    "received_at": Text("Поступило", "Received", "Надійшло"),
    "order": Text("Заказ", "Order", "Замовлення"),
    "channel": Text("Канал", "Channel", "Канал"),
    "new_appeal": Text(
        "Внести обращение вручную", "Enter an appeal by hand", "Внести звернення вручну"
    ),
    "appeal_number": Text("Номер обращения", "Appeal number", "Номер звернення"),
    "customer_phone_if_new": Text(
        "Телефон покупателя (если заказа ещё нет)",
        "Customer's phone (if the order is not here yet)",
        "Телефон покупця (якщо замовлення ще немає)",
    ),
    "appeal_text": Text("Текст обращения", "Appeal text", "Текст звернення"),
    "first_call_due": Text("Позвонить до", "Call by", "Зателефонувати до"),
    "resolve_due": Text("Решить до", "Resolve by", "Вирішити до"),
    "closed_at": Text("Закрыто", "Closed", "Закрито"),
    "closed_auto": Text(
        "закрыто автоматически по сроку",
        "closed automatically by the SLA timer",
        "закрито автоматично після закінчення строку",
    ),
    "take": Text("Взять в работу", "Take", "Взяти в роботу"),
    "add_note": Text("Добавить заметку", "Add note", "Додати нотатку"),
    "notes": Text("Заметки", "Notes", "Нотатки"),
    "attempts": Text("Звонки по обращению", "Call attempts", "Дзвінки щодо звернення"),
    "history": Text("История изменений", "History", "Історія змін"),
    "set_status": Text("Сменить статус", "Set status", "Змінити статус"),
    "status_note": Text("Заметка (обязательна)", "Note (required)", "Нотатка (обов’язкова)"),
    "appeal_call_hint": Text(
        "Сначала зазвонит ваш рабочий телефон, затем — покупатель. Номер покупателя скрыт.",
        "Your desk phone rings first, then the buyer. The buyer's number stays hidden.",
        "Спочатку задзвонить ваш робочий телефон, потім — покупець. Номер покупця приховано.",
    ),
    "live_hint": Text(
        "Список обновляется сам каждые 10 секунд.",
        "The list refreshes itself every 10 seconds.",
        "Список оновлюється сам кожні 10 секунд.",
    ),
    "new_appeals": Text(
        "Появились новые обращения", "New appeals arrived", "Надійшли нові звернення"
    ),
    "report": Text("Отчёт", "Report", "Звіт"),
    "download_csv": Text("Скачать CSV", "Download CSV", "Завантажити CSV"),
    "rep_received": Text("Поступило обращений", "Appeals received", "Надійшло звернень"),
    "rep_open": Text("Ещё открыто", "Still open", "Ще відкрито"),
    "rep_first_called_in_time": Text(
        "Позвонили в течение 2 ч", "First called within 2 h", "Зателефонували протягом 2 год"
    ),
    "rep_resolved_in_time": Text(
        "Решено в течение 24 ч", "Resolved within 24 h", "Вирішено протягом 24 год"
    ),
    "rep_auto_closed": Text("Закрыто автоматически", "Closed automatically", "Закрито автоматично"),
    "rep_median_minutes_to_first_call": Text(
        "Медиана времени до первого звонка",
        "Median time to the first call",
        "Медіана часу до першого дзвінка",
    ),
    "recording": Text("Запись", "Recording", "Запис"),
    "cs_new": Text("новое", "new", "нове"),
    "cs_in_progress": Text("в работе", "in progress", "в роботі"),
    "cs_resolved": Text("решено", "resolved", "вирішено"),
    "cs_not_resolved": Text("не решено", "not resolved", "не вирішено"),
    "cs_confirmed": Text("подтверждено", "confirmed", "підтверджено"),
    "sla_on_time": Text("в срок", "on time", "вчасно"),
    "sla_first_call_missed": Text(
        "звонок позже 2 ч", "2 h call target missed", "дзвінок пізніше 2 год"
    ),
    "sla_breached": Text("просрочено (24 ч)", "24 h limit breached", "прострочено (24 год)"),
    "ch_call": Text("звонок", "call", "дзвінок"),
    "ch_chat": Text("чат", "chat", "чат"),
    "ch_review": Text("отзыв", "review", "відгук"),
    "ev_created": Text("создано", "created", "створено"),
    "ev_assigned": Text("взято в работу", "taken", "взято в роботу"),
    "ev_note": Text("заметка", "note", "нотатка"),
    "ev_status": Text("смена статуса", "status changed", "зміна статусу"),
    "ev_attempt": Text("звонок", "call attempt", "дзвінок"),
    # the seven appeal types (the Ukrainian as the marketplace's call centre names them)
    "at_contact_request": Text("Просьба связаться", "Contact request", "Прохання зв’язатися"),
    "at_delivery_question": Text(
        "Вопрос о доставке", "Delivery question", "Уточнення щодо доставки"
    ),
    "at_order_cancellation": Text("Отмена заказа", "Order cancellation", "Скасування замовлення"),
    "at_complaint": Text("Жалоба", "Complaint", "Скарга"),
    "at_product_return": Text("Возврат товара", "Product return", "Повернення товару"),
    "at_fix_site_info": Text(
        "Исправить информацию на сайте",
        "Fix information on the site",
        "Виправлення інформації на сайті",
    ),
    "at_payment_question": Text("Вопрос об оплате", "Payment question", "Запитання про оплату"),
    # confirmation campaigns (issue 11): pages, why an order is not due now, the dial panel
    "campaigns": Text("Обзвон заказов", "Order calls", "Обдзвін замовлень"),
    "campaign": Text("Кампания", "Campaign", "Кампанія"),
    "cmp_title": Text("Название", "Title", "Назва"),
    "cmp_assignee_today": Text("Сегодня работает", "Assigned today", "Сьогодні працює"),
    "cmp_nobody": Text("никто", "nobody", "ніхто"),
    "cmp_mine": Text("назначена вам", "assigned to you", "призначено вам"),
    "cmp_read_only": Text(
        "Только просмотр: сегодня эта кампания назначена не вам.",
        "Read-only: this campaign is not assigned to you today.",
        "Лише перегляд: сьогодні цю кампанію призначено не вам.",
    ),
    "cmp_none_for_you": Text(
        "Сегодня вам не назначена ни одна кампания. Кампанию назначает менеджер пункта, "
        "обычно на неделю.",
        "No campaign is assigned to you today. A site manager assigns one, usually for a week.",
        "Сьогодні вам не призначено жодної кампанії. Кампанію призначає менеджер пункту, "
        "зазвичай на тиждень.",
    ),
    "cmp_rule": Text("Какие заказы", "Which orders", "Які замовлення"),
    "cmp_payment_methods": Text("Способ оплаты", "Payment method", "Спосіб оплати"),
    "cmp_statuses": Text("Статус заказа", "Order status", "Статус замовлення"),
    "cmp_stores": Text("Магазин", "Store", "Магазин"),
    "cmp_any": Text("любой", "any", "будь-який"),
    "cmp_since": Text("Заказы с", "Orders since", "Замовлення з"),
    "cmp_lookback": Text(
        "со вчерашнего дня (в понедельник — с пятницы)",
        "since yesterday (on Monday: since Friday)",
        "з учорашнього дня (у понеділок — з п'ятниці)",
    ),
    "cmp_policy": Text("Правила попыток", "Attempt rules", "Правила спроб"),
    "cmp_policy_text": Text(
        "окна {windows}; не чаще раза в {gap}; до {cap} попыток в день; "
        "при «занято» — повтор через {busy}",
        "windows {windows}; at most once per {gap}; up to {cap} attempts a day; "
        "busy: again after {busy}",
        "вікна {windows}; не частіше ніж раз на {gap}; до {cap} спроб на день; "
        "якщо «зайнято» — повтор через {busy}",
    ),
    "cmp_worklist": Text("Заказы к обзвону", "Orders to call", "Замовлення для обдзвону"),
    "cmp_newest_first": Text("новые сверху", "newest first", "нові зверху"),
    "cmp_created": Text("Оформлен", "Ordered", "Оформлено"),
    "cmp_attempts_today": Text("Попыток сегодня", "Attempts today", "Спроб сьогодні"),
    "cmp_last_outcome": Text("Последний звонок", "Last call", "Останній дзвінок"),
    "cmp_when_to_call": Text("Когда звонить", "When to call", "Коли телефонувати"),
    "cmp_in_list": Text("В списке", "In the list", "У списку"),
    "cmp_due_now_count": Text("Можно звонить сейчас", "Due now", "Можна телефонувати зараз"),
    "cmp_next": Text("Позвонить следующему", "Call the next one", "Зателефонувати наступному"),
    "cmp_next_hint": Text(
        "Сервис выберет самый новый заказ, которому можно звонить, и позвонит: сначала на "
        "ваш рабочий телефон, затем покупателю. Номер покупателя скрыт.",
        "The service picks the newest order that may be called now and calls: your desk "
        "phone first, then the customer. The customer's number stays hidden.",
        "Сервіс обере найновіше замовлення, якому можна телефонувати, і зателефонує: спершу "
        "на ваш робочий телефон, потім покупцеві. Номер покупця приховано.",
    ),
    "cmp_empty_none": Text(
        "Нет заказов, подходящих под условие кампании (оформленных с {since}).",
        "No order matches the campaign's rule (ordered since {since}).",
        "Немає замовлень, що відповідають умові кампанії (оформлених з {since}).",
    ),
    "cmp_empty_waiting": Text(
        "Сейчас звонить некому: {reasons}.",
        "Nobody is due now: {reasons}.",
        "Зараз нікому телефонувати: {reasons}.",
    ),
    "cmp_empty_next": Text(
        "Следующий звонок станет возможен {at}.",
        "The next call becomes possible {at}.",
        "Наступний дзвінок стане можливим {at}.",
    ),
    "cmp_live_hint": Text(
        "Список обновляется сам каждые 10 секунд; новые заказы появляются без перезагрузки.",
        "The list refreshes itself every 10 seconds; new orders appear without a reload.",
        "Список оновлюється сам кожні 10 секунд; нові замовлення з'являються без перезавантаження.",
    ),
    "cmp_times_hint": Text(
        "Время указано по часовому поясу пункта",
        "Times are in the site's time zone",
        "Час зазначено за часовим поясом пункту",
    ),
    "cmp_report": Text("Отчёт за день", "Day report", "Звіт за день"),
    "cmp_manage": Text(
        "Создать или изменить кампанию",
        "Create or change a campaign",
        "Створити або змінити кампанію",
    ),
    "cmp_code": Text("Код кампании", "Campaign code", "Код кампанії"),
    "cmp_comma_hint": Text(
        "через запятую; пусто — любой",
        "comma-separated; empty: any",
        "через кому; порожньо — будь-який",
    ),
    "cmp_assign": Text("Назначить сотрудника", "Assign a person", "Призначити працівника"),
    "cmp_assignments": Text("Назначения", "Assignments", "Призначення"),
    "cmp_staff": Text("Сотрудник", "Staff member", "Працівник"),
    "cmp_starts_on": Text("С", "From", "З"),
    "cmp_ends_on": Text("По (пусто — неделя)", "To (empty: a week)", "По (порожньо — тиждень)"),
    "cmp_open": Text("Открыть", "Open", "Відкрити"),
    "wr_dialing": Text("идёт звонок", "being dialed", "триває дзвінок"),
    "wr_gap": Text("пауза после попытки", "gap after an attempt", "перерва після спроби"),
    "wr_busy_retry": Text(
        "было занято, ждём повтора",
        "busy, retry later",
        "було зайнято, чекаємо повтору",
    ),
    "wr_window_done": Text("окно уже использовано", "window already used", "вікно вже використано"),
    "wr_window_closed": Text(
        "вне окон звонков",
        "outside the calling windows",
        "поза вікнами дзвінків",
    ),
    "wr_centre_closed": Text("колл-центр закрыт", "call centre closed", "кол-центр зачинено"),
    "wr_daily_cap": Text(
        "лимит попыток на сегодня", "daily cap reached", "ліміт спроб на сьогодні"
    ),
    "wr_callback": Text(
        "договорились перезвонить позже",
        "callback agreed for later",
        "домовились передзвонити пізніше",
    ),
    "wr_callback_owned": Text("перезвон коллеги", "a colleague's callback", "передзвін колеги"),
    "wr_done": Text("подтверждён или закрыт", "confirmed or closed", "підтверджено або закрито"),
    "why_dialing": Text("сейчас идёт звонок", "being dialed now", "зараз триває дзвінок"),
    "why_gap": Text("пауза {until}", "gap {until}", "перерва {until}"),
    "why_busy_retry": Text(
        "было занято — повтор {at}",
        "busy: retry {at}",
        "було зайнято — повтор {at}",
    ),
    "why_window": Text(
        "окно «{window}» откроется {at}",
        "{window} window opens {at}",
        "вікно «{window}» відкриється {at}",
    ),
    "why_centre_closed": Text(
        "колл-центр закрыт {until}",
        "call centre closed {until}",
        "кол-центр зачинено {until}",
    ),
    "why_daily_cap": Text(
        "лимит попыток на сегодня исчерпан; снова {at}",
        "daily cap reached; next try {at}",
        "ліміт спроб на сьогодні вичерпано; знову {at}",
    ),
    "why_callback": Text("перезвон {at}", "callback {at}", "передзвін {at}"),
    "why_callback_owner": Text(
        "перезвон {at} (звонит {owner} {until})",
        "callback {at} ({owner}'s {until})",
        "передзвін {at} (телефонує {owner} {until})",
    ),
    "why_not_before": Text("не раньше чем {at}", "not before {at}", "не раніше ніж {at}"),
    "why_never": Text(
        "в ближайшие дни — нельзя", "not in the coming days", "найближчими днями — ні"
    ),
    "why_done": Text("больше не звоним", "no more calls", "більше не телефонуємо"),
    "due_now": Text("можно звонить", "due now", "можна телефонувати"),
    "due_now_window": Text(
        "можно звонить — окно «{window}»",
        "due now: {window} window",
        "можна телефонувати — вікно «{window}»",
    ),
    "due_callback": Text("пора перезвонить", "callback due now", "час передзвонити"),
    "at_today": Text("в {hm}", "at {hm}", "о {hm}"),
    "at_tomorrow": Text("завтра в {hm}", "tomorrow at {hm}", "завтра о {hm}"),
    "at_date": Text("{date} в {hm}", "on {date} at {hm}", "{date} о {hm}"),
    "until_today": Text("до {hm}", "until {hm}", "до {hm}"),
    "until_tomorrow": Text("до завтра, {hm}", "until tomorrow {hm}", "до завтра, {hm}"),
    "until_date": Text("до {date}, {hm}", "until {date} {hm}", "до {date}, {hm}"),
    "customer_clock": Text("{hm} у покупателя", "{hm} customer's time", "{hm} у покупця"),
    "win_morning": Text("утро", "morning", "ранок"),
    "win_afternoon": Text("день", "afternoon", "день"),
    "win_evening": Text("вечер", "evening", "вечір"),
    "os_pending": Text("ожидает", "pending", "очікує"),
    "os_pending_payment": Text("ожидает оплаты", "pending payment", "очікує оплати"),
    "os_processing": Text("в обработке", "processing", "в обробці"),
    "os_canceled": Text("отменён", "cancelled", "скасовано"),
    "pm_wire_transfer": Text("банковский перевод", "wire transfer", "банківський переказ"),
    "pm_card": Text("карта", "card", "картка"),
    "pm_cash_on_delivery": Text("наложенный платёж", "cash on delivery", "накладений платіж"),
    "ord_title": Text("Заказ", "Order", "Замовлення"),
    "ord_customer_tz": Text(
        "Часовой пояс покупателя", "Customer's time zone", "Часовий пояс покупця"
    ),
    "ord_confirmed_at": Text("Подтверждён", "Confirmed", "Підтверджено"),
    "ord_case_status": Text("Подтверждение", "Confirmation", "Підтвердження"),
    "ord_outcome": Text("Итог разговора", "Outcome of the call", "Результат розмови"),
    "ord_confirm": Text("Подтвердить заказ", "Confirm the order", "Підтвердити замовлення"),
    "ord_decline": Text("Не подтверждён", "Not confirmed", "Не підтверджено"),
    "ord_outcome_hint": Text(
        "«Подтвердить» — только после разговора с покупателем не короче 10 с; «Не подтверждён» "
        "— после хотя бы одной попытки (покупатель отказался или отменил заказ). Заметка "
        "обязательна.",
        "Confirm only after a conversation with the customer of at least 10 s; “Not "
        "confirmed” after at least one attempt (the customer refused or cancelled). A note is "
        "required.",
        "«Підтвердити» — лише після розмови з покупцем не коротшої за 10 с; «Не "
        "підтверджено» — після принаймні однієї спроби (покупець відмовився або скасував "
        "замовлення). Нотатка обов'язкова.",
    ),
    "ord_callback": Text("Договорились перезвонить", "Callback agreed", "Домовились передзвонити"),
    "ord_callback_at": Text("Когда перезвонить", "Call back at", "Коли передзвонити"),
    "ord_callback_set": Text("Назначить перезвон", "Set the callback", "Призначити передзвін"),
    "ord_callback_now": Text("Перезвон", "Callback", "Передзвін"),
    "ord_resend": Text(
        "Отправить реквизиты для оплаты повторно",
        "Resend the payment details",
        "Надіслати реквізити для оплати повторно",
    ),
    "ord_resent_at": Text(
        "Реквизиты отправлены повторно",
        "Payment details resent",
        "Реквізити надіслано повторно",
    ),
    "ord_spam_hint": Text(
        "Скажите покупателю, что письмо с реквизитами могло попасть в папку «Спам».",
        "Tell the customer the e-mail with the details may be in the spam folder.",
        "Скажіть покупцеві, що лист із реквізитами міг потрапити до теки «Спам».",
    ),
    "ord_call_hint": Text(
        "Сначала зазвонит ваш рабочий телефон, затем — покупатель. Номер покупателя скрыт.",
        "Your desk phone rings first, then the customer. The customer's number stays hidden.",
        "Спершу задзвонить ваш робочий телефон, потім — покупець. Номер покупця приховано.",
    ),
    "ord_attempts": Text("Звонки по заказу", "Calls about the order", "Дзвінки щодо замовлення"),
    "ds_panel": Text("Автообзвон", "Progressive dialing", "Автообдзвін"),
    "ds_hint": Text(
        "Сервис сам звонит на ваш телефон, затем следующему покупателю. Следующий звонок "
        "начнётся только после заметки о предыдущем.",
        "The service rings your phone, then the next customer who is due. The next call "
        "starts only after you write the note of the last one.",
        "Сервіс сам телефонує на ваш телефон, потім наступному покупцеві. Наступний дзвінок "
        "почнеться лише після нотатки про попередній.",
    ),
    "ds_start": Text("Начать автообзвон", "Start", "Почати автообдзвін"),
    "ds_pause": Text("Пауза", "Pause", "Пауза"),
    "ds_resume": Text("Продолжить", "Resume", "Продовжити"),
    "ds_stop": Text("Завершить", "Stop", "Завершити"),
    "ds_state": Text("Состояние", "State", "Стан"),
    "ds_running": Text("идёт", "running", "триває"),
    "ds_paused": Text("на паузе", "paused", "на паузі"),
    "ds_stopped": Text("завершён", "stopped", "завершено"),
    "ds_started_at": Text("Начат", "Started", "Почато"),
    "ds_current_call": Text("Текущий звонок", "Current call", "Поточний дзвінок"),
    "ds_no_call": Text("звонка сейчас нет", "no call now", "дзвінка зараз немає"),
    "ds_note_due": Text(
        "Напишите заметку о звонке по заказу {order}: без неё следующий звонок не начнётся.",
        "Write the note of the call about order {order}: the next call waits for it.",
        "Напишіть нотатку про дзвінок щодо замовлення {order}: без неї наступний дзвінок не "
        "почнеться.",
    ),
    "ds_note": Text("Заметка о звонке", "Note of the call", "Нотатка про дзвінок"),
    "ds_note_save": Text("Сохранить заметку", "Save the note", "Зберегти нотатку"),
    "ds_idle": Text("Почему ждём", "Waiting because", "Чому чекаємо"),
    "ds_idle_none": Text("не ждём", "not waiting", "не чекаємо"),
    "ds_last_pick": Text("Последний выбор заказа", "Last pick", "Останній вибір замовлення"),
    "idle_empty": Text("в списке нет заказов", "no orders in the list", "у списку немає замовлень"),
    "idle_wait": Text(
        "сейчас звонить некому ({reason}); следующий звонок {at}",
        "nobody is due now ({reason}); next call {at}",
        "зараз нікому телефонувати ({reason}); наступний дзвінок {at}",
    ),
    "idle_wait_unknown": Text(
        "сейчас звонить некому ({reason})",
        "nobody is due now ({reason})",
        "зараз нікому телефонувати ({reason})",
    ),
    "idle_operator_on_call": Text(
        "у вас идёт другой звонок",
        "you are on another call",
        "у вас триває інший дзвінок",
    ),
    "idle_operator_unreachable": Text(
        "ваш телефон не ответил дважды подряд — автообзвон на паузе",
        "your phone did not answer twice in a row: paused",
        "ваш телефон не відповів двічі поспіль — автообдзвін на паузі",
    ),
    "idle_not_assigned": Text(
        "кампания вам сегодня не назначена",
        "the campaign is not yours today",
        "кампанію вам сьогодні не призначено",
    ),
    "idle_not_allowed": Text(
        "вам нельзя работать с кампаниями",
        "you may not work campaigns",
        "вам не можна працювати з кампаніями",
    ),
    "idle_no_phone": Text("нет рабочего телефона", "no desk phone", "немає робочого телефону"),
    "idle_campaign_inactive": Text(
        "кампания выключена",
        "the campaign is switched off",
        "кампанію вимкнено",
    ),
    "idle_refused": Text(
        "звонок не разрешён: {why}",
        "the call was refused: {why}",
        "дзвінок не дозволено: {why}",
    ),
    "idle_note_due": Text(
        "ждём заметку о прошлом звонке",
        "waiting for the last call's note",
        "чекаємо нотатку про попередній дзвінок",
    ),
    "rep_day": Text("День", "Day", "День"),
    "rep_in_list": Text("Заказов в списке", "Orders in the list", "Замовлень у списку"),
    "rep_attempts": Text("Попыток дозвониться", "Call attempts", "Спроб додзвонитися"),
    "rep_reached": Text("Дозвонились", "Reached", "Додзвонилися"),
    "rep_confirmed": Text("Подтверждено", "Confirmed", "Підтверджено"),
    "rep_declined": Text("Не подтверждено", "Not confirmed", "Не підтверджено"),
    "rep_three_windows": Text(
        "Три попытки в трёх окнах",
        "Three attempts in three windows",
        "Три спроби в трьох вікнах",
    ),
    "rep_orders_called": Text(
        "Заказов, которым звонили",
        "Orders called",
        "Замовлень, яким телефонували",
    ),
    "rep_skipped": Text(
        "Не получили трёх попыток в трёх окнах",
        "Without three attempts in three windows",
        "Не отримали трьох спроб у трьох вікнах",
    ),
    "rep_skipped_why": Text("Почему", "Why", "Чому"),
    "wr_dialable": Text(
        "можно звонить, ещё не звонили",
        "due, not called yet",
        "можна телефонувати, ще не телефонували",
    ),
    "wr_arrived_late": Text(
        "поступил, когда оставалось меньше трёх окон",
        "arrived with fewer than three windows left",
        "надійшло, коли лишалося менше трьох вікон",
    ),
    "wr_not_called": Text("не звонили", "not called", "не телефонували"),
    "wr_fewer_windows": Text(
        "звонили меньше чем в трёх окнах",
        "called in fewer than three windows",
        "телефонували менше ніж у трьох вікнах",
    ),
    "ev_callback": Text("договорились перезвонить", "callback agreed", "домовились передзвонити"),
    "ev_payment_details": Text(
        "реквизиты отправлены повторно",
        "payment details resent",
        "реквізити надіслано повторно",
    ),
    # the hotline (issue 12, seed 004): the screen pop, verification without revealing
    "hotline": Text("Горячая линия", "Hotline", "Гаряча лінія"),
    "hl_waiting": Text(
        "Сейчас звонка нет. Когда вы ответите на звонок горячей линии, здесь появится "
        "карточка звонящего.",
        "No call now. When you answer a hotline call, the caller's card appears here.",
        "Зараз дзвінка немає. Коли ви відповісте на дзвінок гарячої лінії, тут з'явиться "
        "картка того, хто телефонує.",
    ),
    "hl_call": Text("Звонок", "Call", "Дзвінок"),
    "hl_call_code": Text("Звонок", "Call", "Дзвінок"),
    "hl_caller": Text("Номер звонящего", "Caller's number", "Номер того, хто телефонує"),
    "hl_no_caller": Text("номер скрыт", "number withheld", "номер приховано"),
    "hl_call_state": Text("Разговор", "Conversation", "Розмова"),
    "hl_live": Text("идёт", "in progress", "триває"),
    "hl_ended": Text("завершён", "ended", "завершено"),
    "hl_match": Text("Совпадение номера", "Number match", "Збіг номера"),
    "mt_exact": Text("точное", "exact", "точний"),
    "mt_typo_1": Text("опечатка, 1 цифра", "typo, 1 digit", "помилка, 1 цифра"),
    "mt_typo_2": Text("опечатка, 2 цифры", "typo, 2 digits", "помилка, 2 цифри"),
    "mt_none": Text("нет совпадения", "none", "немає збігу"),
    "hl_distance_0": Text("номер совпадает", "same number", "номер збігається"),
    "hl_distance_1": Text(
        "номер отличается на 1 цифру", "number 1 digit off", "номер відрізняється на 1 цифру"
    ),
    "hl_distance_2": Text(
        "номер отличается на 2 цифры", "number 2 digits off", "номер відрізняється на 2 цифри"
    ),
    "hl_ambiguous": Text(
        "Похожие номера у нескольких разных покупателей: спросите, о каком заказе речь.",
        "Several different customers have numbers as close: ask which order it is about.",
        "Схожі номери в кількох різних покупців: запитайте, про яке замовлення йдеться.",
    ),
    "hl_order_number": Text("Номер заказа", "Order number", "Номер замовлення"),
    "hl_model": Text("Модель", "Model", "Модель"),
    "hl_store": Text("Где куплен", "Where bought", "Де куплено"),
    "hl_awaiting": Text("ожидает подтверждения", "awaiting confirmation", "очікує підтвердження"),
    "hl_confirmed": Text("подтверждён по телефону", "confirmed by phone", "підтверджено телефоном"),
    "hl_no_match": Text(
        "Номер звонящего не найден в заказах. Изменения в заказе возможны только при звонке "
        "с номера из заказа; на сервисные вопросы можно ответить (ниже).",
        "The caller's number is in no order. Changes need a call from the order's number; "
        "service questions can be answered (below).",
        "Номера того, хто телефонує, немає в замовленнях. Зміни в замовленні можливі лише "
        "під час дзвінка з номера із замовлення; на сервісні питання можна відповісти "
        "(нижче).",
    ),
    "hl_no_contact": Text(
        "Номера из заказа у клиента больше нет? Предложите написать из личного кабинета на "
        "сайте или на почту",
        "The customer no longer has the order's number? Suggest writing from their account "
        "on the website or to",
        "Номера із замовлення в клієнта більше немає? Запропонуйте написати з особистого "
        "кабінету на сайті або на пошту",
    ),
    "hl_verify": Text("Проверка личности", "Identity check", "Перевірка особи"),
    "hl_never_say": Text(
        "Не называйте клиенту ФИО и адрес из заказа: клиент называет их сам. Введите то, "
        "что он сказал.",
        "Never say the name or address from the order: the customer says them. Type what "
        "they said.",
        "Не називайте клієнтові ПІБ та адресу із замовлення: клієнт називає їх сам. Введіть "
        "те, що він сказав.",
    ),
    "hl_field_name": Text("ФИО", "Name", "ПІБ"),
    "hl_field_order": Text("Номер заказа", "Order number", "Номер замовлення"),
    "hl_field_city": Text("Город", "City", "Місто"),
    "hl_field_address": Text("или адрес", "or address", "або адреса"),
    "hl_which_order": Text("Заказ", "Order", "Замовлення"),
    "hl_by_number": Text("по названному номеру", "by the number said", "за названим номером"),
    "hl_verify_hint": Text(
        "Нужны ФИО, номер заказа и город (или адрес) — все совпадают с одной попытки. "
        "«Похоже» — переспросите клиента.",
        "Name, order number and city (or address) must all match in one try. “Close”: ask "
        "the customer again.",
        "Потрібні ПІБ, номер замовлення і місто (або адреса) — усі збігаються з однієї "
        "спроби. «Схоже» — перепитайте клієнта.",
    ),
    "hl_check": Text("Проверить", "Check", "Перевірити"),
    "hl_checked": Text("Проверено.", "Checked.", "Перевірено."),
    "fm_match": Text("совпадает", "match", "збігається"),
    "fm_close": Text("похоже — переспросите", "close: ask again", "схоже — перепитайте"),
    "fm_no_match": Text("не совпадает", "no match", "не збігається"),
    "hl_tries_left": Text(
        "Осталось попыток: {n} из {of}.",
        "Tries left: {n} of {of}.",
        "Залишилось спроб: {n} з {of}.",
    ),
    "hl_tries_over": Text(
        "Попытки исчерпаны: клиент не идентифицирован, изменения в заказе на этом звонке "
        "невозможны.",
        "No tries left: the caller is not identified; no change to the order on this call.",
        "Спроби вичерпано: клієнта не ідентифіковано, зміни в замовленні під час цього "
        "дзвінка неможливі.",
    ),
    "hl_identified": Text(
        "Клиент идентифицирован по заказу {order}.",
        "The caller is identified on order {order}.",
        "Клієнта ідентифіковано за замовленням {order}.",
    ),
    "hl_identified_short": Text("идентифицирован", "identified", "ідентифіковано"),
    "hl_not_identified_short": Text("не идентифицирован", "not identified", "не ідентифіковано"),
    "hl_voice_note": Text(
        "Голос явно не покупателя (почему)",
        "The voice is clearly not the buyer's (why)",
        "Голос явно не покупця (чому)",
    ),
    "hl_voice_flag": Text("Голос не соответствует", "Voice does not match", "Голос не відповідає"),
    "hl_voice_short": Text("голос не соответствует", "voice mismatch", "голос не відповідає"),
    "hl_voice_flagged": Text(
        "Голос не соответствует покупателю: вопрос можно решить, но изменения в заказе "
        "невозможны — скажите, что покупатель или получатель должен сам позвонить на горячую "
        "линию.",
        "The voice does not match the buyer: the question may be answered, but no change to "
        "the order; say the buyer or recipient must call the hotline himself.",
        "Голос не відповідає покупцеві: питання можна вирішити, але зміни в замовленні "
        "неможливі — скажіть, що покупець або отримувач має сам зателефонувати на гарячу "
        "лінію.",
    ),
    "hl_open": Text(
        "Открыть заказ для изменений", "Open the order for changes", "Відкрити замовлення для змін"
    ),
    "hl_opened": Text("Заказ открыт", "Order open", "Замовлення відкрито"),
    "hl_confirm_hint": Text(
        "Заказ ожидает подтверждения: скажите клиенту, что видите его заказ и его нужно "
        "подтвердить. Этот звонок засчитывается как разговор с покупателем.",
        "The order awaits confirmation: tell the customer you see their order and it needs "
        "confirming. This call counts as the conversation with the buyer.",
        "Замовлення очікує підтвердження: скажіть клієнтові, що бачите його замовлення і його "
        "потрібно підтвердити. Цей дзвінок зараховується як розмова з покупцем.",
    ),
    "hl_fix_hint": Text(
        "Номер в заказе отличается от номера звонящего на 1–2 цифры — опечатка при "
        "оформлении. Номер заказа можно заменить на тот, с которого звонит клиент; временные "
        "номера по заказу будут отозваны.",
        "The order's number is 1-2 digits off the caller's: a typo when ordering. It can be "
        "replaced with the number the customer calls from; the order's temporary numbers are "
        "revoked.",
        "Номер у замовленні відрізняється від номера того, хто телефонує, на 1–2 цифри — "
        "помилка під час оформлення. Номер замовлення можна замінити на той, з якого "
        "телефонує клієнт; тимчасові номери замовлення буде відкликано.",
    ),
    "hl_fix_number": Text(
        "Исправить номер на номер звонящего",
        "Correct it to the caller's number",
        "Виправити номер на номер того, хто телефонує",
    ),
    "hl_change_what": Text("Что изменить", "What to change", "Що змінити"),
    "hl_change": Text("Изменить заказ", "Change the order", "Змінити замовлення"),
    "hl_cancel_why": Text("Причина отмены", "Why cancel", "Причина скасування"),
    "hl_cancel": Text("Отменить заказ", "Cancel the order", "Скасувати замовлення"),
    "hl_light": Text(
        "Сервисный вопрос после покупки",
        "Service question after purchase",
        "Сервісне питання після покупки",
    ),
    "hl_light_hint": Text(
        "Полная идентификация не нужна: уточните, где куплен товар, найдите заказ и сверьте "
        "модель.",
        "No full identification needed: ask where it was bought, find the order, check the model.",
        "Повна ідентифікація не потрібна: уточніть, де куплено товар, знайдіть замовлення та "
        "звірте модель.",
    ),
    "hl_find": Text("Найти заказ", "Find the order", "Знайти замовлення"),
    "hl_not_found": Text(
        "Заказ с таким номером не найден.",
        "No order with this number.",
        "Замовлення з таким номером не знайдено.",
    ),
    "hl_recent": Text("Последние звонки", "Recent calls", "Останні дзвінки"),
    "hl_agent": Text("Оператор", "Agent", "Оператор"),
    "hl_tries": Text("Попыток", "Tries", "Спроб"),
    "hl_audit": Text(
        "Журнал проверок по звонку", "The call's audit", "Журнал перевірок за дзвінком"
    ),
    "ev_verify": Text("проверка личности", "identity check", "перевірка особи"),
    "ev_identified": Text("клиент идентифицирован", "caller identified", "клієнта ідентифіковано"),
    "ev_tries_exhausted": Text("попытки исчерпаны", "no tries left", "спроби вичерпано"),
    "ev_voice_mismatch": Text(
        "голос не соответствует", "voice does not match", "голос не відповідає"
    ),
    "ev_opened": Text(
        "заказ открыт для изменений", "order opened for changes", "замовлення відкрито для змін"
    ),
    "ev_order_lookup": Text("поиск заказа", "order looked up", "пошук замовлення"),
    "ev_number_corrected": Text(
        "номер в заказе исправлен", "order's number corrected", "номер у замовленні виправлено"
    ),
    "ev_order_confirmed": Text("заказ подтверждён", "order confirmed", "замовлення підтверджено"),
    "ev_cancel_requested": Text("запрошена отмена", "cancellation asked", "запитано скасування"),
    "ev_change_requested": Text("запрошено изменение", "change asked", "запитано зміну"),
}

# Error codes (API ``error.code``) as sentences a counter clerk understands.
ERRORS: dict[str, Text] = {
    "not_allowed": TEXT["cannot_reveal"],
    "other_site": Text(
        "Это отправление (или запись) относится к другому пункту выдачи.",
        "This shipment (or record) belongs to another pickup point.",
        "Це відправлення (або запис) належить до іншого пункту видачі.",
    ),
    "suspended": Text(
        "Номера вашего пункта временно скрыты администратором. Звонить клиентам сейчас нельзя.",
        "Your site's numbers are hidden by an administrator. You cannot call customers now.",
        "Адміністратор тимчасово приховав номери вашого пункту. Телефонувати клієнтам зараз "
        "не можна.",
    ),
    "closed": Text(
        "Пункт сейчас закрыт. Звонить клиентам можно только в рабочие часы.",
        "The site is closed now. You may call customers only in working hours.",
        "Пункт зараз зачинено. Телефонувати клієнтам можна лише в робочі години.",
    ),
    "bad_reason": Text(
        "Выберите причину звонка из списка.",
        "Choose a reason from the list.",
        "Виберіть причину дзвінка зі списку.",
    ),
    "inactive": Text(
        "Ваша учётная запись отключена.",
        "Your account is disabled.",
        "Ваш обліковий запис вимкнено.",
    ),
    "unknown_shipment": Text(
        "Отправление с таким номером не найдено в вашем пункте. Проверьте номер.",
        "No shipment with this number at your site. Check the number.",
        "Відправлення з таким номером у вашому пункті не знайдено. Перевірте номер.",
    ),
    "pool_exhausted": Text(
        "Сейчас нет свободных временных номеров. Попробуйте через несколько минут "
        "или сообщите администратору.",
        "No temporary number is free right now. Try again in a few minutes or tell an admin.",
        "Зараз немає вільних тимчасових номерів. Спробуйте за кілька хвилин "
        "або повідомте адміністратора.",
    ),
    "unavailable": Text(
        "Сервис номеров временно недоступен. Попробуйте через минуту.",
        "The number service is unavailable. Try again in a minute.",
        "Сервіс номерів тимчасово недоступний. Спробуйте за хвилину.",
    ),
    "no_phone": Text(
        "К вашей учётной записи не привязан рабочий телефон. Обратитесь к администратору.",
        "No desk phone is set for your account. Ask an administrator.",
        "До вашого облікового запису не прив’язано робочий телефон. Зверніться до адміністратора.",
    ),
    "click_to_call_unavailable": Text(
        "Звонок из консоли сейчас недоступен: телефонная станция не подключена.",
        "Calling from the console is unavailable: the phone system is not connected.",
        "Дзвінок із консолі зараз недоступний: телефонну станцію не під’єднано.",
    ),
    "call_failed": Text(
        "Не удалось позвонить на ваш рабочий телефон. Попробуйте ещё раз.",
        "Your desk phone could not be rung. Try again.",
        "Не вдалося зателефонувати на ваш робочий телефон. Спробуйте ще раз.",
    ),
    "bad_input": Text(
        "Проверьте введённые данные: {detail}",
        "Check what you entered: {detail}",
        "Перевірте введені дані: {detail}",
    ),
    "forbidden": Text(
        "Этот раздел вам недоступен.",
        "This section is not available to you.",
        "Цей розділ вам недоступний.",
    ),
    "not_found": Text("Не найдено.", "Not found.", "Не знайдено."),
    "csrf": Text(
        "Страница устарела. Обновите её и попробуйте снова.",
        "The page is out of date. Reload it and try again.",
        "Сторінка застаріла. Оновіть її та спробуйте знову.",
    ),
    "unauthenticated": Text("Войдите в систему.", "Please sign in.", "Увійдіть у систему."),
    "throttled": Text(
        "Слишком много неудачных попыток входа. Попробуйте снова через {detail} мин.",
        "Too many failed sign-ins. Try again in {detail} min.",
        "Забагато невдалих спроб входу. Спробуйте знову через {detail} хв.",
    ),
    "too_large": Text("Слишком много данных.", "Too much data.", "Забагато даних."),
    "not_an_employee": Text(
        "Владелец и менеджер видят номера всегда.",
        "Owners and staff managers always see numbers.",
        "Власник і менеджер бачать номери завжди.",
    ),
    "exists": Text("Такая запись уже есть.", "This already exists.", "Такий запис уже є."),
    "own_account": Text(
        "Свою учётную запись отключить или сменить ей пароль может только администратор.",
        "Only an administrator disables your own account or sets its password.",
        "Вимкнути власний обліковий запис або змінити його пароль може лише адміністратор.",
    ),
    "no_recording": Text(
        "У этого звонка нет записи.", "This call has no recording.", "Цей дзвінок не записано."
    ),
    "internal": Text(
        "Произошла ошибка. Попробуйте ещё раз или сообщите администратору.",
        "Something went wrong. Try again or tell an administrator.",
        "Сталася помилка. Спробуйте ще раз або повідомте адміністратора.",
    ),
    # confirmation campaigns (issue 11)
    "not_assigned": Text(
        "Сегодня эта кампания назначена не вам: её можно только смотреть.",
        "This campaign is not assigned to you today: you may only view it.",
        "Сьогодні цю кампанію призначено не вам: її можна лише переглядати.",
    ),
    "not_dialable": Text(
        "Этому покупателю сейчас звонить нельзя: {detail}",
        "This customer may not be called now: {detail}",
        "Цьому покупцеві зараз не можна телефонувати: {detail}",
    ),
    "nothing_due": Text(
        "Сейчас звонить некому: у каждого заказа есть причина подождать (см. список).",
        "Nobody is due now: every order has a reason to wait (see the list).",
        "Зараз нікому телефонувати: кожне замовлення має причину зачекати (див. список).",
    ),
    "already_dialing": Text(
        "По этому заказу уже идёт звонок.",
        "This order is already being dialed.",
        "За цим замовленням уже триває дзвінок.",
    ),
    "note_due": Text(
        "Сначала напишите заметку о предыдущем звонке.",
        "Write the note of the last call first.",
        "Спершу напишіть нотатку про попередній дзвінок.",
    ),
    "session_open": Text(
        "У вас уже есть незавершённый автообзвон: завершите его, чтобы начать новый.",
        "You already have a progressive session: stop it to start another.",
        "У вас уже є незавершений автообдзвін: завершіть його, щоб почати новий.",
    ),
    "no_call": Text(
        "Заметку писать не о чем: в этом автообзвоне ещё не было звонка.",
        "There is no call of this session to write a note about.",
        "Нотатку писати нема про що: у цьому автообдзвоні ще не було дзвінка.",
    ),
    "session_state": Text(
        "Автообзвон сейчас в другом состоянии. Обновите страницу.",
        "The dial session is in another state now. Reload the page.",
        "Автообдзвін зараз в іншому стані. Оновіть сторінку.",
    ),
    # the hotline (issue 12)
    "not_identified": Text(
        "Сначала идентифицируйте клиента: ФИО, номер заказа и город (или адрес).",
        "Identify the caller first: name, order number and city (or address).",
        "Спершу ідентифікуйте клієнта: ПІБ, номер замовлення і місто (або адресу).",
    ),
    "voice_mismatch": Text(
        "Голос не соответствует покупателю: изменения невозможны. Покупатель должен сам "
        "позвонить на горячую линию.",
        "The voice does not match the buyer: no changes. The buyer must call the hotline himself.",
        "Голос не відповідає покупцеві: зміни неможливі. Покупець має сам зателефонувати на "
        "гарячу лінію.",
    ),
    "tries_exhausted": Text(
        "Попытки проверки исчерпаны.",
        "No identification tries left.",
        "Спроби перевірки вичерпано.",
    ),
    "already_identified": Text(
        "Клиент уже идентифицирован.",
        "The caller is already identified.",
        "Клієнта вже ідентифіковано.",
    ),
    "not_a_candidate": Text(
        "Этот заказ не найден по номеру звонящего: проверять не по чему.",
        "This order is not one the caller's number matched: nothing to check against.",
        "Це замовлення не знайдено за номером того, хто телефонує: перевіряти нема за чим.",
    ),
    "not_a_typo": Text(
        "Номер исправляется, только если он отличается от номера звонящего на 1–2 цифры.",
        "The number is corrected only when it is 1-2 digits off the caller's.",
        "Номер виправляється, лише якщо він відрізняється від номера того, хто телефонує, на "
        "1–2 цифри.",
    ),
    "not_awaiting_confirmation": Text(
        "Этот заказ не ожидает подтверждения.",
        "This order is not awaiting confirmation.",
        "Це замовлення не очікує підтвердження.",
    ),
    "not_your_contact": Text(
        "На этот звонок ответил другой оператор.",
        "Another agent answered this call.",
        "На цей дзвінок відповів інший оператор.",
    ),
    "call_ended": Text("Звонок уже завершён.", "The call has ended.", "Дзвінок уже завершено."),
}

# A status change the case rules refused (masking.cases.rules.RuleBroken), by rule code,
# worded from the rule's parameters: ``current`` / ``target`` (statuses, shown by their
# labels), ``seconds`` (the shortest answered call that counts as contact).
REFUSED_CHANGES: dict[str, Text] = {
    "transition": Text(
        "Статус «{current}» нельзя сменить на «{target}».",
        "The status “{current}” cannot be changed to “{target}”.",
        "Статус «{current}» не можна змінити на «{target}».",
    ),
    "note_required": Text(
        "Напишите заметку: что произошло. Без заметки статус не меняется.",
        "Write a note saying what happened: the status does not change without one.",
        "Напишіть нотатку: що сталося. Без нотатки статус не змінюється.",
    ),
    "contact_required": Text(
        "Статус «{target}» ставится только после разговора с покупателем "
        "продолжительностью не меньше {seconds} с, а такого звонка ещё не было.",
        "“{target}” needs a conversation with the buyer of at least {seconds} s, and there "
        "has been no such call yet.",
        "Статус «{target}» можна встановити лише після розмови з покупцем тривалістю "
        "щонайменше {seconds} с, а такого дзвінка ще не було.",
    ),
    "attempt_required": Text(
        "Статус «{target}» ставится только после хотя бы одной попытки позвонить покупателю.",
        "“{target}” needs at least one attempt to call the buyer.",
        "Статус «{target}» можна встановити лише після принаймні однієї спроби зателефонувати "
        "покупцеві.",
    ),
    "closed": Text(
        "Работа по этому клиенту уже закрыта со статусом «{current}».",
        "This case is already closed as “{current}”.",
        "Роботу щодо цього клієнта вже закрито зі статусом «{current}».",
    ),
    "unknown_kind": Text(
        "Для такого вида обращений правила не заданы.",
        "No rules are set for this kind of case.",
        "Для такого виду звернень правил не задано.",
    ),
    # any rule above whose parameters are missing, and a rule without a sentence of its own
    "refused": Text(
        "Такая смена статуса невозможна.",
        "This status change is not possible.",
        "Така зміна статусу неможлива.",
    ),
}
STATUS_PARAMS = ("current", "target")  # parameters that name a case status


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get("lang")
    return cookie if cookie in LANGS else DEFAULT_LANG


def text(key: str, lang: str) -> str:
    entry = TEXT.get(key)
    return key if entry is None else pick(entry, lang)


def error_text(code: str, lang: str, detail: str = "") -> str:
    sentence = pick(ERRORS.get(code) or ERRORS["internal"], lang)
    return sentence.format(detail=detail) if "{detail}" in sentence else sentence


def _status_label(code: str, lang: str) -> str:
    label = text("cs_" + code, lang) if "cs_" + code in TEXT else code
    return label[:1].upper() + label[1:]


def refused_change(rule: str, lang: str, params: Mapping[str, object]) -> str:
    """The sentence for a status change that rule ``rule`` refused, in ``lang``, with its
    parameters filled in (statuses by their labels, as «Решено»)."""
    values = {
        name: _status_label(str(value), lang) if name in STATUS_PARAMS else str(value)
        for name, value in params.items()
    }
    sentence = pick(REFUSED_CHANGES.get(rule) or REFUSED_CHANGES["refused"], lang)
    try:
        return sentence.format_map(values)
    except (KeyError, IndexError, ValueError):
        return pick(REFUSED_CHANGES["refused"], lang)


def appeal_type(code: str, lang: str) -> str:
    """The label of an appeal type in ``lang``; an unknown code as is."""
    key = "at_" + code
    return text(key, lang) if key in TEXT else code
