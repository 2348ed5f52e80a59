"""The telephony CLI verbs against the real Asterisk, and the demo end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lab.asterisk.local import DIALPLAN_DIR
from lab.sipp import free_udp_port
from masking.cli import app
from masking.config import get_settings
from tests.e2e.conftest import E2E, _free_tcp_port

pytestmark = pytest.mark.e2e
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MASKING_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MASKING_REDIS_PREFIX", f"clitel:{uuid.uuid4().hex[:8]}:")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    output = result.output + (result.stderr if result.stderr_bytes else "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += f"\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, output


def test_dialplan_check_passes_on_the_shipped_dialplan(env: Path) -> None:
    code, out = invoke("dialplan", "check")
    assert code == 0, out
    assert "AGISTATUS" in out and "contract matches" in out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("AGI(${MASKING_AGI}/operator-call", "NoOp(${MASKING_AGI}/operator-call"),
            "context [masking-operator]",
        ),
        (
            ('GotoIf($["${AGISTATUS}" = "SUCCESS"]?decided)', "NoOp(skipped)"),
            "not followed by a branch on AGISTATUS",
        ),
        (
            (
                "Set(MASKING_NUM=${FILTER(0-9,${MASKING_DIAL_NUMBER})})",
                "Set(MASKING_NUM=${MASKING_DIAL_NUMBR})",
            ),
            "MASKING_DIAL_NUMBR is not in the contract",
        ),
        (
            ("Dial(PJSIP/${MASKING_NUM}@${MASKING_TRUNK}", "Dial(PJSIP/${EXTEN}@${MASKING_TRUNK}"),
            "${EXTEN} used unfiltered",
        ),
    ],
)
def test_dialplan_check_catches_mistakes(env: Path, edit: tuple[str, str], message: str) -> None:
    broken = env / "dialplan"
    shutil.copytree(DIALPLAN_DIR, broken)
    text = (broken / "masking.conf").read_text()
    old, new = edit
    assert old in text
    if "context [" in message:
        text = text.replace("[masking-operator]", "[masking-operator-old]")
    else:
        text = text.replace(old, new, 1)
    (broken / "masking.conf").write_text(text)
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
    broken = env / "dialplan"
    shutil.copytree(DIALPLAN_DIR, broken)
    contract = broken / "masking-contract.conf"
    contract.write_text(
        contract.read_text().replace("MASKING_OPENS_DAY ", "MASKING_OPENS_WEEKDAY ")
    )
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
    monkeypatch.setenv("MASKING_AMI_PORT", str(e2e.asterisk.ports.ami_port))
    get_settings.cache_clear()
    code, out = invoke("dialplan", "reload")
    assert code == 0, out
    for context in ("masking-operator", "masking-inbound", "masking-click2call", "masking-deny"):
        assert f"{context}: live" in out
    monkeypatch.setenv("MASKING_AMI_PORT", str(_free_tcp_port()))
    get_settings.cache_clear()
    code, out = invoke("dialplan", "reload")
    assert code != 0 and "AMI" in out


def test_asterisk_up_status_down(env: Path, rootfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASKING_AMI_PORT", str(_free_tcp_port()))
    get_settings.cache_clear()
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
        "MASKING_AGI_PORT": str(_free_tcp_port()),
        "MASKING_HTTP_PORT": str(_free_tcp_port()),
        "MASKING_AMI_PORT": str(_free_tcp_port()),
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
