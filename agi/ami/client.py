"""The AMI client the service runs: one connection, the call tracker fed by its events
(when given a service) and the click-to-call originator sending through it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agi.ami.connection import AmiConnection
from agi.ami.originator import AmiOriginator
from agi.ami.tracker import CallTracker
from masking.calls import call_log
from masking.config import Settings
from masking.service import MaskingService


class AmiClient(AmiConnection):
    """:class:`AmiConnection` with call records kept from its events, and click-to-call.

    ``asterisk``: the name (systemname) of the Asterisk it talks to, when several are
    active at once (the tracker reconciles that Asterisk's records only).
    ``service`` None gives a command-only client (no events, no records), e.g. for
    ``masking dialplan reload``. ``track_events`` False: the client connects (Originate
    works) but subscribes to no events until :meth:`set_tracking` turns tracking on (only
    the elected leader of a deployment tracks). ``options`` are :class:`AmiConnection`'s
    (host, port, username, secret, timeouts, backoff, ``reconcile_interval``,
    ``boot_wait``, ``batch_window``, ``batch_max``).
    """

    def __init__(
        self,
        *,
        service: MaskingService | None = None,
        recording_delays: Iterable[float] = (1.0, 5.0),
        track_events: bool = True,
        asterisk: str | None = None,
        **options: Any,
    ) -> None:
        tracker = (
            CallTracker(service, recording_delays=recording_delays, asterisk=asterisk)
            if service
            else None
        )
        # the follow-up reconcile after a login or lost events waits until the records
        # too young for reconciliation then (call_log.RECONCILE_GRACE) are old enough
        options.setdefault("reconcile_followup", call_log.RECONCILE_GRACE.total_seconds() + 1.0)
        super().__init__(
            listener=tracker, track_events=track_events, asterisk=asterisk or "", **options
        )
        self.service = service
        self.tracker = tracker
        self.originator = AmiOriginator(self, service=service, tracker=tracker)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        service: MaskingService | None = None,
        *,
        track_events: bool = True,
        **options: Any,
    ) -> AmiClient:
        return cls(
            host=settings.ami_host,
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ami_secret,
            service=service,
            track_events=track_events,
            asterisk=settings.asterisk_name or None,
            **options,
        )

    async def reconcile(self) -> list[str]:
        """Close records whose calls Asterisk no longer has; returns the closed ids."""
        return await self.tracker.reconcile(self) if self.tracker is not None else []
