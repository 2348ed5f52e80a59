"""Interface text in Russian (default) and English; errors as plain sentences. Appeal
types also have Ukrainian labels (:data:`APPEAL_TYPES_UK`) for a future switch."""

from __future__ import annotations

from fastapi import Request

LANGS = ("ru", "en")
DEFAULT_LANG = "ru"

TEXT: dict[str, tuple[str, str]] = {
    "app": ("Звонки клиентам", "Customer calls"),
    "login": ("Вход", "Sign in"),
    "login_name": ("Логин", "Login"),
    "password": ("Пароль", "Password"),
    "sign_in": ("Войти", "Sign in"),
    "sign_out": ("Выйти", "Sign out"),
    "bad_login": ("Неверный логин или пароль.", "Wrong login or password."),
    "search": ("Поиск товара", "Item search"),
    "calls": ("История звонков", "Call history"),
    "team": ("Команда", "Team"),
    "sites": ("Пункты", "Sites"),
    "pool": ("Номера", "Numbers"),
    "reasons": ("Причины", "Reasons"),
    "audit": ("Журнал показов", "Reveal audit"),
    "recordings": ("Записи", "Recordings"),
    "shipment": ("Номер отправления", "Shipment number"),
    "find": ("Найти", "Find"),
    "status": ("Статус", "Status"),
    "reason": ("Причина звонка", "Reason for the call"),
    "show_number": ("Показать номер", "Show number"),
    "temp_number": ("Временный номер", "Temporary number"),
    "valid_until": ("действует до", "valid until"),
    "call": ("Позвонить", "Call"),
    "call_hint": (
        "Сначала зазвонит ваш рабочий телефон, затем — клиент.",
        "Your desk phone rings first, then the customer.",
    ),
    "has_live": ("Временный номер уже выдан", "A temporary number is already issued"),
    "no_live": ("Временный номер ещё не выдан", "No temporary number issued yet"),
    "site_closed": ("Пункт сейчас закрыт", "The site is closed now"),
    "site_suspended": ("Номера пункта скрыты", "The site's numbers are hidden"),
    "cannot_reveal": (
        "Вам не разрешено видеть номера клиентов. Попросите владельца пункта включить доступ "
        "в разделе «Команда».",
        "You may not see customer numbers. Ask the site owner to switch it on in “Team”.",
    ),
    "rules": (
        "Звоните только в рабочие часы и только по разрешённой причине. Представьтесь. "
        "Не сообщайте клиенту свои данные и контакты в мессенджерах. Все звонки записываются.",
        "Call only in working hours and for an allowed reason. Introduce yourself. Never give "
        "the customer your own data or messenger contacts. All calls are recorded.",
    ),
    "when": ("Когда", "When"),
    "who": ("Кто", "Who"),
    "direction": ("Направление", "Direction"),
    "result": ("Итог", "Result"),
    "duration": ("Длительность", "Duration"),
    "filter": ("Показать", "Filter"),
    "from": ("с", "from"),
    "to": ("по", "to"),
    "any": ("все", "any"),
    "nothing": ("Ничего не найдено.", "Nothing found."),
    "name": ("Имя", "Name"),
    "role": ("Роль", "Role"),
    "sees_numbers": ("Видит номера", "Sees numbers"),
    "yes": ("да", "yes"),
    "no": ("нет", "no"),
    "switch_on": ("Включить", "Switch on"),
    "switch_off": ("Выключить", "Switch off"),
    "always": ("всегда (по роли)", "always (by role)"),
    "account": ("Учётная запись", "Account"),
    "account_on": ("включена", "enabled"),
    "account_off": ("отключена", "disabled"),
    "disable": ("Отключить", "Disable"),
    "enable": ("Включить", "Enable"),
    "new_password": ("Новый пароль (от 12 символов)", "New password (12+ characters)"),
    "set_password": ("Задать пароль", "Set password"),
    "hours": ("Часы работы", "Working hours"),
    "save": ("Сохранить", "Save"),
    "exceptions": ("Особые дни", "Exceptions"),
    "day": ("Дата", "Date"),
    "intervals": ("Часы (пусто — выходной)", "Hours (empty: closed)"),
    "note": ("Примечание", "Note"),
    "add": ("Добавить", "Add"),
    "delete": ("Удалить", "Delete"),
    "suspend": ("Скрыть номера", "Hide numbers"),
    "resume": ("Вернуть номера", "Restore numbers"),
    "suspended_because": ("Номера скрыты", "Numbers hidden"),
    "why": ("Причина", "Reason"),
    "open_now": ("Открыт сейчас", "Open now"),
    "region": ("Регион", "Region"),
    "numbers": ("Номеров", "Numbers"),
    "free": ("Свободно", "Free"),
    "headroom": ("Запас для самого занятого пункта", "Headroom for the busiest site"),
    "add_numbers": ("Добавить номера (по одному в строке)", "Add numbers (one per line)"),
    "code": ("Код", "Code"),
    "title_ru": ("Название (рус.)", "Title (Russian)"),
    "title_en": ("Название (англ.)", "Title (English)"),
    "kind": ("Тип", "Kind"),
    "active": ("Действует", "Active"),
    "granted": ("Показан", "Granted"),
    "refusal": ("Отказ", "Refusal"),
    "play": ("Прослушать", "Play"),
    "sample": ("Случайная выборка для проверки", "Random sample for review"),
    "site": ("Пункт", "Site"),
    "size": ("Сколько", "How many"),
    "days": ("За дней", "Last days"),
    "saved": ("Сохранено.", "Saved."),
    "error_page": ("Что-то пошло не так", "Something went wrong"),
    "back": ("Назад", "Back"),
    "call_status": ("Статус звонка", "Call status"),
    # live call statuses and dispositions
    "st_deciding": ("подготовка…", "preparing…"),
    "st_ringing_staff": ("звонит ваш телефон — снимите трубку", "your phone rings: pick it up"),
    "st_ringing_customer": ("звоним клиенту…", "calling the customer…"),
    "st_connected": ("разговор идёт", "connected"),
    "st_ended": ("звонок завершён", "call ended"),
    "d_in_progress": ("идёт", "in progress"),
    "d_answered": ("состоялся", "answered"),
    "d_busy": ("занято", "busy"),
    "d_no_answer": ("нет ответа", "no answer"),
    "d_failed": ("не удался", "failed"),
    "d_denied": ("запрещён", "denied"),
    "dir_outbound": ("исходящий", "outbound"),
    "dir_inbound": ("входящий", "inbound"),
    "dir_click2call": ("из консоли", "click-to-call"),
    "role_owner": ("владелец", "owner"),
    "role_staff_manager": ("менеджер", "staff manager"),
    "role_employee": ("сотрудник", "employee"),
    "role_admin": ("администратор", "admin"),
    "role_qa": ("контроль качества", "QA reviewer"),
    # shipment statuses, refusals of a call
    "ss_at_pickup_point": ("в пункте выдачи", "at the pickup point"),
    "ss_in_transit": ("в пути", "in transit"),
    "ss_issued": ("выдано", "handed over"),
    "ss_returned": ("возвращено", "returned"),
    "deny_not_allowed": ("нет доступа к номерам", "no access to numbers"),
    "deny_other_site": ("другой пункт", "another site"),
    "deny_suspended": ("номера скрыты", "numbers hidden"),
    "deny_closed": ("пункт закрыт", "site closed"),
    "deny_bad_reason": ("нет причины", "no reason"),
    "deny_inactive": ("учётная запись отключена", "account disabled"),
    "deny_unknown_shipment": ("нет отправления", "unknown shipment"),
    "deny_pool_exhausted": ("нет свободных номеров", "no free number"),
    "deny_no_phone": ("нет рабочего телефона", "no desk phone"),
    "deny_expired": ("временный номер истёк", "temporary number expired"),
    "deny_unknown": ("неизвестный номер", "unknown number"),
    "deny_invalid_input": ("неверный номер", "invalid number"),
    "rk_pickup_point": ("пункт выдачи", "pickup point"),
    "rk_call_centre": ("колл-центр", "call centre"),
    "time_zone": ("Часовой пояс", "Time zone"),
    "overdue": ("просрочено на", "overdue by"),
    # appeals
    "appeals": ("Обращения", "Appeals"),
    "appeal": ("Обращение", "Appeal"),
    "appeals_report": ("Отчёт по обращениям", "Appeals report"),
    "appeal_type": ("Тип обращения", "Type"),
    "assignee": ("Исполнитель", "Assignee"),
    "unassigned": ("не назначен", "unassigned"),
    "mine": ("мои", "mine"),
    "time_left": ("Осталось", "Time left"),
    "sla": ("Срок", "SLA"),
    "received_at": ("Поступило", "Received"),
    "order": ("Заказ", "Order"),
    "channel": ("Канал", "Channel"),
    "new_appeal": ("Внести обращение вручную", "Enter an appeal by hand"),
    "appeal_number": ("Номер обращения", "Appeal number"),
    "customer_phone_if_new": (
        "Телефон покупателя (если заказа ещё нет)",
        "Customer's phone (if the order is not here yet)",
    ),
    "appeal_text": ("Текст обращения", "Appeal text"),
    "first_call_due": ("Позвонить до", "Call by"),
    "resolve_due": ("Решить до", "Resolve by"),
    "closed_at": ("Закрыто", "Closed"),
    "closed_auto": ("закрыто автоматически по сроку", "closed automatically by the SLA timer"),
    "take": ("Взять в работу", "Take"),
    "add_note": ("Добавить заметку", "Add note"),
    "notes": ("Заметки", "Notes"),
    "attempts": ("Звонки по обращению", "Call attempts"),
    "history": ("История изменений", "History"),
    "set_status": ("Сменить статус", "Set status"),
    "status_note": ("Заметка (обязательна)", "Note (required)"),
    "appeal_call_hint": (
        "Сначала зазвонит ваш рабочий телефон, затем — покупатель. Номер покупателя скрыт.",
        "Your desk phone rings first, then the buyer. The buyer's number stays hidden.",
    ),
    "live_hint": (
        "Список обновляется сам каждые 10 секунд.",
        "The list refreshes itself every 10 seconds.",
    ),
    "new_appeals": ("Появились новые обращения", "New appeals arrived"),
    "report": ("Отчёт", "Report"),
    "download_csv": ("Скачать CSV", "Download CSV"),
    "rep_received": ("Поступило обращений", "Appeals received"),
    "rep_open": ("Ещё открыто", "Still open"),
    "rep_first_called_in_time": ("Позвонили в течение 2 ч", "First called within 2 h"),
    "rep_resolved_in_time": ("Решено в течение 24 ч", "Resolved within 24 h"),
    "rep_auto_closed": ("Закрыто автоматически", "Closed automatically"),
    "rep_median_minutes_to_first_call": (
        "Медиана времени до первого звонка",
        "Median time to the first call",
    ),
    "recording": ("Запись", "Recording"),
    "cs_new": ("новое", "new"),
    "cs_in_progress": ("в работе", "in progress"),
    "cs_resolved": ("решено", "resolved"),
    "cs_not_resolved": ("не решено", "not resolved"),
    "sla_on_time": ("в срок", "on time"),
    "sla_first_call_missed": ("звонок позже 2 ч", "2 h call target missed"),
    "sla_breached": ("просрочено (24 ч)", "24 h limit breached"),
    "ch_call": ("звонок", "call"),
    "ch_chat": ("чат", "chat"),
    "ch_review": ("отзыв", "review"),
    "ev_created": ("создано", "created"),
    "ev_assigned": ("взято в работу", "taken"),
    "ev_note": ("заметка", "note"),
    "ev_status": ("смена статуса", "status changed"),
    "ev_attempt": ("звонок", "call attempt"),
    "at_contact_request": ("Просьба связаться", "Contact request"),
    "at_delivery_question": ("Вопрос о доставке", "Delivery question"),
    "at_order_cancellation": ("Отмена заказа", "Order cancellation"),
    "at_complaint": ("Жалоба", "Complaint"),
    "at_product_return": ("Возврат товара", "Product return"),
    "at_fix_site_info": ("Исправить информацию о пункте", "Fix information on the site"),
    "at_payment_question": ("Вопрос об оплате", "Payment question"),
}

