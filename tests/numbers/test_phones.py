"""Phone numbers: normalised to E.164, refused with a sentence that does not repeat them,
masked for logs and lists."""

from __future__ import annotations

import pytest

from masking.numbers.phones import InvalidPhoneNumber, mask_number, normalize


class TestPhones:
    @pytest.mark.parametrize(
        ("raw", "e164"),
        [
            ("8 (916) 123-45-67", "+79161234567"),
            ("+7 916 123 45 67", "+79161234567"),
            ("0079161234567", "+79161234567"),
            ("9161234567", "+79161234567"),
        ],
    )
    def test_normalize(self, raw: str, e164: str) -> None:
        assert normalize(raw, "RU") == e164

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            ("", "is empty"),
            ("123&PJSIP/x@carrier", "may contain only"),
            ('"Evil" <sip:1@x>', "may contain only"),
            ("+7916", "not a valid number"),
            ("12345678901234567890123", "too long"),
        ],
    )
    def test_invalid(self, raw: str, reason: str) -> None:
        with pytest.raises(InvalidPhoneNumber, match=reason) as info:
            normalize(raw, "RU", field="customer phone")
        assert str(info.value).startswith("customer phone:")
        if len(raw) > 6:
            assert raw not in str(info.value)

    def test_mask(self) -> None:
        assert mask_number("+79161234567") == "+7 916 ***-**-67"
        assert "1234" not in mask_number("+79161234567")
        assert mask_number(None) == "<none>"
        assert mask_number("12") == "**"
