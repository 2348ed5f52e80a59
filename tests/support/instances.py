"""Several service instances (separate ``masking serve`` processes, :mod:`lab.instances`)
in front of the e2e Asterisk, on a PostgreSQL database of their own and one Redis, seeded
like :class:`tests.support.e2e.Live`; the Asterisk's dialplan lists them in order
(``MASKING_AGI_SERVERS``). The test process reads and seeds the shared storage through a
service of its own (:attr:`Fleet.service`), as an admin would.

    with fleet(e2e, workdir) as f:
        f.instances.kill(0)         # kill -9; the dialplan asks instance 1
        f.instances.restart(0)
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from lab.asterisk import LocalAsterisk
from lab.instances import ServiceInstances
from lab.sipp import Sipp, SippResult
from masking import accounts
from masking.config import load_settings
from masking.service import MaskingService
from masking.storage.models import Staff
from tests.support.e2e import CUSTOMER_1, CUSTOMER_2, E2E, Seeded, log_tail, seed_live
from tests.support.environment import REDIS_URL
from tests.support.factories import World
from tests.support.leaks import digit_leaks, log_leaks, sip_leaks
from tests.support.services import postgres_database

CUSTOMERS = [CUSTOMER_1, CUSTOMER_2]


@dataclass
class Fleet(Seeded):
    e2e: E2E
    instances: ServiceInstances
    service: MaskingService
    site1: World
    site2: World

    def api_token(self, staff_id: int) -> str:
        """A bearer token for ``staff_id`` (the API of any instance takes it)."""
        with self.service.db.session() as session:
            staff = session.get(Staff, staff_id)
            assert staff is not None
            return accounts.issue_token(staff)

    def click_to_call(self, index: int, token: str, shipment: str = "S1") -> str:
        """``POST /api/v1/calls`` on instance ``index``: it originates; the call's id."""
        response = httpx.post(
            f"{self.instances[index].http_url}/api/v1/calls",
            headers={"Authorization": f"Bearer {token}"},
            json={"shipment": shipment, "reason": "item_found_later"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        assert not digit_leaks(response.text, CUSTOMERS), response.text
        return str(response.json()["id"])

    def click_to_call_through(self, e2e: E2E, index: int) -> tuple[str, SippResult, SippResult]:
        """Click-to-call S1 by site 1's owner through instance ``index``: desk1 of
        ``e2e``'s Asterisk (a SIPp UAS) answers and talks, then the customer (the carrier
        SIPp) does; neither call leg failed, the customer was rung once and the staff
        phone never got a customer's digits. Returns (the call's id, staff, carrier)."""
        carrier = Sipp(
            "carrier_uas", e2e.workdir / "sipp", port=e2e.carrier_port, rtp_echo=True, timeout=30
        ).start()
        staff = Sipp(
            "staff_phone_talks_uas", e2e.workdir / "sipp", port=e2e.site_ports["desk1"], timeout=30
        ).start()
        try:
            carrier.listening()
            staff.listening()
            call_id = self.click_to_call(index, self.api_token(self.site1.owner_id))
            staff_result, carrier_result = staff.wait(20), carrier.wait(10)
        finally:
            staff.stop()
            carrier.stop()
        assert staff_result.ok, staff_result.describe() + "\n" + log_tail(e2e)
        assert carrier_result.ok, carrier_result.describe() + "\n" + log_tail(e2e)
        assert len(carrier_result.invites) == 1, carrier_result.describe()
        assert not sip_leaks(staff_result, CUSTOMERS), "customer digits at the staff phone"
        return call_id, staff_result, carrier_result

    def decided_by(self, call_id: str) -> list[int]:
        """The instances that answered the dialplan about ``call_id`` (in any of their runs)."""
        return [i.index for i in self.instances if f"(call {call_id}," in i.log(all_starts=True)]

    def instance_log_leaks(self) -> list[str]:
        """The lines of every instance's log (all its runs) holding a customer's digits."""
        return [
            f"instance {i.index}: {line}"
            for i in self.instances
            for line in log_leaks(i.log(all_starts=True), CUSTOMERS)
        ]


@contextlib.contextmanager
def fleet(
    e2e: E2E,
    workdir: Path,
    count: int = 2,
    env: Mapping[str, str] | None = None,
    asterisks: Sequence[LocalAsterisk] = (),
) -> Iterator[Fleet]:
    """``count`` instances serving ``e2e``'s Asterisk, instance 0 leading, every one of
    them logged in to its AMI; afterwards the dialplan asks MASKING_AGI alone again, and
    no instance's log holds a customer's digits. ``asterisks``: instance i is attached
    to the i-th of them instead (its name, AMI and recordings), and every one of their
    dialplans lists the instances."""
    prefix = f"fleet:{uuid.uuid4().hex[:10]}:"
    with postgres_database("masking_fleet") as url:
        settings = load_settings(
            var_dir=workdir / "admin",
            database_url=url,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            recordings_dir=e2e.asterisk.monitor_dir,
        )
        service = MaskingService.from_settings(settings)
        instances = ServiceInstances(
            count,
            workdir,
            database_url=url,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            ami_port=e2e.asterisk.ports.ami_port,
            recordings_dir=e2e.asterisk.monitor_dir,
            env={"MASKING_AGI_REQUEST_TIMEOUT": "2.0", **(env or {})},
        )
        for instance, asterisk in zip(instances, asterisks, strict=False):
            instance.env.update(
                MASKING_ASTERISK_NAME=asterisk.name,
                MASKING_AMI_PORT=str(asterisk.ports.ami_port),
                MASKING_RECORDINGS_DIR=str(asterisk.monitor_dir),
            )
        try:
            site1, site2 = seed_live(service)
            instances.start()
            for instance in instances:
                wait_logged(instance.log, "AMI connected")
            for asterisk in asterisks or (e2e.asterisk,):
                instances.point(asterisk)
            started = Fleet(e2e, instances, service, site1, site2)
            yield started
            leaks = started.instance_log_leaks()
            assert not leaks, "customer digits in the instances' logs:\n" + "\n".join(leaks[:20])
        finally:
            e2e.point_dialplan_at(e2e.agi_port)
            instances.stop_all()
            service.pool.flush()
            service.close()


def wait_logged(log: Callable[[], str], needle: str, timeout: float = 15.0) -> None:
    """Until ``log()`` holds ``needle``."""
    deadline = time.monotonic() + timeout
    while needle not in log():
        if time.monotonic() > deadline:
            raise AssertionError(f"never logged {needle!r}:\n{log()[-3000:]}")
        time.sleep(0.05)
