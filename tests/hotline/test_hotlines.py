"""Hotline DIDs: added for a team's site with its brand, queue and region, found by the
DID however the dialplan writes it, refused when malformed or taken, switched off."""

from __future__ import annotations

import pytest

from masking.hotline import hotlines
from masking.hotline.hotlines import HotlineInfo
from masking.service import MaskingService
from masking.shapes import AdminError
from tests.support.factories import seed_site


@pytest.fixture
def site(service: MaskingService) -> str:
    seed_site(service, "kz1")
    return "kz1"


def add(service: MaskingService, site: str = "kz1", did: str = "77272000100", **kw: str) -> int:
    values = {"brand": "Haier", "queue": "haier-kz", "region": "KZ"} | kw
    return hotlines.add_hotline(service, site, did, **values)


def test_add_and_list(service: MaskingService, site: str) -> None:
    first = add(service, support_email="support-kz@haieronline.kz")
    second = add(
        service, did="+77272000200", brand="Thunderobot", queue="tr-kz", on_failure="prompt"
    )
    assert first != second
    assert hotlines.list_hotlines(service) == [
        HotlineInfo(
            first, "77272000100", "kz1", "Haier", "haier-kz", "KZ",
            "support-kz@haieronline.kz", "queue", True,
        ),
        HotlineInfo(second, "77272000200", "kz1", "Thunderobot", "tr-kz", "KZ", "", "prompt", True),
    ]  # fmt: skip


@pytest.mark.parametrize("written", ["77272000100", "+77272000100", " 77272000100 "])
def test_found_by_did_as_the_dialplan_writes_it(
    service: MaskingService, site: str, written: str
) -> None:
    hotline_id = add(service)
    with service.db.session() as session:
        found = hotlines.get_by_did(session, written)
        assert found is not None and found.id == hotline_id
        assert hotlines.get_by_did(session, "77272000101") is None
        assert hotlines.get_by_did(session, "7727200010x") is None
        assert hotlines.get_by_did(session, "") is None


def test_a_switched_off_hotline_is_not_found(service: MaskingService, site: str) -> None:
    add(service)
    hotlines.set_active(service, "+77272000100", False)
    with service.db.session() as session:
        assert hotlines.get_by_did(session, "77272000100") is None
        assert hotlines.get_by_did(session, "77272000100", active_only=False) is not None
    hotlines.set_active(service, "77272000100", True)
    with service.db.session() as session:
        assert hotlines.get_by_did(session, "77272000100") is not None
    with pytest.raises(AdminError, match="no hotline"):
        hotlines.set_active(service, "77270000000", False)


def test_a_did_is_one_hotline(service: MaskingService, site: str) -> None:
    add(service)
    with pytest.raises(AdminError, match="already a hotline"):
        add(service, did="+77272000100", brand="Other", queue="other")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("did", "7727-2000", "did:"),
        ("did", "12", "did:"),
        ("did", "abc", "did:"),
        ("brand", "", "brand:"),
        ("brand", 'Haier"; Dial(x)', "brand:"),
        ("brand", "A" * 31, "brand:"),
        ("queue", "haier kz", "queue:"),
        ("queue", "_pattern", "queue:"),
        ("queue", "q,options", "queue:"),
        ("region", "XX", "region:"),
        ("support_email", "not-an-address", "support_email:"),
        ("support_email", "a@b.kz, c@d.kz", "support_email:"),
        ("on_failure", "hangup", "on_failure:"),
    ],
)
def test_malformed_input_is_refused_naming_the_field(
    service: MaskingService, site: str, field: str, value: str, message: str
) -> None:
    values = {"did": "77272000100", "brand": "Haier", "queue": "haier-kz", "region": "KZ"}
    values[field] = value
    did = values.pop("did")
    with pytest.raises(AdminError, match=message):
        hotlines.add_hotline(service, "kz1", did, **values)
    assert hotlines.list_hotlines(service) == []


def test_unknown_site_is_refused(service: MaskingService, site: str) -> None:
    with pytest.raises(AdminError, match="site:"):
        add(service, site="nope")


def test_the_dialplan_sample_routes_the_did_with_its_queue(
    service: MaskingService, site: str
) -> None:
    add(service, on_failure="prompt")
    [info] = hotlines.list_hotlines(service)
    sample = hotlines.dialplan_sample(info)
    assert "exten => 77272000100,1,Set(MASKING_HOTLINE_QUEUE=haier-kz)" in sample
    assert "Set(MASKING_HOTLINE_ON_FAILURE=prompt)" in sample
    assert "Goto(masking-hotline,${EXTEN},1)" in sample
