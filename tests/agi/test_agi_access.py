"""Who may ask the FastAGI server (issue 9, finding 1): only allowed Asterisk peers, and
with a secret only requests carrying it. A hand-made ``operator-call`` from anyone else
must never read back ``SET VARIABLE "MASKING_DIAL_NUMBER" "<real number>"``."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from agi.dialplan import DIALPLAN_DIR, check
from agi.server import FastAGIServer
from masking.config import LOOPBACK_NETWORKS, ConfigError, IPNetwork, load_settings
from masking.runtime import check_exposure
from tests.support.agi import DIAL, FakeAsterisk, FakeDesk, agi_env, exchange
from tests.support.dialplan import shipped_copy

SECRET = "s3cret-s3cret-s3cret"
# the attacker's view: a dial decision's real number
REAL_NUMBER = DIAL.dial_number or ""


async def started(
    desk: FakeDesk, allowed: Sequence[IPNetwork] = LOOPBACK_NETWORKS, secret: str = ""
) -> FastAGIServer:
    server = FastAGIServer(
        desk, port=0, header_timeout=1.0, reply_timeout=0.5, allowed_peers=allowed, secret=secret
    )
    await server.start()
    return server


@pytest.fixture
async def elsewhere(desk: FakeDesk) -> AsyncIterator[FastAGIServer]:
    """A server whose only allowed Asterisk is 192.0.2.10: this test (127.0.0.1) is not."""
    server = await started(desk, [ipaddress.ip_network("192.0.2.10/32")])
    yield server
    await server.close()


async def test_a_peer_outside_the_allowlist_is_closed_unread_and_counted(
    elsewhere: FastAGIServer, desk: FakeDesk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi.server")
    commands = await exchange(
        elsewhere.port, "operator-call", "desk1", "74950000001", uniqueid="1700000000.7"
    )
    assert commands == []
    assert desk.calls == []
    assert elsewhere.refused_peers == 1 and elsewhere.answered == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused a connection from 127.0.0.1" in logged
    for secret_or_personal in ("desk1", "74950000001", "1700000000.7", REAL_NUMBER):
        assert secret_or_personal not in logged


async def test_loopback_is_the_default_allowlist(desk: FakeDesk) -> None:
    server = await started(desk)
    try:
        commands = await exchange(server.port, "operator-call", "desk1", "74950000001")
    finally:
        await server.close()
    assert f'SET VARIABLE "MASKING_DIAL_NUMBER" "{REAL_NUMBER}"' in commands
    assert server.refused_peers == 0


def test_ipv4_mapped_and_scoped_peers_are_matched(desk: FakeDesk) -> None:
    server = FastAGIServer(desk, allowed_peers=[ipaddress.ip_network("10.0.0.0/8")])
    assert server.peer_allowed("10.1.2.3")
    assert server.peer_allowed("::ffff:10.1.2.3")
    assert not server.peer_allowed("11.0.0.1")
    assert not server.peer_allowed("fe80::1%eth0")
    assert not server.peer_allowed(None)
    assert not server.peer_allowed("not-an-address")


@pytest.mark.parametrize(
    "script",
    [
        "operator-call",  # an old dialplan, or an attacker without it
        "operator-call?secret=",
        "operator-call?secret=s3cret-s3cret-s3creX",
        "operator-call?other=s3cret-s3cret-s3cret",
    ],
)
async def test_a_request_without_the_secret_is_closed_with_nothing_set(
    desk: FakeDesk, script: str
) -> None:
    server = await started(desk, secret=SECRET)
    try:
        ast = await FakeAsterisk.connect(server.port)
        await ast.send(agi_env(script, "desk1", "74950000001"))
        commands = await ast.serve()
        await ast.close()
    finally:
        await server.close()
    assert commands == []
    assert desk.calls == []
    assert server.unauthorized == 1


async def test_the_right_secret_gets_the_decision(desk: FakeDesk) -> None:
    server = await started(desk, secret=SECRET)
    try:
        commands = await exchange(
            server.port, f"operator-call?secret={SECRET}", "desk1", "74950000001"
        )
    finally:
        await server.close()
    assert commands[-1] == 'SET VARIABLE "MASKING_ACTION" "dial"'
    assert desk.calls[0][1]["dialed"] == "74950000001"
    assert server.unauthorized == 0


# ---- settings ----------------------------------------------------------------------------
def test_allowed_peers_parse_addresses_and_networks() -> None:
    s = load_settings(agi_allowed_peers=" 10.0.0.5, 192.168.1.0/24,::1 ,")
    assert [str(n) for n in s.agi_allowed_networks] == ["10.0.0.5/32", "192.168.1.0/24", "::1/128"]
    assert load_settings(agi_allowed_peers="").agi_allowed_networks == LOOPBACK_NETWORKS


@pytest.mark.parametrize("bad", ["asterisk.local", "10.0.0.0/33", "10.0.0.5;rm"])
def test_a_bad_allowlist_names_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"^MASKING_AGI_ALLOWED_PEERS: .*not an IP address"):
        load_settings(agi_allowed_peers=bad)


@pytest.mark.parametrize("bad", ["short", "has,comma-in-it-long", "with space in it long"])
def test_a_bad_agi_secret_names_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"^MASKING_AGI_SECRET: "):
        load_settings(agi_secret=bad)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.2", "agi.example"])
def test_exposed_agi_without_an_allowlist_is_refused(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_exposure(load_settings(agi_host=host))
    message = str(caught.value)
    assert message.startswith("MASKING_AGI_ALLOWED_PEERS: ") and "\n" not in message


@pytest.mark.parametrize(
    ("host", "peers"), [("127.0.0.1", ""), ("localhost", ""), ("::1", ""), ("0.0.0.0", "10.0.0.2")]
)
def test_loopback_or_an_explicit_allowlist_starts(host: str, peers: str) -> None:
    check_exposure(load_settings(agi_host=host, agi_allowed_peers=peers))


# ---- the dialplan sends it -------------------------------------------------------------
def test_every_shipped_agi_call_sends_the_secret_global() -> None:
    report = check(DIALPLAN_DIR)
    assert report.ok, report.errors
    conf = (DIALPLAN_DIR / "masking.conf").read_text()
    assert conf.count("?secret=${MASKING_AGI_SECRET}&") == report.agi_calls == 1
    assert "\nMASKING_AGI_SECRET =\n" in (DIALPLAN_DIR / "masking-globals.conf").read_text()


def test_an_agi_call_without_the_secret_is_caught(tmp_path: Path) -> None:
    copy = shipped_copy(tmp_path / "dialplan")
    conf = copy / "masking.conf"
    conf.write_text(conf.read_text().replace("?secret=${MASKING_AGI_SECRET}&attempt", "?attempt"))
    report = check(copy)
    assert [e for e in report.errors if "does not send ?secret=" in e], report.errors


def test_the_docker_stack_answers_only_its_asterisk() -> None:
    docker = DIALPLAN_DIR.parent / "docker"
    compose = (docker / "compose.yaml").read_text()
    [asterisk] = re.findall(r"ipv4_address: ([0-9.]+)", compose)
    [peers] = re.findall(r"MASKING_AGI_ALLOWED_PEERS: (\S+)", compose)
    dockerfile = (docker / "Dockerfile.masking").read_text()
    assert "MASKING_AGI_HOST=0.0.0.0" in dockerfile
    assert f"MASKING_AGI_ALLOWED_PEERS={asterisk}" in dockerfile
    assert "MASKING_AGI_SECRET: ${MASKING_AGI_SECRET:?" in compose
    assert "MASKING_AMI_SECRET: masking" not in compose
    settings = load_settings(
        agi_host="0.0.0.0",
        agi_allowed_peers=peers,
        ami_host="asterisk",
        ami_secret="from-the-environment",
    )
    check_exposure(settings)
    server = FastAGIServer(FakeDesk(), allowed_peers=settings.agi_allowed_networks)
    assert server.peer_allowed(asterisk) and not server.peer_allowed("172.30.45.11")
