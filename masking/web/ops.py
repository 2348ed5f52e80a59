"""The endpoints of the scraper and the orchestrator, outside the API and the console:

- ``/healthz``: the process answers HTTP (no dependency is asked; cheap).
- ``/readyz``: the database, Redis and AMI answer (:class:`masking.monitoring.Readiness`);
  503 with a JSON body naming what is down otherwise.
- ``/metrics``: Prometheus text format (:mod:`masking.metrics` plus the gauges of
  :class:`masking.monitoring.StateCollector`).

Authentication: none for the two probes (an orchestrator's probe carries no credentials;
they tell only ``ok`` / ``down`` per dependency). ``/metrics`` asks for
``Authorization: Bearer <MASKING_METRICS_TOKEN>`` when that setting is set; unset, it is
open like the probes (the HTTP port is on the loopback by default: set the token when the
port is reachable from elsewhere). None of the three carries personal data.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from masking import metrics
from masking.monitoring import Readiness, StateCollector

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    report = await readiness.probe()
    return JSONResponse(report.body(), status_code=200 if report.ready else 503)


@router.get("/metrics")
def scrape(request: Request) -> Response:
    token: str = request.app.state.service.settings.metrics_token
    if token and not _bearer_matches(request, token):
        return JSONResponse(
            {"error": {"code": "unauthorized", "message": "metrics need the bearer token"}},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    collector: StateCollector = request.app.state.state_collector
    return Response(metrics.exposition([collector]), media_type=metrics.CONTENT_TYPE)


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
