"""The appeal's status rules: transitions, the evidence each status needs, the note."""

from __future__ import annotations

import pytest

from masking.cases.rules import Attempt, RuleBroken, check_change
from masking.states import CaseKind, CaseStatus, Disposition

APPEAL = CaseKind.APPEAL
ANSWERED_10 = Attempt(Disposition.ANSWERED, 10)


def rule_of(*args: object, **kwargs: object) -> str:
    with pytest.raises(RuleBroken) as caught:
        check_change(*args, **kwargs)  # type: ignore[arg-type]
    return caught.value.rule


@pytest.mark.parametrize(
    "attempts",
    [
        [],
        [Attempt(Disposition.ANSWERED, 9)],
        [Attempt(Disposition.ANSWERED, None)],
        [Attempt(Disposition.NO_ANSWER, 60), Attempt(Disposition.BUSY, 0)],
    ],
)
def test_resolved_needs_an_answered_call_of_10_seconds(attempts: list[Attempt]) -> None:
    rule = rule_of(APPEAL, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, attempts, note="ok")
    assert rule == "contact_required"


def test_resolved_with_an_answered_call_of_10_seconds() -> None:
    attempts = [Attempt(Disposition.NO_ANSWER, None), ANSWERED_10]
    check_change(APPEAL, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, attempts, note="ok")
    check_change(APPEAL, CaseStatus.NEW, CaseStatus.RESOLVED, attempts, note="ok")


def test_not_resolved_needs_an_attempt() -> None:
    rule = rule_of(APPEAL, CaseStatus.IN_PROGRESS, CaseStatus.NOT_RESOLVED, [], note="no one")
    assert rule == "attempt_required"
    no_answer = [Attempt(Disposition.NO_ANSWER, None)]
    check_change(APPEAL, CaseStatus.IN_PROGRESS, CaseStatus.NOT_RESOLVED, no_answer, note="x")


@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_person_must_leave_a_note(note: str | None) -> None:
    rule = rule_of(APPEAL, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, [ANSWERED_10], note=note)
    assert rule == "note_required"


@pytest.mark.parametrize("closed", [CaseStatus.RESOLVED, CaseStatus.NOT_RESOLVED])
@pytest.mark.parametrize("target", list(CaseStatus))
def test_closed_cases_cannot_change(closed: CaseStatus, target: CaseStatus) -> None:
    rule = rule_of(APPEAL, closed, target, [ANSWERED_10], note="again")
    assert rule == "transition"
    automatic = rule_of(APPEAL, closed, target, [], note=None, automatic=True)
    assert automatic == "transition"


def test_no_way_back_to_new() -> None:
    assert rule_of(APPEAL, CaseStatus.IN_PROGRESS, CaseStatus.NEW, [], note="x") == "transition"


@pytest.mark.parametrize("current", [CaseStatus.NEW, CaseStatus.IN_PROGRESS])
def test_automatic_close_needs_neither_note_nor_attempt(current: CaseStatus) -> None:
    check_change(APPEAL, current, CaseStatus.NOT_RESOLVED, [], note=None, automatic=True)


def test_unknown_kind() -> None:
    rule = rule_of("lottery", CaseStatus.NEW, CaseStatus.IN_PROGRESS, [], note="x")
    assert rule == "unknown_kind"


def test_a_refusal_carries_the_parameters_of_its_sentence() -> None:
    """The console words a refusal from the rule and its parameters (statuses, seconds),
    never from the English message."""
    cases = [
        ((CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, []), "ok", "contact_required"),
        ((CaseStatus.IN_PROGRESS, CaseStatus.NOT_RESOLVED, []), "ok", "attempt_required"),
        ((CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, [ANSWERED_10]), " ", "note_required"),
        ((CaseStatus.RESOLVED, CaseStatus.IN_PROGRESS, []), "ok", "transition"),
    ]
    params = {}
    for args, note, rule in cases:
        with pytest.raises(RuleBroken) as caught:
            check_change(APPEAL, *args, note=note)
        assert caught.value.rule == rule
        params[rule] = caught.value.params
    assert params["contact_required"] == {"target": "resolved", "seconds": 10}
    assert params["attempt_required"] == {"target": "not_resolved"}
    assert params["note_required"] == {"target": "resolved"}
    assert params["transition"] == {"current": "resolved", "target": "in_progress"}
    assert "10 s" in str(RuleBroken("contact_required", "needs 10 s", seconds=10))
    assert all(type(v) in (str, int) for p in params.values() for v in p.values())
