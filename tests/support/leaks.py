"""Finding customers' digits in text: the full number, or any run of 7 of its digits,
also when spaces, dashes or parentheses separate them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab.asterisk import LocalAsterisk
    from lab.sipp import SippResult

_SEPARATORS = re.compile(r"(?<=\d)[ \t\-()]+(?=\d)")


def digit_leaks(text: str, numbers: Iterable[str], run: int = 7) -> list[str]:
    """Every run of ``run`` consecutive digits of one of ``numbers`` found in ``text``."""
    joined = _SEPARATORS.sub("", text)
    found = []
    for number in numbers:
        digits = re.sub(r"\D", "", number)
        for start in range(len(digits) - run + 1):
            window = digits[start : start + run]
            if window in joined and window not in found:
                found.append(window)
    return found


def number_leaks(text: str, numbers: Iterable[str]) -> list[str]:
    """Each of ``numbers`` whose full digits or national number (without the leading
    country digit) is in ``text``, also with separators between the digits. Unlike
    :func:`digit_leaks`, a short run shared with other numbers (``0000000``) is no leak."""
    joined = _SEPARATORS.sub("", text)
    found = []
    for number in numbers:
        digits = re.sub(r"\D", "", number)
        if digits[1:] in joined and number not in found:
            found.append(number)
    return found


# Asterisk's VERBOSE trace prints every dialplan application with its arguments (the
# Dial string holds the customer's number, as it does for every call any PBX makes). The
# lab logs it because its assertions read it; a production Asterisk keeps it out of its log
# files (docker/asterisk/logger.conf, checked by tests/agi/test_shipped_asterisk_configs.py).
# Every other Asterisk log line is held to the rule.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# messages.log tags every line with its level; the console copy (asterisk.out) marks
# verbose lines with "--", "==" or ">" after the indentation.
_VERBOSE_LINE = re.compile(r"^\[[^]]*\] VERBOSE\[|^\s+(?:--|==|>) ")

Finder = Callable[[str, Iterable[str]], list[str]]


def is_verbose_trace(line: str) -> bool:
    return bool(_VERBOSE_LINE.search(_ANSI.sub("", line)))


def log_leaks(text: str, numbers: Iterable[str], find: Finder = digit_leaks) -> list[str]:
    """The lines of a log ``text`` that hold one of ``numbers`` (``find`` decides what
    counts: any 7 digits in a row, or :func:`number_leaks` when customers share runs)."""
    wanted = list(numbers)
    if not find(text, wanted):  # a line's leak is the whole text's too: most texts stop here
        return []
    return [line for line in text.splitlines() if find(line, wanted)]


def sip_leaks(result: SippResult, numbers: Iterable[str]) -> list[str]:
    """Runs of ``numbers``' digits in every SIP message one SIPp instance sent or got
    (start line, headers, body): for a phone of the site, never the customer's."""
    side = "\n".join(f"{m.start_line}\n{m.headers}\n{m.body}" for m in result.messages)
    return digit_leaks(side, numbers)


def asterisk_log_offsets(asterisk: LocalAsterisk) -> dict[Path, int]:
    """Where each of ``asterisk``'s log files ends now: :func:`asterisk_log_leaks` from here."""
    return {p: p.stat().st_size for p in asterisk.paths.log.rglob("*") if p.is_file()}


def asterisk_log_leaks(
    asterisk: LocalAsterisk,
    numbers: Iterable[str],
    offsets: Mapping[Path, int] | None = None,
    find: Finder = digit_leaks,
) -> list[str]:
    """The lines of ``asterisk``'s log files (from ``offsets`` on, else whole) but its
    VERBOSE trace that hold one of ``numbers``, each prefixed with its file's name."""
    wanted = list(numbers)
    found = []
    for path in sorted(p for p in asterisk.paths.log.rglob("*") if p.is_file()):
        with open(path, "rb") as handle:
            handle.seek((offsets or {}).get(path, 0))
            text = handle.read().decode(errors="replace")
        kept = "\n".join(line for line in text.splitlines() if not is_verbose_trace(line))
        found += [f"{path.name}: {line}" for line in log_leaks(kept, wanted, find)]
    return found
