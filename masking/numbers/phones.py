"""Phone numbers: parse to E.164 with a region, and render masked for logs and screens."""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_DIALABLE_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.UAN,
}
_ALLOWED_INPUT = re.compile(r"^[0-9+()\-.\s]{1,40}$")


class InvalidPhoneNumber(ValueError):
    """Names the field and why the value is not a usable number (never echoes the value)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalize(raw: str, region: str, *, field: str = "phone") -> str:
    """Return the number as E.164 (``+79001234567``) or raise :class:`InvalidPhoneNumber`."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber(field, "is empty")
    if not _ALLOWED_INPUT.match(text):
        raise InvalidPhoneNumber(field, "may contain only digits, spaces, + ( ) - .")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper())
    except NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, "not a phone number")
        raise InvalidPhoneNumber(field, reason) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(field, f"is not a valid number for region {region.upper()}")
    if phonenumbers.number_type(number) not in _DIALABLE_TYPES:
        raise InvalidPhoneNumber(field, "is not a dialable subscriber number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


# parsing costs as much as the rest of a call decision, and calls repeat the same numbers
# (desk phones dial the same temporary numbers; logs mask the same customers): both are
# pure functions, so a cache cannot change an answer
@functools.lru_cache(maxsize=65536)
def try_normalize(raw: str, region: str) -> str | None:
    try:
        return normalize(raw, region)
    except InvalidPhoneNumber:
        return None


def region_of(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except NumberParseException:
        return None


@functools.lru_cache(maxsize=65536)
def mask_number(raw: str | None) -> str:
    """``+79001234567`` -> ``+7 900 ***-**-67``; anything unparsable keeps 2 digits at most."""
    if not raw:
        return "<none>"
    digits = re.sub(r"\D", "", raw)
    try:
        number = phonenumbers.parse("+" + digits, None)
        national = str(number.national_number)
        if len(national) >= 7:
            return f"+{number.country_code} {national[:3]} ***-**-{national[-2:]}"
    except NumberParseException:
        pass
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + digits[-2:]


def dial_digits(e164: str) -> str:
    """E.164 without the plus: what the carrier trunk is dialed with."""
    return e164.lstrip("+")


# Anything that looks like a phone number: 7+ digits, optionally with a leading +, spaces,
# dashes or parentheses between them; not inside a word (hex ids, channel names).
_PHONE_LIKE = re.compile(r"(?<![A-Za-z0-9])\+?\(?\d(?:[ \t\-()]{0,3}\d){6,}(?![A-Za-z0-9])")
# Dates (with the hour) have as many digits; they are not numbers of anyone.
_DATE_LIKE = re.compile(r"(?:19|20)\d\d-[01]\d-[0-3]\d(?:[ T][0-2]\d)?")
# Asterisk channel uniqueids (unix seconds, a dot, a sequence: 1764530000.42), the key to
# trace a call in the logs; ten bare digits from 1 then ".<digit>" are not a phone number.
_UNIQUEID_SECONDS = re.compile(r"1\d{9}")
_UNIQUEID_TAIL = re.compile(r"\.\d")


def redact_numbers(text: str) -> str:
    """``text`` with every phone-number-like run of digits masked (see :func:`mask_number`)."""

    def masked(match: re.Match[str]) -> str:
        found = match.group(0)
        if _DATE_LIKE.fullmatch(found):
            return found
        if _UNIQUEID_SECONDS.fullmatch(found) and _UNIQUEID_TAIL.match(text, match.end()):
            return found
        return mask_number(found)

    return _PHONE_LIKE.sub(masked, text)
