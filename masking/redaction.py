"""The last net of the personal-data rule: a logging filter that masks anything that
looks like a phone number in every record's message, arguments and exception text.

Code logs masked numbers itself (:func:`masking.numbers.phones.mask_number`); this catches
what it cannot control: exception messages of libraries (database drivers, Redis), and
mistakes. Install it on the handlers, so that records of every logger are covered.
"""

from __future__ import annotations

import logging

from masking.numbers.phones import redact_numbers


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
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of ``logger`` (the root logger by default)."""
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
