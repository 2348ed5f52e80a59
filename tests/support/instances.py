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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from lab.instances import ServiceInstances
from masking import accounts
from masking.config import load_settings
from masking.service import MaskingService
from masking.storage.models import Staff
from tests.support.e2e import E2E, Seeded, seed_live
from tests.support.environment import REDIS_URL
from tests.support.factories import World
from tests.support.services import postgres_database


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
        return str(response.json()["id"])


@contextlib.contextmanager
def fleet(
    e2e: E2E, workdir: Path, count: int = 2, env: Mapping[str, str] | None = None
) -> Iterator[Fleet]:
    """``count`` instances serving ``e2e``'s Asterisk, instance 0 leading, every one of
    them logged in to its AMI; afterwards the dialplan asks MASKING_AGI alone again."""
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
        try:
            site1, site2 = seed_live(service)
            instances.start()
            for instance in instances:
                wait_logged(instance.log, "AMI connected")
            instances.point(e2e.asterisk)
            yield Fleet(e2e, instances, service, site1, site2)
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
