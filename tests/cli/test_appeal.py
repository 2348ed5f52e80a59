"""``masking appeal import | report``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.cli import Cli

HEADER = "appeal_id,type,channel,order,phone,text,received_at\n"


def test_appeal_import_and_report(seeded: Cli, tmp_path: Path) -> None:
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    rows = (
        f"A-1,complaint,review,S1,,Rude,{at.isoformat()}\n"
        f"A-2,contact_request,call,S2,+7 916 555-44-33,Call me,{at.isoformat()}\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + rows + f"A-3,praise,chat,S1,,x,{at.isoformat()}\n")
    before = seeded.snapshot()
    out = seeded("appeal", "import", "pvz1", str(bad), "--source", "market", ok=False)
    assert "line 4: type: must be one of" in out
    assert seeded.snapshot() == before

    good = tmp_path / "good.csv"
    good.write_text(HEADER + rows)
    out = seeded("appeal", "import", "pvz1", str(good), "--source", "market")
    assert "2 appeals added, 0 already received" in out
    out = seeded("appeal", "import", "pvz1", str(good), "--source", "market")
    assert "0 appeals added, 2 already received" in out

    day = at.astimezone(UTC).date()
    since, until = (day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()
    report = json.loads(
        seeded("appeal", "report", "pvz1", "--since", since, "--until", until, "--json")
    )
    assert report["received"] == 2
    assert report["open"] == 2
    assert report["first_called_in_time"] == 0
    assert report["median_minutes_to_first_call"] is None
    table = seeded("appeal", "report", "pvz1", "--since", since, "--until", until)
    assert "received" in table
    assert "5554433" not in table
    out = seeded("appeal", "report", "pvz1", "--since", "yesterday", "--until", until, ok=False)
    assert "since:" in out


def test_appeal_sla_sets_a_sites_own_policy_and_clock(seeded: Cli) -> None:
    out = seeded(
        "appeal", "sla", "pvz1", "--type", "complaint", "--first-call", "30", "--resolve", "480"
    )
    assert "first call within 30 min, resolved within 480 min" in out
    out = seeded(
        "appeal",
        "sla",
        "pvz1",
        "--type",
        "praise",
        "--first-call",
        "30",
        "--resolve",
        "60",
        ok=False,
    )
    assert "type: must be one of" in out
    out = seeded(
        "appeal",
        "sla",
        "default",
        "--type",
        "complaint",
        "--first-call",
        "90",
        "--resolve",
        "30",
        ok=False,
    )
    assert "resolve:" in out
    assert "working-hours" in seeded("appeal", "sla-clock", "pvz1", "working-hours")
    assert "clock: use" in seeded("appeal", "sla-clock", "pvz1", "sometimes", ok=False)
