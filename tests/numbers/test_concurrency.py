"""Hundreds of parallel reveals never break either uniqueness rule."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from masking import shipments, sites
from masking.numbers import bindings
from masking.refusals import Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from tests.support.factories import seed_site, virtual

SITES = 4
SHIPMENTS_PER_SITE = 60
CUSTOMERS = 90  # customers shared across sites; more customers than pool numbers
POOL = 40


def test_parallel_reveals_keep_both_uniqueness_rules(service: MaskingService) -> None:
    worlds = [seed_site(service, f"c{i}") for i in range(SITES)]
    bindings.add_pool_numbers(service, [virtual(i) for i in range(POOL)], "RU")
    with service.db.session() as session:
        for s in range(SITES):
            site = sites.get_site(session, f"c{s}")
            rows = "\n".join(
                f"X{n},+7916{(s * 37 + n) % CUSTOMERS:07d}" for n in range(SHIPMENTS_PER_SITE)
            )
            shipments.import_shipments(session, site, "shipment,phone\n" + rows + "\n")

    jobs = [(w.owner_id, f"X{n}") for n in range(SHIPMENTS_PER_SITE) for w in worlds]
    jobs += jobs[::3]  # some shipments revealed twice at once

    def reveal(job: tuple[int, str]) -> tuple[str, str | None]:
        staff_id, shipment = job
        try:
            r = reveal_number(
                service, staff_id=staff_id, shipment_number=shipment, reason="item_found_later"
            )
            return ("ok", r.binding_id)
        except Refused as exc:
            return (exc.code, None)

    with ThreadPoolExecutor(max_workers=24) as executor:
        results = list(executor.map(reveal, jobs))

    outcomes = Counter(code for code, _ in results)
    assert set(outcomes) <= {"ok", "pool_exhausted"}, outcomes
    assert outcomes["ok"] >= POOL  # every site could use at least the whole pool once

    live = bindings.live_bindings(service)
    assert len(live) == len({b.id for b in live})
    site_pairs = Counter((b.site_id, b.virtual_number) for b in live)
    customer_pairs = Counter((b.customer_phone, b.virtual_number) for b in live)
    per_shipment = Counter(b.shipment_id for b in live)
    assert max(site_pairs.values()) == 1
    assert max(customer_pairs.values()) == 1
    assert max(per_shipment.values()) == 1
    # what Redis answers matches the database
    for b in live:
        found = bindings.for_site(service, b.site_id, b.virtual_number)
        assert found is not None and found.id == b.id
        back = bindings.for_customer(service, b.customer_phone, b.virtual_number)
        assert back is not None and back.id == b.id
    ok_ids = {bid for code, bid in results if code == "ok"}
    assert ok_ids == {b.id for b in live}
