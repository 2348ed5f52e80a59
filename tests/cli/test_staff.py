"""``masking staff add | list | set-role | grant | revoke | token``."""

from __future__ import annotations

import json

from tests.support.cli import Cli


def staff(cli: Cli, *args: str) -> dict[str, dict[str, object]]:
    rows = json.loads(cli("staff", "list", "--json", *args))
    return {row["login"]: row for row in rows}


def test_staff_add(seeded: Cli) -> None:
    out = seeded(
        "staff", "add", "bob", "--role", "employee", "--site", "pvz1", "--endpoint", "desk3"
    )
    assert "staff bob added as employee" in out
    assert "staff qa1 added as qa" in seeded("staff", "add", "qa1", "--role", "qa")
    bob = staff(seeded)["bob"]
    assert (bob["role"], bob["site"], bob["endpoint"]) == ("employee", "pvz1", "desk3")
    assert (bob["numbers_visible"], bob["active"]) == (False, True)
    assert staff(seeded)["qa1"]["site"] is None


def test_staff_list(seeded: Cli) -> None:
    rows = json.loads(seeded("staff", "list", "--json"))
    assert [(r["login"], r["role"], r["endpoint"]) for r in rows] == [
        ("ann", "owner", "desk1"),
        ("eve", "employee", "desk2"),
    ]
    assert staff(seeded, "--site", "pvz1").keys() == {"ann", "eve"}
    table = seeded("staff", "list")
    assert "ann" in table and "eve" in table


def test_staff_set_role(seeded: Cli) -> None:
    assert "staff eve: role staff_manager" in seeded("staff", "set-role", "eve", "staff_manager")
    assert staff(seeded)["eve"]["role"] == "staff_manager"


def test_staff_grant(seeded: Cli) -> None:
    assert "staff eve: numbers visible" in seeded("staff", "grant", "eve")
    assert json.loads(seeded("staff", "list", "--json"))[1]["numbers_visible"] is True
    seeded("reveal", "S1", "--staff", "eve", "--reason", "item_found_later")


def test_staff_grant_refuses_owners_and_staff_managers(seeded: Cli) -> None:
    """Only an employee's visibility is switched: owners and staff managers always see."""
    seeded("staff", "add", "max", "--role", "staff_manager", "--site", "pvz1")
    before = seeded.snapshot()
    for login in ("ann", "max"):
        refused = seeded("staff", "grant", login, ok=False)
        assert "owners and staff managers always see numbers" in refused
    assert seeded.snapshot() == before


def test_staff_revoke(seeded: Cli) -> None:
    seeded("staff", "grant", "eve")
    assert "staff eve: numbers hidden" in seeded("staff", "revoke", "eve")
    assert staff(seeded)["eve"]["numbers_visible"] is False
    refused = seeded("reveal", "S1", "--staff", "eve", "--reason", "item_found_later", ok=False)
    assert "not_allowed" in refused
    assert "always see numbers" in seeded("staff", "revoke", "ann", ok=False)


def test_staff_token(seeded: Cli) -> None:
    token = seeded("staff", "token", "ann").strip()
    assert token.startswith("mk_")
    assert seeded("staff", "token", "ann").strip() not in ("", token)
