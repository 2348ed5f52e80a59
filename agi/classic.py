"""Classic AGI entry point: one process per call over stdin/stdout (the low-volume option).

Dialplan: ``AGI(masking-agi,operator-call,${CHANNEL(endpoint)},${EXTEN})``: the route is
the first argument, the route's own arguments follow. The same route handlers and the same
variables as FastAGI; pyst2's ``AGI`` class reads the environment and talks to Asterisk.

Process-per-call AGI starts a Python interpreter and connects to storage for every call:
expect a few calls per second at most; use FastAGI (``masking serve``) beyond that.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from agi.protocol import AGIRequest, quote
from agi.routes import ROUTES
from agi.routes.base import safe_variables, scrub, unavailable
from masking import redaction
from masking.calls.contract import CallDecision, CallDesk
from masking.config import ConfigError, Settings, load_settings

log = logging.getLogger("agi.classic")

# Settings.agi_request_timeout (MASKING_AGI_REQUEST_TIMEOUT) decides; this is its default.
DEFAULT_TIMEOUT = Settings.model_fields["agi_request_timeout"].default


def _decide_with_deadline(
    desk: CallDesk | Callable[[], CallDesk], request: AGIRequest, timeout: float
) -> CallDecision:
    """The route's decision, or deny ``unavailable`` on error or after ``timeout`` seconds.

    A daemon thread so that a desk stuck on storage cannot keep the process alive."""
    handler = ROUTES.get(request.route)
    if handler is None:
        raise LookupError(request.route)
    box: list[CallDecision] = []

    def work() -> None:
        try:
            the_desk: Any = desk if _is_desk(desk) else desk()  # type: ignore[operator]
            box.append(handler(the_desk, request))
        except Exception:
            log.exception("call %s: %s failed, denying", request.channel_id, request.route)

    thread = threading.Thread(target=work, name="agi-desk", daemon=True)
    thread.start()
    thread.join(timeout)
    if box:
        return box[0]
    if thread.is_alive():
        log.error("call %s: %s not decided in %.1fs", request.channel_id, request.route, timeout)
    return unavailable()


def _is_desk(obj: object) -> bool:
    """A desk instance (not a class, not a factory function)."""
    return not isinstance(obj, type) and all(
        hasattr(obj, m) for m in ("operator_call", "inbound_call", "click2call_leg")
    )


def run(
    desk: CallDesk | Callable[[], CallDesk],
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """Serve one classic AGI request. ``desk`` may be a desk or a factory building one
    (called inside the deadline). Returns the process exit status: 0 when the variables
    were set, 1 when the request was refused (unknown route) or Asterisk went away."""
    from asterisk.agi import AGI, AGIException

    # pyst2 echoes the environment and every command to stderr, which Asterisk logs: that
    # would put caller numbers in the logs. Keep its chatter out.
    with open(os.devnull, "w") as devnull:
        agi: Any = AGI(stdin=stdin or sys.stdin, stdout=stdout or sys.stdout, stderr=devnull)
        env: dict[str, str] = agi.env
        route = env.get("agi_arg_1", "").strip()
        request = AGIRequest.from_env(env, route=route, skip=1)
        if route not in ROUTES:
            log.warning("call %s: unknown route %r, nothing set", request.channel_id, scrub(route))
            return 1
        decision = _decide_with_deadline(desk, request, timeout)
        decision, pairs = safe_variables(decision)
        try:
            for name, value in pairs:
                agi.execute("SET VARIABLE", quote(name), quote(value))
        except (AGIException, OSError, ValueError) as exc:
            log.warning("call %s: could not set the decision (%s)", request.channel_id, exc)
            return 1
        log.info(
            "call %s: %s -> %s%s (call %s)",
            request.channel_id,
            route,
            decision.action,
            f" {decision.deny_reason.value}" if decision.deny_reason else "",
            decision.call_id,
        )
        return 0


def _production_desk() -> CallDesk:
    from masking.calls.desk import build_call_desk

    return build_call_desk()


def main(argv: list[str] | None = None, desk: CallDesk | None = None) -> int:
    """Console entry. ``MASKING_AGI_DESK=module:function`` picks another desk factory."""
    logging.basicConfig(
        level=os.environ.get("MASKING_AGI_LOG_LEVEL", "WARNING"),
        stream=sys.stderr,
        format="masking-agi %(levelname)s %(name)s: %(message)s",
    )
    # stderr ends in Asterisk's log
    redaction.install()
    factory: CallDesk | Callable[[], CallDesk]
    if desk is not None:
        factory = desk
    elif spec := os.environ.get("MASKING_AGI_DESK"):
        from agi.server import load_factory

        factory = load_factory(spec)
    else:
        factory = _production_desk
    try:
        timeout = load_settings().agi_request_timeout
    except ConfigError as exc:  # fail closed: still answer Asterisk, within the default
        log.error("classic AGI: %s", exc)
        timeout = DEFAULT_TIMEOUT
    try:
        return run(factory, timeout=timeout)
    except Exception:
        log.exception("classic AGI failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())


def _console() -> None:
    sys.exit(main())
