"""The routing table: one module per route, registered here and nowhere else.

``agi://host/<route>?...`` (FastAGI) and ``AGI(masking-agi.py,<route>,...)`` (classic) both
look the route up in :data:`ROUTES`. A handler is sync (it calls the desk, which talks to
the database and Redis) and returns a :class:`~masking.calls.contract.CallDecision`; the
callers turn it into channel variables with :func:`agi.routes.base.decision_variables`.
"""

from __future__ import annotations

from agi.routes import click2call, hotline_call, inbound_call, operator_call
from agi.routes.base import Handler, decided_once
from masking.states import Direction

ROUTES: dict[str, Handler] = {
    "operator-call": decided_once(Direction.OUTBOUND, operator_call.handle),
    "inbound-call": decided_once(Direction.INBOUND, inbound_call.handle),
    "click2call": decided_once(Direction.CLICK2CALL, click2call.handle),
    "hotline-call": decided_once(Direction.HOTLINE, hotline_call.handle),
}

__all__ = ["ROUTES", "Handler"]
