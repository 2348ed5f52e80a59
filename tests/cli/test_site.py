"""``masking site create | list | set-hours | add-exception | suspend | resume``."""

from __future__ import annotations

import json
from datetime import date

from tests.support.cli import Cli

WEEKDAYS = "mon 09:00-21:00; tue 09:00-21:00; wed 09:00-21:00; thu 09:00-21:00; fri 09:00-21:00"


def sites(cli: Cli) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(cli("site", "list", "--json"))
    return rows


def test_site_create(cli: Cli) -> None:
    out = cli(
        "site",
        "create",
        "ala1",
        "--name",
        "Almaty 1",
        "--tz",
        "Asia/Almaty",
        "--region",
        "KZ",
        "--hours",
        "mon-fri 09:00-21:00",
        "--ring",
        "ala1-phone",
        "--ring",
        "ala1-phone2",
    )
    assert "site ala1 created" in out
    assert sites(cli) == [
        {
            "code": "ala1",
            "name": "Almaty 1",
            "timezone": "Asia/Almaty",
            "region": "KZ",
            "hours": WEEKDAYS,
            "suspended": None,
            "ring": "ala1-phone,ala1-phone2",
        }
    ]


def test_site_list(seeded: Cli) -> None:
    [site] = sites(seeded)
    assert (site["code"], site["name"], site["ring"]) == ("pvz1", "PVZ 1", "pvz1-phone")
    assert site["hours"] == "; ".join(
        f"{day} 00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    assert (site["timezone"], site["region"], site["suspended"]) == ("Europe/Moscow", "RU", None)
    assert "pvz1" in seeded("site", "list")


def test_site_set_hours(seeded: Cli) -> None:
    out = seeded("site", "set-hours", "pvz1", "mon-fri 09:00-21:00; sat 10:00-16:00")
    assert "site pvz1: hours set" in out
    [site] = sites(seeded)
    assert isinstance(site["hours"], str) and site["hours"].startswith("mon 09:00-21:00")
    assert site["hours"] == WEEKDAYS + "; sat 10:00-16:00"


def test_site_add_exception(seeded: Cli) -> None:
    short = seeded("site", "add-exception", "pvz1", "2026-12-31", "--hours", "09:00-15:00")
    holiday = seeded("site", "add-exception", "pvz1", "2027-01-01", "--note", "New Year")
    assert "site pvz1: 2026-12-31 09:00-15:00" in short
    assert "site pvz1: 2027-01-01 closed" in holiday
    rows = seeded.snapshot()["site_exceptions"]
    days = sorted((str(row[2]), row[3], row[4]) for row in rows)
    assert len(days) == 2
    assert days[0][0] == str(date(2026, 12, 31)) and "09:00" in str(days[0][1])
    assert days[1] == (str(date(2027, 1, 1)), "[]", "New Year")


def test_site_suspend(seeded: Cli) -> None:
    assert "site pvz1: suspended" in seeded("site", "suspend", "pvz1", "--reason", "complaints")
    assert sites(seeded)[0]["suspended"] == "complaints"
    refused = seeded("reveal", "S1", "--staff", "ann", "--reason", "item_found_later", ok=False)
    assert "suspended" in refused


def test_site_resume(seeded: Cli) -> None:
    seeded("site", "suspend", "pvz1", "--reason", "complaints")
    assert "site pvz1: resumed" in seeded("site", "resume", "pvz1")
    assert sites(seeded)[0]["suspended"] is None
    seeded("reveal", "S1", "--staff", "ann", "--reason", "item_found_later")
