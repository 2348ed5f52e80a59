"""How the fault suite tells what became of an attempt, from the desk phones' and the
carrier's SIPp logs and the call records (lab/faults/outcomes.py); no Asterisk needed."""

from __future__ import annotations

from pathlib import Path

from lab.faults.outcomes import (
    NO_RECORD,
    Attempt,
    FaultReport,
    classify,
    read_carrier_log,
    read_desk_log,
    row,
    unmasked,
)
from lab.faults.suite import summarise

STAMP = "2026-11-30\t20:00:0{n}.000000\t17960700{n}0.000000"


def attempt(index: int, number: str = "+74950010000", endpoint: str = "desk01") -> Attempt:
    return Attempt(
        index=index,
        endpoint=endpoint,
        site_id=1,
        virtual_number=number,
        customer_digits=f"7900100000{index}",
        shipment_id=100 + index,
    )


def test_the_logs_fill_the_attempts_and_two_sites_may_share_a_number(tmp_path: Path) -> None:
    # sites share the pool: the same temporary number is two attempts at two sites
    first, second = attempt(0), attempt(1, endpoint="desk02")
    desk = tmp_path / "desk.log"
    desk.write_text(
        f"start desk01 +74950010000 {STAMP.format(n=1)}\n"
        f"start desk02 +74950010000 {STAMP.format(n=2)}\n"
        f"answered desk01 +74950010000 {STAMP.format(n=3)}\n"
        f"done desk01 +74950010000 {STAMP.format(n=4)}\n"
    )
    carrier = tmp_path / "carrier.log"
    carrier.write_text(
        f'invite 79001000000 c1 {STAMP.format(n=3)} FROM "Pickup point" '
        "<sip:+74950010000@127.0.0.1>;tag=x\n"
        f"bye 79001000000 c1 {STAMP.format(n=4)}\n"
        f"invite 79009999999 c9 {STAMP.format(n=5)} FROM <sip:+74950010000@127.0.0.1>\n"
    )
    read_desk_log(desk, {(a.endpoint, a.virtual_number): a for a in (first, second)})
    strangers = read_carrier_log(carrier, {a.customer_digits: a for a in (first, second)})
    assert first.started == 1796070010.0 and first.answered and first.done
    assert second.started == 1796070020.0 and not second.answered
    assert first.carrier_calls == {"c1"} == first.carrier_byes
    assert first.caller_ids == ["+74950010000"]
    assert strangers == 1  # a number no attempt dials was rung


def test_outcomes() -> None:
    completed = attempt(0)
    completed.done = True
    completed.carrier_calls = completed.carrier_byes = {"c1"}
    completed.records = [("answered", None)]
    denied = attempt(1)
    denied.answered = True
    denied.records = [("denied", "unavailable")]
    no_record = attempt(2)
    no_record.answered = True
    cut = attempt(3)
    cut.carrier_calls = {"c3"}
    failed = attempt(4)
    for each in (completed, denied, no_record, cut, failed):
        classify(each)
    assert [a.outcome for a in (completed, denied, no_record, cut, failed)] == [
        "completed",
        "denied",
        "denied",
        "dropped",
        "failed",
    ]
    assert (denied.reason, no_record.reason) == ("unavailable", NO_RECORD)


def test_unmasked_is_any_caller_id_but_the_attempts_own_number() -> None:
    shown = attempt(0)
    shown.caller_ids = ["+74950010000", "74950010000", "+74950010001", "79001000000"]
    assert unmasked(shown) == 2


def test_the_report_counts_what_matters() -> None:
    ok, twice, missing = attempt(0), attempt(1), attempt(2)
    for n, each in enumerate((ok, twice, missing)):
        each.started = 100.0 + 10 * n
        each.done = True
    ok.carrier_calls = ok.carrier_byes = {"a"}
    ok.records = [("answered", None)]
    twice.carrier_calls = twice.carrier_byes = {"b1", "b2"}
    twice.records = [("answered", None)]
    missing.carrier_calls = missing.carrier_byes = {"c"}
    missing.records = [("denied", "unavailable")]  # rung, yet only a denial on record
    report = FaultReport("redis", "Redis restarted", 1, 3, 99.0, 105.0, 106.0)
    summarise(report, [ok, twice, missing])
    assert (report.attempted, report.completed, report.rung_twice) == (3, 3, 1)
    assert report.records_missing == 1
    assert report.after_recovery == (1, 1)  # started from 5 s after recovery on
    assert row(report).startswith("| Redis restarted | 3 | 3 | 0 |")
