"""Issue 9: after an operator call, a call-back and a denial through the real Asterisk,
no log the service or Asterisk wrote holds a customer's digits (the full number or any
7 of them in a row, whatever separates them).

SIPp's own message logs are not scanned: they are the carrier's and the customer's side,
and the INVITE to the carrier legitimately carries the customer's number."""

from __future__ import annotations

import logging
import re
import time

import pytest

from lab.sipp import Sipp
from masking import redaction
from tests.support.e2e import (
    CUSTOMER_1,
    CUSTOMER_2,
    Live,
    assert_denied,
    denied_desk_call,
    log_tail,
    talk_scenario,
)
from tests.support.leaks import digit_leaks

pytestmark = pytest.mark.e2e

CUSTOMERS = [CUSTOMER_1, CUSTOMER_2]

# Asterisk's VERBOSE trace prints every dialplan application with its arguments (the
# Dial string holds the customer's number, as it does for every call any PBX makes). The
# lab logs it because its assertions read it; a production Asterisk keeps it out of its log
# files (docker/asterisk/logger.conf, checked by tests/agi/test_shipped_asterisk_configs.py).
# Every other Asterisk log line is held to the rule.
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# messages.log tags every line with its level; the console copy (asterisk.out) marks
# verbose lines with "--", "==" or ">" after the indentation.
VERBOSE_LINE = re.compile(r"^\[[^]]*\] VERBOSE\[|^\s+(?:--|==|>) ")


def is_verbose_trace(line: str) -> bool:
    return bool(VERBOSE_LINE.search(ANSI.sub("", line)))


def _hits(text: str) -> list[str]:
    """Lines of ``text`` that hold a customer's digits."""
    return [line for line in text.splitlines() if digit_leaks(line, CUSTOMERS)]


def _call_back(live: Live, vn: str) -> None:
    """CUSTOMER_1 calls ``vn`` back through the carrier; desk1 (a SIPp UAS) answers."""
    e2e = live.e2e
    phone = Sipp(
        "site_phone_uas", e2e.workdir / "sipp", port=e2e.site_ports["desk1"], timeout=20
    ).start()
    try:
        phone.listening()
        customer = Sipp(
            talk_scenario("customer_uac", e2e.workdir / "sipp"),
            e2e.workdir / "sipp",
            remote=e2e.sip,
            service=vn.lstrip("+"),
            from_user=CUSTOMER_1.lstrip("+"),
            timeout=30,
        ).run()
        time.sleep(0.5)
    finally:
        phone.stop()
    assert customer.ok, customer.describe() + "\n" + log_tail(e2e)


def test_no_customer_digits_in_service_or_asterisk_logs(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "masking")
    caplog.set_level(logging.DEBUG, "agi")
    e2e = live.e2e
    asterisk_logs = sorted(p for p in e2e.asterisk.paths.log.rglob("*") if p.is_file())
    offsets = {p: p.stat().st_size for p in asterisk_logs}

    vn = live.reveal("S1")
    desk, _ = e2e.desk_call("desk_uac", vn.lstrip("+"), "desk1", answered=True)
    assert desk.ok, desk.describe() + "\n" + log_tail(e2e)
    live.wait_record(lambda r: r.direction == "outbound" and r.ended_at is not None, 15)
    _call_back(live, vn)
    live.wait_record(lambda r: r.direction == "inbound" and r.ended_at is not None, 15)
    denied = denied_desk_call(e2e, vn.lstrip("+"), "desk2")  # no visibility
    assert_denied(denied, e2e, "masking/not-allowed")
    time.sleep(0.5)  # let the AMI events of the last call be logged

    # what the code itself writes at the level the service runs at (INFO)
    raw = "\n".join(caplog.handler.format(r) for r in caplog.records if r.levelno >= logging.INFO)
    assert "masking" in raw  # the service did log these calls
    leaks = _hits(raw)
    assert not leaks, "customer digits in the service's log:\n" + "\n".join(leaks)
    # and everything, DEBUG too, through the filter `masking serve` installs (the AMI
    # client's DEBUG log has raw AMI events: DialString, CallerIDNum)
    last_net = redaction.RedactingFilter()
    filtered = "\n".join(caplog.handler.format(r) for r in caplog.records if last_net.filter(r))
    leaks = _hits(filtered)
    assert not leaks, "customer digits in the filtered log:\n" + "\n".join(leaks)

    asterisk_leaks = []
    for path in sorted(p for p in e2e.asterisk.paths.log.rglob("*") if p.is_file()):
        with open(path, "rb") as handle:
            handle.seek(offsets.get(path, 0))
            text = handle.read().decode(errors="replace")
        asterisk_leaks += [
            f"{path.name}: {line}" for line in _hits(text) if not is_verbose_trace(line)
        ]
    assert not asterisk_leaks, "customer digits in Asterisk's logs:\n" + "\n".join(
        asterisk_leaks[:20]
    )