# Ukrainian labels of the seven appeal types (the issue asks RU, EN and UK); shown when
# ``lang`` is "uk", which the language switch does not offer yet.
APPEAL_TYPES_UK: dict[str, str] = {
    "contact_request": "Прохання зв'язатися",
    "delivery_question": "Питання щодо доставки",
    "order_cancellation": "Скасування замовлення",
    "complaint": "Скарга",
    "product_return": "Повернення товару",
    "fix_site_info": "Виправити інформацію про пункт",
    "payment_question": "Питання щодо оплати",
}

# Error codes (API ``error.code``) as sentences a counter clerk understands.
ERRORS: dict[str, tuple[str, str]] = {
    "not_allowed": (
        "Вам не разрешено видеть номера клиентов. Попросите владельца пункта включить доступ "
        "в разделе «Команда».",
        "You may not see customer numbers. Ask the site owner to switch it on in “Team”.",
    ),
    "other_site": (
        "Это отправление (или запись) относится к другому пункту выдачи.",
        "This shipment (or record) belongs to another pickup point.",
    ),
    "suspended": (
        "Номера вашего пункта временно скрыты администратором. Звонить клиентам сейчас нельзя.",
        "Your site's numbers are hidden by an administrator. You cannot call customers now.",
    ),
    "closed": (
        "Пункт сейчас закрыт. Звонить клиентам можно только в рабочие часы.",
        "The site is closed now. You may call customers only in working hours.",
    ),
    "bad_reason": ("Выберите причину звонка из списка.", "Choose a reason from the list."),
    "inactive": ("Ваша учётная запись отключена.", "Your account is disabled."),
    "unknown_shipment": (
        "Отправление с таким номером не найдено в вашем пункте. Проверьте номер.",
        "No shipment with this number at your site. Check the number.",
    ),
    "pool_exhausted": (
        "Сейчас нет свободных временных номеров. Попробуйте через несколько минут "
        "или сообщите администратору.",
        "No temporary number is free right now. Try again in a few minutes or tell an admin.",
    ),
    "unavailable": (
        "Сервис номеров временно недоступен. Попробуйте через минуту.",
        "The number service is unavailable. Try again in a minute.",
    ),
    "no_phone": (
        "К вашей учётной записи не привязан рабочий телефон. Обратитесь к администратору.",
        "No desk phone is set for your account. Ask an administrator.",
    ),
    "click_to_call_unavailable": (
        "Звонок из консоли сейчас недоступен: телефонная станция не подключена.",
        "Calling from the console is unavailable: the phone system is not connected.",
    ),
    "call_failed": (
        "Не удалось позвонить на ваш рабочий телефон. Попробуйте ещё раз.",
        "Your desk phone could not be rung. Try again.",
    ),
    "bad_input": ("Проверьте введённые данные: {detail}", "Check what you entered: {detail}"),
    "forbidden": ("Этот раздел вам недоступен.", "This section is not available to you."),
    "not_found": ("Не найдено.", "Not found."),
    "csrf": (
        "Страница устарела. Обновите её и попробуйте снова.",
        "The page is out of date. Reload it and try again.",
    ),
    "unauthenticated": ("Войдите в систему.", "Please sign in."),
    "throttled": (
        "Слишком много неудачных попыток входа. Попробуйте снова через {detail} мин.",
        "Too many failed sign-ins. Try again in {detail} min.",
    ),
    "too_large": ("Слишком много данных.", "Too much data."),
    "not_an_employee": (
        "Владелец и менеджер видят номера всегда.",
        "Owners and staff managers always see numbers.",
    ),
    "exists": ("Такая запись уже есть.", "This already exists."),
    "own_account": (
        "Свою учётную запись отключить или сменить ей пароль может только администратор.",
        "Only an administrator disables your own account or sets its password.",
    ),
    "no_recording": ("У этого звонка нет записи.", "This call has no recording."),
    "transition": (
        "Такая смена статуса невозможна: {detail}",
        "This status change is not possible: {detail}",
    ),
    "note_required": (
        "Напишите заметку: что произошло. Без заметки статус не меняется.",
        "Write a note saying what happened: the status does not change without one.",
    ),
    "contact_required": (
        "«Решено» — только после состоявшегося разговора с покупателем: {detail}",
        "Resolved needs a real conversation with the buyer: {detail}",
    ),
    "attempt_required": (
        "«Не решено» — только после хотя бы одной попытки позвонить: {detail}",
        "Not resolved needs at least one call attempt: {detail}",
    ),
    "internal": (
        "Произошла ошибка. Попробуйте ещё раз или сообщите администратору.",
        "Something went wrong. Try again or tell an administrator.",
    ),
}


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get("lang")
    return cookie if cookie in LANGS else DEFAULT_LANG


def text(key: str, lang: str) -> str:
    pair = TEXT.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "ru" else pair[1]


def error_text(code: str, lang: str, detail: str = "") -> str:
    pair = ERRORS.get(code) or ERRORS["internal"]
    sentence = pair[0] if lang == "ru" else pair[1]
    return sentence.format(detail=detail) if "{detail}" in sentence else sentence


def appeal_type(code: str, lang: str) -> str:
    """The label of an appeal type in ``lang`` (ru, en or uk); an unknown code as is."""
    if lang == "uk" and code in APPEAL_TYPES_UK:
        return APPEAL_TYPES_UK[code]
    key = "at_" + code
    return text(key, lang) if key in TEXT else code
