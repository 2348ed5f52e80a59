"""The compose stack (docker/compose.yaml) comes up with podman on the host network —
Asterisk and the service from their images, Redis and PostgreSQL from their local
stand-ins — the demo call goes through it (SIPp desk phone -> the stack's Asterisk -> the
service in its container -> a SIPp carrier), and ``down --volumes`` leaves nothing."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from lab.demo import CUSTOMER
from lab.stack import LABEL, Stack, demo
from tests.support.containers import require_container_engine
from tests.support.environment import unavailable
from tests.support.leaks import digit_leaks, is_verbose_trace, log_leaks

pytestmark = [pytest.mark.e2e, pytest.mark.container]


def test_the_stack_comes_up_and_the_demo_call_goes_through(tmp_path: Path) -> None:
    if shutil.which("sipp") is None:
        unavailable("sipp is missing (apt-get install sip-tester)")
    engine = require_container_engine()
    project = f"masking-test-{uuid.uuid4().hex[:8]}"
    stack = Stack(tmp_path / "stack", project=project, engine=engine, log=lambda _m: None)
    try:
        state = stack.up()
        status = stack.status()
        assert status["running"], status
        assert set(status["services"]) == {"postgres", "redis", "masking", "asterisk"}
        assert "masking" in stack.cli("manager show connected")

        result = demo(stack, say=lambda _m: None)
        record = result["call_record"]
        assert record["direction"] == "outbound" and record["disposition"] == "answered"
        assert record["reason"] == "item_found_later"
        assert result["recording"]["bytes"] > 44
        assert Path(result["recording"]["file"]).is_file()
        # the customer sees the temporary number, the carrier is asked for the customer
        assert result["temporary_number"].lstrip("+") in result["customer_saw"]["from"]
        assert result["really_dialed"].startswith("+7 900") and "*" in result["really_dialed"]
        assert state.volumes == [f"{project}_{v}" for v in ("postgres", "redis", "recordings")]
        # the customer's number is masked in what the demo reports and in what the
        # service's and Asterisk's containers logged (but Asterisk's VERBOSE trace)
        assert not digit_leaks(json.dumps(result), [CUSTOMER]), result
        for service in ("masking", "asterisk"):
            logs = engine.run("logs", state.containers[service])
            logged = "\n".join(
                line
                for line in (logs.stdout + logs.stderr).splitlines()
                if not is_verbose_trace(line)
            )
            assert service != "masking" or "masking" in logged  # the log was read
            leaks = log_leaks(logged, [CUSTOMER])
            assert not leaks, f"customer digits in {service}'s log:\n" + "\n".join(leaks[:20])
    finally:
        stack.down(volumes=True)
    left = engine.run("ps", "--all", "--quiet", "--filter", f"label={LABEL}={project}").stdout
    assert not left.strip(), left
    volumes = engine.run("volume", "ls", "--quiet").stdout.split()
    assert not [v for v in volumes if v.startswith(project)], volumes
    assert not stack.status()["running"]
