"""The Grafana dashboard and the Prometheus examples beside the compose file name exactly
the metrics the service exports: every expression's metric names are found in a real
scrape of /metrics (every instrument recorded once, a seeded pool), and every exported
family is on the dashboard."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from masking import metrics
from masking.config import Settings
from masking.web import create_app
from tests.support.clock import FakeClock
from tests.support.factories import seed_site
from tests.support.services import make_settings, open_service

DOCKER = Path(__file__).resolve().parents[2] / "docker"
DASHBOARD = DOCKER / "grafana" / "masking-dashboard.json"
SCRAPE_CONFIG = DOCKER / "prometheus" / "prometheus.yml"
ALERTS = DOCKER / "prometheus" / "masking-alerts.yml"
METRIC_NAME = re.compile(r"\bmasking_[a-z0-9_]+\b")
# a family's samples: the counter's _total, the histogram's _bucket / _sum / _count
SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from panels(item.get("panels", []))


def dashboard_expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in panels(board["panels"]) for t in p.get("targets", [])]


def alert_expressions() -> list[str]:
    return re.findall(r"^\s+expr: (.+)$", ALERTS.read_text(), flags=re.MULTILINE)


@pytest.fixture
def scraped(tmp_path: Path, sqlite_url: str, redis_prefix: str, clock: FakeClock) -> set[str]:
    """Sample names of one scrape with every instrument recorded at least once."""
    settings: Settings = make_settings(tmp_path, sqlite_url, redis_prefix)
    metrics.decision("operator-call", "dial", "", 0.004)
    metrics.agi_in_flight(0)
    metrics.agi_rejected("secret")
    metrics.pool_exhausted("RU")
    metrics.ami_connected(False)
    metrics.ami_tracking(False)
    metrics.scheduler_round(0.1, 0.0)
    metrics.scheduler_job("outbox", 0.01, failed=True)
    metrics.outbox_delivery(True)
    with open_service(settings, clock) as service:
        seed_site(service, pool=2)
        with TestClient(create_app(service)) as client:
            text = client.get("/metrics").text
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_every_dashboard_expression_names_exported_metrics(scraped: set[str]) -> None:
    expressions = dashboard_expressions()
    assert len(expressions) >= 15
    for expr in expressions:
        names = METRIC_NAME.findall(expr)
        assert names, f"no masking metric in {expr!r}"
        unknown = [n for n in names if n not in scraped]
        assert not unknown, f"{expr!r} names metrics the service does not export: {unknown}"


def test_every_exported_family_is_on_the_dashboard(scraped: set[str]) -> None:
    shown = {family(n) for e in dashboard_expressions() for n in METRIC_NAME.findall(e)}
    exported = {family(n) for n in scraped if n.startswith("masking_")}
    assert exported - shown == set()


def test_the_dashboard_asks_for_its_prometheus_data_source() -> None:
    board = json.loads(DASHBOARD.read_text())
    [variable] = board["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    for panel in panels(board["panels"]):
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
    ids = [p["id"] for p in panels(board["panels"])]
    assert len(ids) == len(set(ids))


def test_the_alert_rules_name_exported_metrics(scraped: set[str]) -> None:
    expressions = alert_expressions()
    assert len(expressions) >= 6
    for expr in expressions:
        names = METRIC_NAME.findall(expr)
        assert names and all(n in scraped for n in names), expr


def test_the_scrape_config_scrapes_metrics_and_loads_the_rules() -> None:
    config = SCRAPE_CONFIG.read_text()
    assert re.search(r"^\s+metrics_path: /metrics$", config, flags=re.MULTILINE)
    assert re.search(r"^\s+- job_name: masking$", config, flags=re.MULTILINE)
    [rules] = re.findall(r"^\s+- (\S+\.yml)$", config, flags=re.MULTILINE)
    assert (SCRAPE_CONFIG.parent / rules).is_file()
