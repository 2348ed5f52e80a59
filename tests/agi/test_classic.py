"""Classic AGI (process per call): the script run as Asterisk runs it, over stdin/stdout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agi import variables as v
from tests.support.agi import CALL_ID, agi_env, set_vars

ROOT = Path(__file__).resolve().parents[2]


def classic_env(route: str, *args: str, extra: dict[str, str] | None = None) -> bytes:
    """Classic AGI: no agi_network*, the route is the first argument."""
    env = agi_env("unused", route, *args, extra=extra).decode().splitlines()
    kept = [line for line in env if not line.startswith("agi_network")]
    kept = [
        "agi_request: masking-agi.py" if line.startswith("agi_request") else line for line in kept
    ]
    return ("\n".join(line for line in kept if line) + "\n\n").encode()


def start(code: str, env: dict[str, str] | None = None, *argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def play_asterisk(
    proc: subprocess.Popen[bytes], request: bytes, *, hangup_after: int | None = None
) -> tuple[list[str], int, str]:
    """Feed the environment, answer every command like Asterisk, until the script exits."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(request)
    proc.stdin.flush()
    commands: list[str] = []
    while line := proc.stdout.readline():
        commands.append(line.decode().rstrip("\n"))
        answer = b"200 result=1\n"
        if hangup_after is not None and len(commands) > hangup_after:
            answer = b"HANGUP\n"
        try:
            proc.stdin.write(answer)
            proc.stdin.flush()
        except BrokenPipeError:
            break
    proc.stdin.close()
    code = proc.wait(10)
    stderr = proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    return commands, code, stderr


RUN = (
    "import sys\n"
    "from agi.classic import run\n"
    "from tests.support.agi import FakeDesk, CLOSED, DIAL\n"
    "desk = FakeDesk({decision}, delay={delay})\n"
    "{extra}\n"
    "sys.exit(run(desk, timeout={timeout}))\n"
)


def script(
    decision: str = "DIAL", delay: float = 0.0, timeout: float = 2.0, extra: str = ""
) -> str:
    return RUN.format(decision=decision, delay=delay, timeout=timeout, extra=extra)


def test_operator_call_dial() -> None:
    proc = start(script())
    commands, code, stderr = play_asterisk(
        proc, classic_env("operator-call", "desk1", "74950000001")
    )
    assert code == 0, stderr
    assert set_vars(commands) == [
        (v.CALL_ID, CALL_ID),
        (v.DIAL_NUMBER, "79001234567"),
        (v.DIAL_TIMEOUT, "45"),
        (v.CALLERID_NUM, "+74950000001"),
        (v.CALLERID_NAME, "Masked call"),
        (v.RECORD_FILE, f"2026/11/22/{CALL_ID}.wav"),
        (v.ANNOUNCE_RECORDING, "yes"),
        (v.ACTION, "dial"),
    ]


def test_deny_and_no_numbers_on_stderr() -> None:
    proc = start(script("CLOSED"))
    commands, code, stderr = play_asterisk(
        proc, classic_env("inbound-call", "74950000001", extra={"agi_callerid": "+79001234567"})
    )
    assert code == 0, stderr
    got = set_vars(commands)
    assert got[-1] == (v.ACTION, "deny") and dict(got)[v.DENY_REASON] == "closed"
    # pyst2 echoes the environment and argv to stderr (Asterisk logs it): silenced
    assert "79001234567" not in stderr and "74950000001" not in stderr


def test_invalid_input_is_denied_without_the_desk() -> None:
    proc = start(
        script(extra="import atexit; atexit.register(lambda: print(desk.calls, file=sys.stderr))")
    )
    commands, code, stderr = play_asterisk(
        proc, classic_env("operator-call", "desk1", "500&SIP/evil")
    )
    assert code == 0
    assert dict(set_vars(commands))[v.DENY_REASON] == "invalid_input"
    assert "[]" in stderr


def test_unknown_route_sets_nothing() -> None:
    proc = start(script())
    commands, code, _ = play_asterisk(proc, classic_env("no-such-route", "desk1"))
    assert commands == [] and code == 1


def test_desk_raising_is_denied_unavailable() -> None:
    code_text = script(extra="desk.behaviour = lambda *a: 1 / 0")
    proc = start(code_text)
    commands, code, _ = play_asterisk(proc, classic_env("operator-call", "desk1", "74950000001"))
    assert code == 0
    got = dict(set_vars(commands))
    assert got[v.DENY_REASON] == "unavailable" and got[v.ACTION] == "deny"


def test_slow_desk_is_denied_within_the_deadline() -> None:
    proc = start(script(delay=30, timeout=0.5))
    started = time.monotonic()
    commands, code, _ = play_asterisk(proc, classic_env("click2call", CALL_ID))
    assert time.monotonic() - started < 5
    assert code == 0
    got = dict(set_vars(commands))
    assert got[v.DENY_REASON] == "unavailable" and got[v.ACTION] == "deny"


def test_hangup_stops_the_script() -> None:
    proc = start(script())
    commands, code, _ = play_asterisk(
        proc, classic_env("operator-call", "desk1", "74950000001"), hangup_after=1
    )
    assert code == 1
    assert len(commands) == 2
    assert not any('"MASKING_ACTION"' in c for c in commands)


@pytest.mark.parametrize("route", ["operator-call"])
def test_main_with_a_desk_factory_from_the_environment(route: str) -> None:
    proc = start(
        "import sys; from agi.classic import main; sys.exit(main())",
        {"MASKING_AGI_DESK": "tests.support.agi:FakeDesk"},
    )
    commands, code, stderr = play_asterisk(proc, classic_env(route, "desk1", "74950000001"))
    assert code == 0, stderr
    assert set_vars(commands)[-1] == (v.ACTION, "dial")
