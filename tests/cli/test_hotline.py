"""``masking hotline add | list | reindex``."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, func, select

from masking.storage.models import PhoneKey
from tests.support.cli import Cli


def hotlines(cli: Cli) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(cli("hotline", "list", "--json"))
    return rows


def test_hotline_add_prints_the_dialplan_lines(seeded: Cli) -> None:
    out = seeded(
        "hotline", "add", "pvz1", "+77272000100",
        "--brand", "Haier", "--queue", "haier-kz", "--region", "kz",
        "--support-email", "support-kz@haieronline.kz",
    )  # fmt: skip
    assert "hotline 77272000100 added (Haier, queue haier-kz)" in out
    assert "exten => 77272000100,1,Set(MASKING_HOTLINE_QUEUE=haier-kz)" in out
    assert "Goto(masking-hotline,${EXTEN},1)" in out
    assert hotlines(seeded) == [
        {
            "did": "77272000100",
            "site": "pvz1",
            "brand": "Haier",
            "queue": "haier-kz",
            "region": "KZ",
            "support_email": "support-kz@haieronline.kz",
            "on_failure": "queue",
            "active": True,
        }
    ]
    assert "haier-kz" in seeded("hotline", "list")


def test_hotline_add_refuses_bad_input_in_one_line(seeded: Cli) -> None:
    base = ["hotline", "add", "pvz1", "77272000100", "--brand", "Haier", "--region", "KZ"]
    assert "queue:" in seeded(*base, "--queue", "bad queue", ok=False)
    assert "on_failure:" in seeded(*base, "--queue", "q", "--on-failure", "hang", ok=False)
    assert "site:" in seeded(*base[:2], "nope", *base[3:], "--queue", "q", ok=False)
    seeded(*base, "--queue", "q")
    assert "already a hotline" in seeded(*base, "--queue", "q", ok=False)
    assert len(hotlines(seeded)) == 1


def test_hotline_reindex_rebuilds_the_keys(seeded: Cli) -> None:
    engine = create_engine(seeded.url)
    with engine.begin() as conn:
        conn.execute(PhoneKey.__table__.delete())
    out = seeded("hotline", "reindex")
    with engine.connect() as conn:
        keys = conn.scalar(select(func.count()).select_from(PhoneKey))
    engine.dispose()
    assert keys and keys > 1
    assert f"index rebuilt: {keys} keys" in out
