"""The dialplan check (``agi.dialplan.check``) on the shipped dialplan and on copies
broken on purpose: plain unit tests, no Asterisk needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi import variables
from agi.dialplan import DIALPLAN_DIR, FILES, REQUIRED_CONTEXTS, check
from tests.support.dialplan import (
    MISTAKES,
    broken_dialplan,
    renamed_contract_variable,
    shipped_copy,
)


def test_the_shipped_dialplan_passes() -> None:
    report = check(DIALPLAN_DIR)
    assert report.ok, report.errors
    assert set(REQUIRED_CONTEXTS) <= set(report.contexts)
    # operator-call, click2call, inbound-call, hotline-call ask through masking-sub-agi
    # (each followed by a branch on AGISTATUS), the one AGI() that tries every server
    assert (report.service_requests, report.agi_calls) == (4, 1)


def test_the_shipped_contract_lists_every_variable() -> None:
    contract = (DIALPLAN_DIR / "masking-contract.conf").read_text()
    for name in variables.ALL:
        assert name in contract, name


@pytest.mark.parametrize(("edit", "message"), MISTAKES)
def test_mistakes_are_caught(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    report = check(broken_dialplan(tmp_path / "dialplan", edit, message))
    assert not report.ok
    assert any(message in error for error in report.errors), report.errors


def test_contract_mismatch_is_caught(tmp_path: Path) -> None:
    report = check(renamed_contract_variable(tmp_path / "dialplan"))
    assert not report.ok
    text = "\n".join(report.errors)
    assert "lacks MASKING_OPENS_DAY" in text and "unknown MASKING_OPENS_WEEKDAY" in text


@pytest.mark.parametrize("missing", FILES)
def test_a_missing_file_is_caught(tmp_path: Path, missing: str) -> None:
    broken = shipped_copy(tmp_path / "dialplan")
    (broken / missing).unlink()
    report = check(broken)
    assert report.errors == [f"{broken}: missing {missing}"]
