"""Every CLI verb, happy path and bad input: a clear message, non-zero exit, no change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from masking.cli import app
from masking.config import get_settings
from tests.conftest import REDIS_URL

runner = CliRunner()


@pytest.fixture
def cli(
    tmp_path: Path, sqlite_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    monkeypatch.setenv("MASKING_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MASKING_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MASKING_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("MASKING_REDIS_PREFIX", redis_prefix)
    get_settings.cache_clear()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args))
        output = result.output + (result.stderr if result.stderr_bytes else "")
        if ok:
            assert result.exit_code == 0, output
        else:
            assert result.exit_code != 0, output
            assert "error:" in output
            assert "Traceback" not in output
        return output

    run.url = sqlite_url  # type: ignore[attr-defined]
    yield run
    get_settings.cache_clear()


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url)
    tables = ["sites", "site_exceptions", "staff", "shipments", "virtual_numbers", "bindings"]
    with engine.connect() as conn:
        data = {
            t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}")).all()), key=str)
            for t in tables
        }
    engine.dispose()
    return data


def seed(cli) -> None:  # type: ignore[no-untyped-def]
    cli(
        "site",
        "create",
        "pvz1",
        "--name",
        "PVZ 1",
        "--hours",
        "daily 00:00-24:00",
        "--ring",
        "pvz1-phone",
    )
    cli("staff", "add", "ann", "--role", "owner", "--site", "pvz1", "--endpoint", "desk1")
    cli("staff", "add", "eve", "--role", "employee", "--site", "pvz1", "--endpoint", "desk2")
    cli("pool", "add", "+74950000001", "+74950000002")
    cli("shipment", "add", "pvz1", "S1", "8 916 123 45 67")


def test_happy_path(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    seed(cli)
    out = cli("reveal", "S1", "--staff", "ann", "--reason", "item_found_later", "--json")
    revealed = json.loads(out)
    assert revealed["virtual_number"].startswith("+7495") and revealed["new"] is True
    again = json.loads(
        cli("reveal", "S1", "--staff", "ann", "--reason", "item_found_later", "--json")
    )
    assert again["binding_id"] == revealed["binding_id"]
    live = json.loads(cli("bindings", "--json"))
    assert [b["customer"] for b in live] == ["+7 916 ***-**-67"]
    assert "1234567" not in cli("bindings")
    cli("site", "set-hours", "pvz1", "mon-fri 09:00-21:00; sat 10:00-16:00")
    cli("site", "add-exception", "pvz1", "2026-12-31", "--hours", "09:00-15:00")
    cli("site", "add-exception", "pvz1", "2027-01-01", "--note", "New Year")
    sites = json.loads(cli("site", "list", "--json"))
    assert sites[0]["hours"].startswith("mon 09:00-21:00")
    cli("site", "suspend", "pvz1", "--reason", "complaints")
    assert json.loads(cli("site", "list", "--json"))[0]["suspended"] == "complaints"
    cli("site", "resume", "pvz1")
    cli("staff", "grant", "eve")
    assert json.loads(cli("staff", "list", "--json"))[1]["numbers_visible"] is True
    cli("staff", "revoke", "eve")
    cli("staff", "set-role", "eve", "staff_manager")
    token = cli("staff", "token", "ann").strip()
    assert token.startswith("mk_")
    csv = tmp_path / "numbers.csv"
    csv.write_text("number\n+74950000003\n+74950000001\n")
    assert "1 numbers added, 1 already" in cli("pool", "import", str(csv))
    stats = json.loads(cli("pool", "stats", "--json"))
    assert stats == [{"region": "RU", "numbers": 3, "bound_somewhere": 1}]
    shipments = tmp_path / "shipments.csv"
    shipments.write_text(
        "shipment,phone,status\n"
        + "".join(f"B{i},+7916{i:07d},at_pickup_point\n" for i in range(2500))
    )
    assert "2500 shipments added" in cli("shipment", "import", "pvz1", str(shipments))
    assert "1 live bindings restored" in cli("pool", "rebuild", "--clean")
    assert "postpaid_payment_failed" in cli("reasons")
    assert "***" in cli("config")


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
def test_bad_input_changes_nothing(cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    seed(cli)
    before = snapshot(cli.url)
    cli(*args, ok=False)
    assert snapshot(cli.url) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("number\n+74950000009\nnonsense\n", "line 2"),
        ("phone\n+74950000009\n", "'number' column"),
    ],
)
def test_pool_import_bad_csv(cli, tmp_path: Path, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    seed(cli)
    path = tmp_path / "bad.csv"
    path.write_text(content)
    before = snapshot(cli.url)
    assert message in cli("pool", "import", str(path), ok=False)
    assert snapshot(cli.url) == before


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
    cli,
    tmp_path: Path,
    content: str | bytes,  # type: ignore[no-untyped-def]
    message: str,
) -> None:
    cli("db", "upgrade")
    seed(cli)
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = snapshot(cli.url)
    output = cli("shipment", "import", "pvz1", str(path), ok=False)
    assert message in output
    assert "9161234567" not in output
    assert snapshot(cli.url) == before


def test_missing_file_and_bad_config(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    seed(cli)
    assert "No such file" in cli("shipment", "import", "pvz1", "/nonexistent.csv", ok=False)
    monkeypatch.setenv("MASKING_BINDING_TTL_HOURS", "-5")
    get_settings.cache_clear()
    assert "MASKING_BINDING_TTL_HOURS" in cli("site", "list", ok=False)


def test_redis_down_is_a_clear_error(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    seed(cli)
    monkeypatch.setenv("MASKING_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    output = cli("reveal", "S1", "--staff", "ann", "--reason", "item_found_later", ok=False)
    assert "unavailable" in output
