"""``masking reveal``, ``masking bindings``, ``masking reasons``."""

from __future__ import annotations

import json
from typing import Any

from tests.support.cli import Cli


def test_reveal(seeded: Cli) -> None:
    out = seeded("reveal", "S1", "--staff", "ann", "--reason", "item_found_later", "--json")
    revealed = json.loads(out)
    assert revealed["virtual_number"].startswith("+7495") and revealed["new"] is True
    assert (revealed["shipment"], revealed["reason"]) == ("S1", "item_found_later")
    again = json.loads(
        seeded("reveal", "S1", "--staff", "ann", "--reason", "item_found_later", "--json")
    )
    assert again["binding_id"] == revealed["binding_id"]
    assert again["new"] is False
    plain = seeded("reveal", "S1", "--staff", "ann", "--reason", "item_found_later")
    assert plain.startswith(revealed["virtual_number"] + " (until ")
    assert "1234567" not in out + plain


def test_bindings(revealed: dict[str, Any], seeded: Cli) -> None:
    live = json.loads(seeded("bindings", "--json"))
    assert [b["customer"] for b in live] == ["+7 916 ***-**-67"]
    assert [(b["id"], b["site"], b["virtual_number"]) for b in live] == [
        (revealed["binding_id"], "pvz1", revealed["virtual_number"])
    ]
    assert "1234567" not in seeded("bindings")
    assert json.loads(seeded("bindings", "--site", "pvz1", "--json")) == live


def test_reasons(cli: Cli) -> None:
    assert "postpaid_payment_failed" in cli("reasons")
    codes = {r["code"] for r in json.loads(cli("reasons", "--json"))}
    assert {"postpaid_payment_failed", "item_found_later"} <= codes
