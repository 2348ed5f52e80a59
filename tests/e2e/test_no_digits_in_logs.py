"""Issue 9: after an operator call, a call-back and a denial through the real Asterisk,
no log the service or Asterisk wrote holds a customer's digits (the full number or any
7 of them in a row, whatever separates them).

SIPp's own message logs are not scanned: they are the carrier's and the customer's side,
and the INVITE to the carrier legitimately carries the customer's number."""

from __future__ import annotations

import pytest

from tests.support import smoke
from tests.support.e2e import Live

pytestmark = pytest.mark.e2e


def test_no_customer_digits_in_service_or_asterisk_logs(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    smoke.no_customer_digits_in_service_or_asterisk_logs(live, caplog)
