"""Two seeded sites for the API and console tests (Redis + SQLite/PostgreSQL), a token
per role, a recorded call per site, and the HTTP layer's originator double."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from masking import accounts, shipments, sites
from masking.service import MaskingService
from masking.states import Direction, Disposition
from masking.storage.models import CallRecord, new_id
from tests.support.audio import write_wav
from tests.support.factories import seed_site, seeded_password_hash, virtual

SITES = ("pvz1", "pvz2")
ROLES = ("owner", "staff_manager", "employee", "employee_visible", "admin", "qa")


def customer_of(site: str, i: int) -> str:
    # distinct customers per site, so a leak from either site is recognisable
    return f"+7916{(100 if site == 'pvz2' else 0) + i:07d}"


@dataclass
class Seeded:
    service: MaskingService
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token (site pvz1)
    logins: dict[str, str] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)  # site -> call id with a recording
    customers: list[str] = field(default_factory=list)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}

    def shipment(self, site: str, i: int = 0) -> str:
        return f"{site.upper()}-{i:05d}"


def seed_world(service: MaskingService, *, pool: int = 20) -> Seeded:
    seeded = Seeded(service)
    for index, code in enumerate(SITES):
        seed_site(service, code, pool=pool if index == 0 else 0)
        with service.db.session() as session:
            site = sites.get_site(session, code)
            for i in range(3):
                shipments.add_shipment(
                    session, site, f"{code.upper()}-{i:05d}", customer_of(code, i)
                )
                seeded.customers.append(customer_of(code, i))
            accounts.add_staff(
                session,
                login=f"{code}-empvis",
                role="employee",
                site=site,
                endpoint=f"{code}-desk4",
                visible=True,
            ).password_hash = seeded_password_hash("empvis-pass")
            emp = accounts.get_staff(session, f"{code}-emp")
            emp.password_hash = seeded_password_hash("emp-pass")
            # an answered call with a recording on disk, made by the site's employee
            started = service.clock() - timedelta(days=2)
            call_id = new_id()
            rel = f"{started:%Y/%m/%d}/{call_id}.wav"
            size = write_wav(service.settings.effective_recordings_dir / rel)
            session.add(
                CallRecord(
                    id=call_id,
                    direction=Direction.OUTBOUND,
                    site_id=site.id,
                    staff_id=emp.id,
                    reason_code="item_found_later",
                    virtual_number=virtual(0),
                    started_at=started,
                    answered_at=started + timedelta(seconds=5),
                    ended_at=started + timedelta(seconds=65),
                    disposition=Disposition.ANSWERED,
                    status="ended",
                    bridged_seconds=60,
                    recording_file=rel,
                    recording_bytes=size,
                )
            )
            seeded.calls[code] = call_id
    with service.db.session() as session:
        site = sites.get_site(session, "pvz1")
        # seeded hashes: shorter than a password a person may set (MIN_PASSWORD_LENGTH)
        for login, role in (("root", "admin"), ("qa1", "qa")):
            accounts.add_staff(
                session, login=login, role=role, site=None
            ).password_hash = seeded_password_hash(f"{role}-pass")
        logins = {
            "owner": "pvz1-owner",
            "staff_manager": "pvz1-manager",
            "employee": "pvz1-emp",
            "employee_visible": "pvz1-empvis",
            "admin": "root",
            "qa": "qa1",
        }
        for role, login in logins.items():
            seeded.tokens[role] = accounts.issue_token(accounts.get_staff(session, login))
        seeded.logins = logins
    return seeded


class RecordingOriginator:
    """Test double for the HTTP layer only: remembers what it was asked to ring."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, str]] = []
        self.fail = fail

    async def originate_click2call(self, *, call_id: str, endpoint: str, label: str) -> None:
        self.calls.append({"call_id": call_id, "endpoint": endpoint, "label": label})
        if self.fail:
            raise ConnectionError("AMI is down")
