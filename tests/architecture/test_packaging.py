"""An installed ``masking`` (a wheel, no source checkout) carries its dialplan and lab
files: it checks and installs the dialplan and keeps its data under ``./var``."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RUN = (
    "import sys\n"
    "import masking\n"
    "from masking.cli.main import main\n"
    "assert masking.__file__.startswith(sys.argv[1]), masking.__file__\n"
    "sys.argv = ['masking', *sys.argv[2:]]\n"
    "main()\n"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = work.glob("masking-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "dialplan/masking.conf",
        "dialplan/sounds/closed.gsm",
        "masking/storage/migrations/versions/0001_initial_schema.py",
        "lab/scenarios/desk_uac.xml",
        "lab/asterisk/templates/pjsip.conf",
    ):
        assert needed in names, f"{needed} is not in the wheel"
    site = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return site


def masking_cli(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKING_")}
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-c", RUN, str(site), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_installed_package_checks_and_installs_its_dialplan(
    installed: Path, tmp_path: Path
) -> None:
    checked = masking_cli(installed, tmp_path, "dialplan", "check")
    assert checked.returncode == 0, checked.stderr
    assert "dialplan OK" in checked.stdout
    etc, sounds = tmp_path / "etc", tmp_path / "sounds"
    etc.mkdir()
    done = masking_cli(
        installed, tmp_path, "dialplan", "install", "--target", str(etc), "--sounds", str(sounds)
    )
    assert done.returncode == 0, done.stderr
    assert (etc / "masking.conf").is_file() and (etc / "masking-contract.conf").is_file()
    assert (sounds / "masking" / "closed.gsm").is_file()


def test_installed_package_keeps_its_data_under_the_working_directory(
    installed: Path, tmp_path: Path
) -> None:
    shown = masking_cli(installed, tmp_path, "config")
    assert shown.returncode == 0, shown.stderr
    assert f'"var_dir": "{tmp_path / "var"}"' in shown.stdout
