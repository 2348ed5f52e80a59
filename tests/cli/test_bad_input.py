"""Every CLI verb refuses bad input with a clear message and a non-zero exit, and
changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Cli, use_environment

BAD_CALLS = [
    ("site", "create", "Bad Code!"),
    ("site", "create", "pvz2", "--tz", "Mars/Base"),
    ("site", "create", "pvz2", "--region", "XX"),
    ("site", "create", "pvz2", "--hours", "someday 9-5"),
    ("site", "create", "pvz1"),
    ("site", "set-hours", "pvz1", "mon 25:00-26:00"),
    ("site", "set-hours", "nosuch", "mon 09:00-10:00"),
    ("site", "add-exception", "pvz1", "31.12.2026"),
    ("site", "add-exception", "pvz1", "2026-12-31", "--hours", "9-3"),
    ("site", "suspend", "pvz1", "--reason", "  "),
    ("site", "suspend", "nosuch", "--reason", "x"),
    ("site", "resume", "nosuch"),
    ("staff", "add", "bob", "--role", "king", "--site", "pvz1"),
    ("staff", "add", "bob", "--role", "owner"),
    ("staff", "add", "bob", "--role", "admin", "--site", "pvz1"),
    ("staff", "add", "ann", "--role", "owner", "--site", "pvz1"),
    ("staff", "add", "bob", "--role", "owner", "--site", "pvz1", "--endpoint", "desk1"),
    ("staff", "add", "bob", "--role", "owner", "--site", "pvz1", "--endpoint", "a&PJSIP/b"),
    ("staff", "add", "bob", "--role", "owner", "--site", "nosuch"),
    ("staff", "set-role", "ann", "admin"),
    ("staff", "set-role", "nobody", "owner"),
    ("staff", "grant", "nobody"),
    ("staff", "revoke", "nobody"),
    ("staff", "token", "nobody"),
    ("pool", "add", "+74950000009", "not-a-number"),
    ("pool", "add", "+74950000009", "--region", "KZ"),
    ("pool", "add", "+7495"),
    ("shipment", "add", "pvz1", "S2", "123&PJSIP/x@carrier"),
    ("shipment", "add", "pvz1", "S 2", "+79161234567"),
    ("shipment", "add", "nosuch", "S2", "+79161234567"),
    ("reveal", "NOPE", "--staff", "ann", "--reason", "item_found_later"),
    ("reveal", "S1", "--staff", "eve", "--reason", "item_found_later"),
    ("reveal", "S1", "--staff", "ann", "--reason", "gossip"),
    ("reveal", "S1", "--staff", "nobody", "--reason", "item_found_later"),
    ("bindings", "--site", "nosuch"),
    ("staff", "list", "--site", "nosuch"),
]


@pytest.mark.parametrize("args", BAD_CALLS, ids=lambda a: " ".join(a))
def test_bad_input_changes_nothing(seeded: Cli, args: tuple[str, ...]) -> None:
    before = seeded.snapshot()
    seeded(*args, ok=False)
    assert seeded.snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("number\n+74950000009\nnonsense\n", "line 2"),
        ("phone\n+74950000009\n", "'number' column"),
    ],
)
def test_pool_import_bad_csv(seeded: Cli, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    before = seeded.snapshot()
    assert message in seeded("pool", "import", str(path), ok=False)
    assert seeded.snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("shipment,phone\nA1,+79161234567\nA2,+7916\n", "line 3"),
        ("shipment,phone\nA1,+79161234567\nA1,+79161234568\n", "appears twice"),
        ("shipment,phone\nA 1,+79161234567\n", "line 2"),
        ("order,tel\nA1,+79161234567\n", "'shipment' column"),
        ("shipment,tel\nA1,+79161234567\n", "'phone' column"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_shipment_import_bad_csv(
    seeded: Cli, tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = seeded.snapshot()
    output = seeded("shipment", "import", "pvz1", str(path), ok=False)
    assert message in output
    assert "9161234567" not in output
    assert seeded.snapshot() == before


def test_missing_file_and_bad_config(seeded: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "No such file" in seeded("shipment", "import", "pvz1", "/nonexistent.csv", ok=False)
    use_environment(monkeypatch, binding_ttl_hours="-5")
    assert "MASKING_BINDING_TTL_HOURS" in seeded("site", "list", ok=False)


def test_redis_down_is_a_clear_error(seeded: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(monkeypatch, redis_url="redis://127.0.0.1:1/0")
    output = seeded("reveal", "S1", "--staff", "ann", "--reason", "item_found_later", ok=False)
    assert "unavailable" in output
