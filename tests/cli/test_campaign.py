"""``masking order import`` and ``masking campaign save | assign | list | worklist | report``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from tests.support.cli import Cli

HEADER = "order_id,status,payment_method,store,created_at,phone,timezone\n"


def orders_in(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT count(*) FROM orders")).scalar()
    engine.dispose()
    return int(found or 0)


def test_orders_and_a_campaign_from_the_command_line(seeded: Cli, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = (
        f"M-1,pending,Wire Transfer,Country stores,{(now - timedelta(hours=2)).isoformat()},"
        "+7 916 555-44-33,Europe/Moscow\n"
        f"M-2,pending_payment,wire_transfer,,{(now - timedelta(hours=1)).isoformat()},"
        "8 916 555 44 34,\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + rows + f"M-3,pending,wire_transfer,,{now.isoformat()},12,\n")
    out = seeded("order", "import", "pvz1", str(bad), "--source", "shop", ok=False)
    assert "line 4: phone:" in out
    assert orders_in(seeded.url) == 0
    good = tmp_path / "good.csv"
    good.write_text(HEADER + rows)
    assert "2 orders added, 0 known" in seeded(
        "order", "import", "pvz1", str(good), "--source", "shop"
    )
    assert "0 orders added, 2 known" in seeded(
        "order", "import", "pvz1", str(good), "--source", "shop"
    )

    out = seeded(
        "campaign", "save", "pvz1", "unpaid", "--tz", "Europe/Moscow", "--policy", "{", ok=False
    )
    assert "policy: not JSON" in out
    out = seeded(
        "campaign",
        "save",
        "pvz1",
        "unpaid",
        "--tz",
        "Europe/Moscow",
        "--policy",
        '{"daily_cap": 0}',
        ok=False,
    )
    assert "policy.daily_cap:" in out
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"min_gap_minutes": 45}))
    out = seeded(
        "campaign",
        "save",
        "pvz1",
        "unpaid",
        "--tz",
        "Europe/Moscow",
        "--title",
        "Unpaid wire transfers",
        "--payment-method",
        "wire_transfer",
        "--status",
        "pending",
        "--status",
        "pending_payment",
        "--policy",
        f"@{policy}",
    )
    assert "campaign unpaid of pvz1 saved" in out

    today = datetime.now(UTC).date().isoformat()
    out = seeded("campaign", "assign", "pvz1", "unpaid", "eve", "--from", today)
    assert "assigned to eve" in out
    out = seeded("campaign", "assign", "pvz1", "unpaid", "ann", "--from", today, ok=False)
    assert "starts_on: the campaign is assigned from" in out
    out = seeded("campaign", "assign", "pvz1", "nope", "eve", "--from", today, ok=False)
    assert "campaign: no campaign 'nope'" in out

    listed = json.loads(seeded("campaign", "list", "--json"))
    assert [(c["code"], c["in_list"], c["stores"]) for c in listed] == [("unpaid", 2, "any")]
    assert "unpaid" in seeded("campaign", "list", "pvz1")

    page = json.loads(seeded("campaign", "worklist", "pvz1", "unpaid", "--json"))
    assert page["total"] == 2 and sum(page["counts"].values()) == 2
    assert [r["order"] for r in page["rows"]] == ["M-2", "M-1"]
    assert {r["payment"] for r in page["rows"]} == {"wire_transfer"}
    table = seeded("campaign", "worklist", "pvz1", "unpaid")
    assert "M-1" in table and "5554433" not in table and "555 44" not in table

    # the report's day is the campaign's (Moscow): after 21:00 UTC it is already tomorrow there
    moscow_today = datetime.now(ZoneInfo("Europe/Moscow")).date().isoformat()
    report = json.loads(
        seeded("campaign", "report", "pvz1", "unpaid", "--day", moscow_today, "--json")
    )
    assert (report["in_list"], report["attempts"], report["confirmed"]) >= (2, 0, 0)
    assert "in_list" in seeded("campaign", "report", "pvz1", "unpaid", "--day", today)
    out = seeded("campaign", "report", "pvz1", "unpaid", "--day", "today", ok=False)
    assert "day:" in out
