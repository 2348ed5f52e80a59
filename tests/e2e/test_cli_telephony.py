"""The telephony CLI verbs against the real Asterisk, and the demo end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.sipp import free_udp_port
from masking.config import get_settings
from tests.support.cli import invoke, use_environment
from tests.support.dialplan import MISTAKES, broken_dialplan, renamed_contract_variable
from tests.support.e2e import E2E
from tests.support.environment import free_tcp_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    use_environment(
        monkeypatch, var_dir=str(tmp_path / "var"), redis_prefix=f"clitel:{uuid.uuid4().hex[:8]}:"
    )
    yield tmp_path
    get_settings.cache_clear()


def test_dialplan_check_passes_on_the_shipped_dialplan(env: Path) -> None:
    code, out = invoke("dialplan", "check")
    assert code == 0, out
    assert "AGISTATUS" in out and "contract matches" in out


@pytest.mark.parametrize(("edit", "message"), MISTAKES)
def test_dialplan_check_catches_mistakes(env: Path, edit: tuple[str, str], message: str) -> None:
    broken = broken_dialplan(env / "dialplan", edit, message)
    code, out = invoke("dialplan", "check", "--directory", str(broken))
    assert code == 1 and message in out, out
    target = env / "etc"
    target.mkdir()
    code, out = invoke(
        "dialplan",
        "install",
        "--source",
        str(broken),
        "--target",
        str(target),
        "--sounds",
        str(env / "sounds"),
    )
    assert code != 0 and "nothing installed" in out
    assert not list(target.iterdir())


def test_dialplan_contract_mismatch(env: Path) -> None:
    broken = renamed_contract_variable(env / "dialplan")
    code, out = invoke("dialplan", "check", "--directory", str(broken))
    assert code == 1
    assert "lacks MASKING_OPENS_DAY" in out and "unknown MASKING_OPENS_WEEKDAY" in out


def test_dialplan_install(env: Path) -> None:
    target, sounds = env / "etc", env / "sounds"
    target.mkdir()
    code, out = invoke("dialplan", "install", "--target", str(target), "--sounds", str(sounds))
    assert code == 0, out
    assert {p.name for p in target.iterdir()} == {
        "masking.conf",
        "masking-globals.conf",
        "masking-contract.conf",
    }
    assert (sounds / "masking" / "unavailable.gsm").stat().st_size > 0
    assert "#include" in out


def test_dialplan_reload_over_ami(env: Path, e2e: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(monkeypatch, ami_port=str(e2e.asterisk.ports.ami_port))
    code, out = invoke("dialplan", "reload")
    assert code == 0, out
    for context in ("masking-operator", "masking-inbound", "masking-click2call", "masking-deny"):
        assert f"{context}: live" in out
    use_environment(monkeypatch, ami_port=str(free_tcp_port()))
    code, out = invoke("dialplan", "reload")
    assert code != 0 and "AMI" in out


def test_asterisk_up_status_down(env: Path, rootfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(monkeypatch, ami_port=str(free_tcp_port()))
    code, out = invoke("asterisk", "up", "--sip-port", str(free_udp_port()))
    try:
        assert code == 0, out
        code, out = invoke("asterisk", "status")
        assert code == 0 and '"running": true' in out, out
    finally:
        code, out = invoke("asterisk", "down")
    assert code == 0, out
    code, out = invoke("asterisk", "status")
    assert code == 1 and '"running": false' in out


def test_demo_places_a_real_masked_call(tmp_path: Path, rootfs: Path) -> None:
    env = {
        **os.environ,
        "MASKING_VAR_DIR": str(tmp_path / "var"),
        "MASKING_REDIS_PREFIX": f"demo:{uuid.uuid4().hex[:8]}:",
        # embedded defaults where free; the demo falls back to free ports otherwise
        "MASKING_AGI_PORT": str(free_tcp_port()),
        "MASKING_HTTP_PORT": str(free_tcp_port()),
        "MASKING_AMI_PORT": str(free_tcp_port()),
    }
    masking = Path(sys.executable).parent / "masking"
    done = subprocess.run(
        [str(masking), "demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["temporary_number"] in result["customer_saw"]["from"]
    assert '"Pickup point"' in result["customer_saw"]["from"]
    assert result["really_dialed"] == "+7 900 ***-**-67"
    assert result["call_record"]["disposition"] == "answered"
    assert result["recording"]["bytes"] > 10_000
    assert "9001234567" not in done.stdout + done.stderr
