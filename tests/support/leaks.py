"""Finding customers' digits in text: the full number, or any run of 7 of its digits,
also when spaces, dashes or parentheses separate them."""

from __future__ import annotations

import re
from collections.abc import Iterable

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
