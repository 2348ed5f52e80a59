"""The lab's pieces for several service instances, without starting anything: the
Asterisk configuration lists their FastAGI servers, and the list survives the state file
of a detached Asterisk (``masking asterisk up``)."""

from __future__ import annotations

import json
from pathlib import Path

from lab.asterisk import LocalAsterisk, Ports
from lab.asterisk.local import STATE_FILE
from lab.instances import ServiceInstances

SERVERS = "agi://127.0.0.1:4573,agi://127.0.0.1:4574"


def test_the_rendered_dialplan_lists_the_servers(tmp_path: Path) -> None:
    asterisk = LocalAsterisk(tmp_path, Ports(), agi_servers=SERVERS)
    asterisk.render()
    extensions = (tmp_path / "etc" / "extensions.conf").read_text()
    assert f"\nMASKING_AGI_SERVERS = {SERVERS}\n" in extensions
    (tmp_path / STATE_FILE).write_text(json.dumps(asterisk._state()))
    again = LocalAsterisk.from_state(tmp_path)
    assert again is not None and again.agi_servers == SERVERS
    plain = LocalAsterisk(tmp_path / "plain", Ports())
    plain.render()
    assert "\nMASKING_AGI_SERVERS = \n" in (tmp_path / "plain/etc/extensions.conf").read_text()


def test_instances_keep_their_ports_and_list_them_in_order(tmp_path: Path) -> None:
    fleet = ServiceInstances(3, tmp_path, database_url="sqlite://", redis_prefix="x:", ami_port=1)
    ports = [i.agi_port for i in fleet]
    assert len(set(ports)) == 3
    assert fleet.agi_servers == ",".join(f"agi://127.0.0.1:{p}" for p in ports)
    assert [i.env["MASKING_AGI_PORT"] for i in fleet] == [str(p) for p in ports]
    assert fleet[1].env["MASKING_VAR_DIR"] == str(tmp_path / "instance-1")
    assert not any(i.running for i in fleet) and fleet.leaders() == []
