"""Least privilege of the AMI users (issue 9, finding 4): every shipped manager.conf
passes ``check_manager``, the mistakes of the old samples are caught, and the service
refuses the default secret towards a remote Asterisk. That the reduced privileges are
enough is proven by the e2e suite, which runs against the lab's rendered manager.conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi.dialplan import DIALPLAN_DIR, MANAGER_SAMPLE, check, check_manager
from lab.asterisk.local import TEMPLATES_DIR
from masking.config import ConfigError, load_settings
from masking.runtime import check_exposure
from tests.support.cli import invoke, use_environment
from tests.support.dialplan import shipped_copy

REPOSITORY = DIALPLAN_DIR.parent
SHIPPED = [
    DIALPLAN_DIR / MANAGER_SAMPLE,
    TEMPLATES_DIR / "manager.conf",
    REPOSITORY / "docker" / "asterisk" / "manager.conf",
]
# the service user as it was before issue 9
OLD_SERVICE_USER = """[masking]
secret = x
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,call,dialplan,user,reporting
write = originate,call,reporting,config
"""


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_every_shipped_manager_conf_is_least_privilege(path: Path) -> None:
    assert check_manager(path) == []
    text = path.read_text()
    assert "read = system,call,user" in text
    assert "write = originate,reporting" in text
    assert "write = command,reporting" in text  # the reload user only


def test_the_old_grants_are_caught(tmp_path: Path) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text(OLD_SERVICE_USER)
    errors = check_manager(conf)
    assert "manager.conf [masking]: write grants call, config" in errors
    assert "manager.conf [masking]: read grants dialplan, reporting" in errors


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ("read = user\nwrite = originate,command", "write grants command"),
        ("read = user\nwrite = command,system", "write grants system"),
        ("read = all\nwrite = originate", "read grants all"),
        ("write = originate", "read and write must be set"),
        ("read = call\nwrite = originate\n#include other.conf", "needs deny and permit"),
    ],
)
def test_each_excess_is_named(tmp_path: Path, lines: str, words: str) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text(f"[general]\nenabled = yes\n\n[svc]\nsecret = x\n{lines}\n")
    assert any(words in error for error in check_manager(conf)), check_manager(conf)


def test_dialplan_check_covers_the_manager_sample(tmp_path: Path) -> None:
    copy = shipped_copy(tmp_path / "dialplan")
    (copy / MANAGER_SAMPLE).write_text(OLD_SERVICE_USER)
    report = check(copy)
    assert any("write grants call, config" in error for error in report.errors), report.errors


def test_dialplan_check_cli_fails_on_an_over_privileged_sample(tmp_path: Path) -> None:
    copy = shipped_copy(tmp_path / "dialplan")
    (copy / MANAGER_SAMPLE).write_text(OLD_SERVICE_USER)
    code, out = invoke("dialplan", "check", "--directory", str(copy))
    assert code == 1 and "read grants dialplan" in out


@pytest.mark.parametrize("host", ["asterisk", "10.0.0.3", "pbx.example"])
def test_default_ami_secret_towards_a_remote_asterisk_is_refused(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_exposure(load_settings(ami_host=host))
    assert str(caught.value).startswith("MASKING_AMI_SECRET: ")
    check_exposure(load_settings(ami_host=host, ami_secret="a-long-random-one"))
    check_exposure(load_settings(ami_host="127.0.0.1"))  # the local lab keeps its default


def test_serve_refuses_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(monkeypatch, var_dir=str(tmp_path), ami_host="pbx.example")
    monkeypatch.delenv("MASKING_AMI_SECRET", raising=False)
    code, out = invoke("serve")
    assert code != 0
    assert "MASKING_AMI_SECRET" in out and "Traceback" not in out
    assert not (tmp_path / "masking.db").exists()
