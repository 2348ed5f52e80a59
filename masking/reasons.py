"""Default reason codes: five pickup-point reasons and the call-centre ones (seeds 000, 002-004)."""

from __future__ import annotations

DEFAULT_REASONS: tuple[tuple[str, str, str, str], ...] = (
    # code, Russian title, English title, kind
    (
        "postpaid_payment_failed",
        "Постоплата: не удалось провести оплату",
        "Post-paid order: payment failed at the counter",
        "pickup_point",
    ),
    (
        "forgot_or_took_items",
        "Клиент забыл заказ, личные вещи или взял чужое",
        "Customer forgot the order or personal items, or took someone else's",
        "pickup_point",
    ),
    (
        "wrong_order_given",
        "Клиент получил не тот заказ",
        "Customer was given the wrong order",
        "pickup_point",
    ),
    (
        "item_found_later",
        "Товар не нашли сразу, нашли позже",
        "Item could not be found quickly and was found later",
        "pickup_point",
    ),
    (
        "strong_smell",
        "Товар с резким запахом: забрать побыстрее",
        "Goods with a strong smell should be collected soon",
        "pickup_point",
    ),
    (
        "appeal_callback",
        "Обращение покупателя: обратный звонок",
        "Customer appeal: call back",
        "call_centre",
    ),
    (
        "order_confirmation",
        "Подтверждение неоплаченного заказа",
        "Confirm an unpaid order",
        "call_centre",
    ),
    (
        "hotline_identification",
        "Горячая линия: идентификация клиента",
        "Hotline: identify the customer",
        "call_centre",
    ),
)
