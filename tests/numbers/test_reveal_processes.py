"""Reveals from several processes at once (real PostgreSQL and Redis): every numbering
rule holds, counted from the database and Redis afterwards."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lab.benchmarks.reveal_rate import (
    Workload,
    open_service,
    rule_violations,
    run_clients,
    seed,
)
from masking.numbers import bindings
from tests.support.environment import REDIS_URL
from tests.support.services import truncate


def test_processes_revealing_at_once_break_no_rule(
    pg_template_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    truncate(pg_template_url)
    workload = Workload(clients=8, reveals=30)
    service = open_service(pg_template_url, redis_prefix, REDIS_URL, tmp_path)
    try:
        owners = seed(service, workload)
        reports, _ = run_clients(service, tmp_path, workload, owners)
        errors: Counter[str] = Counter()
        for report in reports:
            errors.update(report.errors)
        answers = [a for r in reports for a in r.answers]
        assert errors == Counter()
        assert len(answers) == workload.clients * workload.reveals

        assert +rule_violations(service, answers) == Counter()

        live = bindings.live_bindings(service)
        # one binding per shipment revealed (own ones, plus each client's warm-ups)
        assert len(live) == workload.bindings
        # the rules were put to work: numbers shared by sites, customers at several sites
        sites_by_number = Counter(b.virtual_number for b in live)
        assert max(sites_by_number.values()) > 1
        sites_by_customer = {
            c: {b.site_id for b in live if b.customer_phone == c}
            for c in {b.customer_phone for b in live}
        }
        assert max(len(s) for s in sites_by_customer.values()) > 1
    finally:
        service.close()
