"""The container files agree with the lab (no engine needed): the Asterisk image installs
the packages of the lab's root filesystem, the compose file names the images the lab
builds, and the stack runner reads the compose file and moves every service onto the
host network (names, fixed addresses and ports rewritten; Asterisk's files too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab import containers
from lab.asterisk import rootfs
from lab.stack import (
    StackError,
    StackPorts,
    asterisk_overrides,
    host_network_environment,
    interpolate,
    load_compose,
)

DOCKER = containers.DOCKER_DIR
PORTS = StackPorts(
    sip=15060, ami=15038, rtp_start=21000, rtp_end=21039, agi=14573, http=18080,
    redis=16379, postgres=15432, carrier=15070,
)  # fmt: skip
SECRETS = {
    "MASKING_AMI_SECRET": "a" * 48,
    "MASKING_AMI_RELOAD_SECRET": "b" * 48,
    "MASKING_AGI_SECRET": "c" * 48,
}


def test_the_asterisk_image_installs_the_packages_of_the_lab_rootfs() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    [packages] = re.findall(r'packages="([^"]+)"', dockerfile)
    assert set(packages.split()) == set(rootfs.PACKAGES)
    assert "ARG BASE=debian:sid\nFROM ${BASE}" in dockerfile


def test_every_dockerfile_builds_from_a_base_argument() -> None:
    for name in ("Dockerfile", "Dockerfile.masking", "podman/Dockerfile.redis"):
        text = (DOCKER / name).read_text()
        assert "ARG BASE=debian:sid\nFROM ${BASE}" in text, name
        assert "python:" not in text, name
    assert "FROM ${BASE}" in (DOCKER / "podman/Dockerfile.postgres").read_text()


def test_the_compose_file_names_the_images_the_lab_builds_or_stands_in_for() -> None:
    compose = load_compose(variables=SECRETS)
    images = {s.name: s.image for s in compose.services.values()}
    assert images["asterisk"] == containers.ASTERISK_IMAGE
    assert images["masking"] == containers.SERVICE_IMAGE
    assert {images["redis"], images["postgres"]} == set(containers.STAND_INS)
    assert compose.services["asterisk"].dockerfile == DOCKER / "Dockerfile"
    assert compose.services["masking"].dockerfile == DOCKER / "Dockerfile.masking"
    assert [s.name for s in compose.ordered()] == ["postgres", "redis", "masking", "asterisk"]


def test_the_compose_secrets_have_no_default() -> None:
    assert set(load_compose().variables) == set(SECRETS)
    with pytest.raises(StackError, match="MASKING_AGI_SECRET"):
        load_compose(variables={k: v for k, v in SECRETS.items() if k != "MASKING_AGI_SECRET"})


def test_interpolation_follows_compose() -> None:
    values = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET} ${EMPTY:-d} ${EMPTY-d} ${UNSET:-d} $$HOME", values) == "x d  d $HOME"
    with pytest.raises(StackError, match="UNSET: say it"):
        interpolate("${UNSET:?say it}", values)


def test_the_service_environment_moves_to_the_host_network() -> None:
    compose = load_compose(variables=SECRETS)
    env = host_network_environment(compose.services["masking"].environment, compose, PORTS)
    assert env["MASKING_DATABASE_URL"] == (
        "postgresql+psycopg://masking:masking@127.0.0.1:15432/masking"
    )
    assert env["MASKING_REDIS_URL"] == "redis://127.0.0.1:16379/0"
    assert env["MASKING_AMI_HOST"] == "127.0.0.1" and env["MASKING_AMI_PORT"] == "15038"
    assert env["MASKING_AGI_ALLOWED_PEERS"] == "127.0.0.1"
    assert env["MASKING_AMI_USERNAME"] == "masking"  # a value, not the service's name
    assert env["MASKING_AGI_SECRET"] == SECRETS["MASKING_AGI_SECRET"]
    postgres = host_network_environment(compose.services["postgres"].environment, compose, PORTS)
    assert postgres["POSTGRES_USER"] == "masking"


def test_the_stack_asterisk_files_move_to_the_host_network() -> None:
    files = asterisk_overrides(PORTS, "desk1-secret")
    manager = files["manager.conf"]
    assert "bindaddr = 127.0.0.1" in manager and "port = 15038" in manager
    assert "172.30.45" not in manager
    assert manager.count("permit = 127.0.0.1/255.255.255.255") == 2
    assert "rtpstart = 21000" in files["rtp.conf"] and "rtpend = 21039" in files["rtp.conf"]
    assert "MASKING_AGI = agi://127.0.0.1:14573" in files["extensions.conf"]
    pjsip = files["pjsip.conf"]
    assert "bind = 127.0.0.1:15060" in pjsip
    assert "contact = sip:127.0.0.1:15070\nqualify_frequency = 0" in pjsip
    assert "[desk1](masking-desk-auth)\nusername = desk1\npassword = desk1-secret" in pjsip


def test_a_compose_key_the_runner_does_not_know_is_refused(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  redis:\n    image: redis:7\n    network_mode: bridge\n")
    with pytest.raises(StackError, match="network_mode"):
        load_compose(compose)
