"""How the ``masking`` command logs: to stderr, as text (default) or as one JSON object per
line (``MASKING_LOG_FORMAT=json``, for log shippers): ``time`` (UTC, ISO 8601), ``level``,
``logger``, ``message``, ``pid``, the extra fields of the record, and ``exception`` /
``stack`` when there are. Either way the handler carries the redacting filter
(:mod:`masking.redaction`): phone numbers are masked in the message, the exception and
every extra field before the record is formatted.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from masking import redaction

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# extra fields libraries add that only repeat the message (uvicorn: with colours)
_NOISE = frozenset({"color_message"})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in redaction.STANDARD_ATTRIBUTES and key not in _NOISE:
                entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(log_format: str = "text", *, stream: TextIO | None = None) -> logging.Handler:
    """The root logger at INFO with one handler on ``stream`` (stderr) in ``log_format``
    (``text`` or ``json``), numbers masked; replaces the handlers it had."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    redaction.install(root)
    return handler
