"""A desk phone dials a live temporary number: the real service decides, the real
Asterisk dials the customer masked through the carrier and records the call."""

from __future__ import annotations

import pytest

from tests.support import smoke
from tests.support.e2e import Live

pytestmark = pytest.mark.e2e


def test_operator_call_is_masked_bridged_and_recorded(live: Live) -> None:
    smoke.operator_call_is_masked_bridged_and_recorded(live)
