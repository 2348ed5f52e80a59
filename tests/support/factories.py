"""Small helpers that seed a site, staff, pool and shipments through the domain."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from masking import accounts, sites
from masking import shipments as shipment_records
from masking.numbers import bindings
from masking.service import MaskingService


@functools.cache
def seeded_password_hash(password: str) -> str:
    """The scrypt hash of a seeded password, computed once per test run: a real hash that
    logins check as usual, without ~40 ms of scrypt per seeded account and test."""
    return accounts.hash_password(password)


@dataclass
class World:
    site_id: int
    owner_id: int
    employee_id: int
    manager_id: int


def seed_site(
    service: MaskingService,
    code: str = "pvz1",
    *,
    hours: str = "daily 09:00-21:00",
    pool: int = 0,
    shipments: int = 0,
    tz: str = "Europe/Moscow",
    first_number: int = 0,
) -> World:
    with service.db.session() as session:
        site = sites.create_site(
            session,
            code=code,
            name=f"Site {code}",
            timezone=tz,
            region="RU",
            hours=hours,
            ring_endpoints=[f"{code}-phone"],
        )
        owner = accounts.add_staff(
            session,
            login=f"{code}-owner",
            role="owner",
            site=site,
            endpoint=f"{code}-desk1",
        )
        # shorter than a password a person may set (accounts.MIN_PASSWORD_LENGTH): seeded
        owner.password_hash = seeded_password_hash("owner-pass")
        manager = accounts.add_staff(
            session,
            login=f"{code}-manager",
            role="staff_manager",
            site=site,
            endpoint=f"{code}-desk2",
        )
        employee = accounts.add_staff(
            session, login=f"{code}-emp", role="employee", site=site, endpoint=f"{code}-desk3"
        )
        for i in range(shipments):
            shipment_records.add_shipment(session, site, f"{code.upper()}-{i:05d}", customer(i))
        world = World(site.id, owner.id, employee.id, manager.id)
    if pool:
        bindings.add_pool_numbers(service, [virtual(first_number + i) for i in range(pool)], "RU")
    return world


def customer(i: int) -> str:
    return f"+7916{i:07d}"


def virtual(i: int) -> str:
    return f"+7495{i:07d}"
