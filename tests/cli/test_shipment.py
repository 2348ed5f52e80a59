"""``masking shipment add | import``."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import Cli


def test_shipment_add(seeded: Cli) -> None:
    out = seeded("shipment", "add", "pvz1", "S2", "+7 916 765-43-21")
    assert "shipment S2 for +7 916 ***-**-21" in out
    assert "7654321" not in out
    shipments = seeded.snapshot()["shipments"]
    assert len(shipments) == 2
    assert any("S2" in row and "+79167654321" in row for row in shipments)


def test_shipment_import(seeded: Cli, tmp_path: Path) -> None:
    shipments = tmp_path / "shipments.csv"
    shipments.write_text(
        "shipment,phone,status\n"
        + "".join(f"B{i},+7916{i:07d},at_pickup_point\n" for i in range(2500))
    )
    assert "2500 shipments added" in seeded("shipment", "import", "pvz1", str(shipments))
    assert len(seeded.snapshot()["shipments"]) == 2501
    again = seeded("shipment", "import", "pvz1", str(shipments))
    assert "0 shipments added, 2500 updated" in again
    assert len(seeded.snapshot()["shipments"]) == 2501
