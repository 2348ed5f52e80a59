"""MASKING_LOG_FORMAT=json: one JSON object per line with time, level, logger, message and
the extra fields, and the masking of phone numbers still applies everywhere in it (the
message, its arguments, the exception, every extra field)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from masking import logs
from masking.config import ConfigError, load_settings
from tests.support.leaks import digit_leaks

CUSTOMER = "+79161234567"


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """The root logger as ``masking`` sets it up for JSON, on a buffer; put back after."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure("json", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_object_per_line_with_the_record_and_its_extra_fields(
    configured: io.StringIO,
) -> None:
    log = logging.getLogger("agi.server")
    log.info(
        "call %s: %s -> %s",
        "1700000000.42",
        "operator-call",
        "dial",
        extra={"call_id": "0123456789abcdef0123456789abcdef", "route": "operator-call", "ms": 4},
    )
    logging.getLogger("masking.calls").warning("two\nlines")
    first, second = lines(configured)
    assert first["level"] == "INFO" and first["logger"] == "agi.server"
    assert str(first["message"]).endswith("operator-call -> dial")
    assert first["call_id"] == "0123456789abcdef0123456789abcdef"
    assert (first["route"], first["ms"]) == ("operator-call", 4)
    assert isinstance(first["pid"], int)
    assert datetime.fromisoformat(str(first["time"])).utcoffset() is not None
    assert (second["level"], second["message"]) == ("WARNING", "two\nlines")


def test_no_customer_digits_in_message_arguments_extra_fields_or_exception(
    configured: io.StringIO,
) -> None:
    log = logging.getLogger("masking.calls")
    log.info("dialing %s", CUSTOMER, extra={"customer": CUSTOMER, "digits": 79161234567})
    log.info(
        "nested",
        extra={"detail": {"to": CUSTOMER, "tries": [CUSTOMER, "8 (916) 123-45-67"]}},
    )
    try:
        raise RuntimeError(f"lookup of {CUSTOMER} failed")
    except RuntimeError:
        log.exception("call failed for %s", CUSTOMER)
    text = configured.getvalue()
    assert not digit_leaks(text, [CUSTOMER]), text
    dialing, nested, failed = lines(configured)
    assert dialing["message"] == "dialing +7 916 ***-**-67"
    assert dialing["customer"] == "+7 916 ***-**-67"
    assert "RuntimeError: lookup of" in str(failed["exception"])
    assert failed["level"] == "ERROR"
    assert isinstance(nested["detail"], dict)


def test_small_numbers_in_extra_fields_stay_numbers(configured: io.StringIO) -> None:
    logging.getLogger("masking").info("took", extra={"ms": 12, "ratio": 0.5, "ok": True})
    [entry] = lines(configured)
    assert (entry["ms"], entry["ratio"], entry["ok"]) == (12, 0.5, True)


def test_the_text_format_stays_the_default_and_masks_too() -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        logs.configure(load_settings().log_format, stream=stream)
        logging.getLogger("masking.calls").info("dialing %s", CUSTOMER)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)
    text = stream.getvalue()
    assert " INFO masking.calls: dialing +7 916 ***-**-67" in text
    assert not text.startswith("{")


def test_an_unknown_log_format_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASKING_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="MASKING_LOG_FORMAT"):
        load_settings()
