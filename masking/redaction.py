"""The last net of the personal-data rule: a logging filter that masks anything that
looks like a phone number in every record's message, arguments and exception text.

Code logs masked numbers itself (:func:`masking.numbers.phones.mask_number`); this catches
what it cannot control: exception messages of libraries (database drivers, Redis), and
mistakes. Install it on the handlers, so that records of every logger are covered.
Extra fields (``log.info(..., extra={...})``, shown by the JSON log format) are masked too.
"""

from __future__ import annotations

import logging
from typing import Any

from masking.numbers.phones import redact_numbers

# what every LogRecord has; anything else on a record came in as an extra field
STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__
) | {"message", "asctime"}
# the shortest integer that could be a phone number (7 digits)
_SHORTEST_NUMBER = 1_000_000


def redact_value(value: Any) -> Any:
    """An extra field's value with phone-number-like digits masked: text and long integers
    (as text) masked, containers walked, anything else turned to masked text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value if abs(value) < _SHORTEST_NUMBER else redact_numbers(str(value))
    if isinstance(value, str):
        return redact_numbers(value)
    if isinstance(value, dict):
        return {redact_numbers(str(k)): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    return redact_numbers(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites the record in place: message and args merged and masked, the exception
    (and stack) rendered to text and masked; never drops a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad args: keep what can be shown, masked
            message = f"{record.msg} {record.args!r}"
        record.msg = redact_numbers(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_numbers(record.exc_text)
        # handlers format exc_text when set; exc_info would let one render it raw again
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact_numbers(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in STANDARD_ATTRIBUTES:
                record.__dict__[key] = redact_value(value)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of ``logger`` (the root logger by default)."""
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
