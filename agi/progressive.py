"""The progressive dialer of ``masking serve``: every ``interval`` seconds it steps each
progressive session that may need it (:func:`masking.campaigns.progressive.step`, in a
worker thread) and originates the call a step prepared through the click-to-call
originator (the operator's phone first; when it answers, the desk dials the customer).

It keeps no state of its own: sessions, their current call and the notes owed live in
the database, so a restart (or a second service instance stepping the same sessions)
picks up where things are; the domain's row claims make one instance dial per step.

A failure in one session's step or origination is logged and never stops the loop or
the other sessions. A call whose Originate was refused is closed as failed (the domain
then sees the operator's phone miss it: no attempt on the order, which is dialable again);
one whose fate is unknown (the AMI link dropped before Asterisk confirmed it) is left to
the AMI reconciliation, as for any click-to-call. Log lines name sessions, orders and
calls by id, never a customer's number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from agi.ami.connection import AmiDisconnected
from masking.calls import call_log
from masking.calls.contract import Originator
from masking.campaigns import progressive
from masking.campaigns.progressive import StepOutcome, StepResult
from masking.service import MaskingService
from masking.states import Disposition

log = logging.getLogger("masking.progressive")


class ProgressiveDialer:
    def __init__(
        self,
        service: MaskingService,
        originator: Originator,
        interval: float = 1.0,
        *,
        grace: float = 15.0,
    ) -> None:
        self.service = service
        self.originator = originator
        self.interval = interval
        self.grace = grace  # how long stop() waits for a round under way
        self.rounds = 0
        self.originated = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> list[StepResult]:
        """One round: step every session that may need it (concurrently: one slow
        Originate does not hold up the other operators). Returns the steps' results."""
        try:
            ids = await asyncio.to_thread(progressive.sessions_to_step, self.service)
        except Exception:
            log.exception("progressive dialer: could not list the sessions; next round retries")
            return []
        results = await asyncio.gather(*(self._step(session_id) for session_id in ids))
        self.rounds += 1
        return [r for r in results if r is not None]

    async def _step(self, session_id: str) -> StepResult | None:
        try:
            result = await asyncio.to_thread(progressive.step, self.service, session_id)
        except progressive.SessionNotFound:
            return None
        except Exception:
            log.exception("progressive session %s: step failed; next round retries", session_id)
            return None
        if result.outcome is StepOutcome.DIAL:
            await self._originate(session_id, result)
        return result

    async def _originate(self, session_id: str, result: StepResult) -> None:
        call_id, endpoint = result.call_id, result.endpoint
        assert call_id is not None
        try:
            if not endpoint:
                raise ValueError("the call has no staff endpoint")
            await self.originator.originate_click2call(
                call_id=call_id, endpoint=endpoint, label=result.label or "Order"
            )
        except (AmiDisconnected, TimeoutError):
            # fate unknown: never re-sent; reconciliation closes the record
            log.error(
                "progressive session %s: call %s: the AMI link dropped before Asterisk "
                "confirmed the Originate; reconciliation settles it",
                session_id,
                call_id,
            )
            return
        except Exception as exc:
            log.error(
                "progressive session %s: call %s could not be originated (%s); closed as failed",
                session_id,
                call_id,
                type(exc).__name__,
            )
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    call_log.mark_ended,
                    self.service,
                    call_id,
                    self.service.clock(),
                    Disposition.FAILED,
                )
            return
        self.originated += 1
        log.info(
            "progressive session %s: order %s, call %s: ringing the operator",
            session_id,
            result.order_id,
            call_id,
        )

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # run_once guards itself; belt and braces for the loop
                log.exception("progressive dialer: round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="masking-progressive")
            log.info("progressive dialer: sessions stepped every %g s", self.interval)

    async def stop(self) -> None:
        """Stop after the round under way (waiting at most ``grace`` seconds for it)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(task, self.grace)
        except TimeoutError:
            log.warning(
                "progressive dialer: a round still runs after %g s; not waiting", self.grace
            )
        except Exception:
            log.exception("progressive dialer loop failed")
