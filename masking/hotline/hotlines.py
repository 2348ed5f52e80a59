"""Hotline DIDs: a brand's number, answered by one site's team through its Asterisk queue.

A hotline is configured twice, on purpose: here (``masking hotline add``: the DID, the
brand shown to agents, the team's queue, the region numbers are read in) and in the
dialplan (the DID routed to ``masking-hotline`` with the same queue as the fallback, see
``dialplan/README.md``), so that the caller still reaches the queue when the service is
down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from masking.service import MaskingService
from masking.shapes import AdminError, check_region, is_digits, is_endpoint
from masking.sites import get_site
from masking.storage.models import Hotline, Site

ON_FAILURE = ("queue", "prompt")
# shown on the agent's phone as "<brand> <code>" (caller ID name, at most 40 characters)
_BRAND = re.compile(r"^[^\W_][\w .-]{0,29}$")
_EMAIL = re.compile(r"^[^@\s,;<>\"']{1,100}@[A-Za-z0-9.-]{1,97}\.[A-Za-z]{2,}$")


@dataclass(frozen=True)
class HotlineInfo:
    """A hotline as listed (no customer data here at all)."""

    id: int
    did: str
    site: str  # the team's site code
    brand: str
    queue: str
    region: str
    support_email: str
    on_failure: str
    active: bool


def did_digits(did: str) -> str | None:
    """The DID as stored: digits only, without "+"; None when it is not 3-20 digits."""
    text = (did or "").strip()
    return text.lstrip("+") if is_digits(text) else None


def is_queue_name(name: str | None) -> bool:
    """An app_queue queue name the dialplan accepts (the shape of an endpoint name)."""
    return is_endpoint(name)


def _check(
    did: str, brand: str, queue: str, region: str, support_email: str, on_failure: str
) -> tuple[str, str, str, str, str, str]:
    digits = did_digits(did)
    if digits is None:
        raise AdminError("did: must be 3-20 digits, optionally with a leading +")
    brand = (brand or "").strip()
    if not _BRAND.match(brand):
        raise AdminError("brand: 1-30 letters, digits, spaces, '.', '-' or '_'")
    queue = (queue or "").strip()
    if not is_queue_name(queue):
        raise AdminError("queue: 1-64 letters, digits, '_', '.' or '-' (an app_queue name)")
    email = (support_email or "").strip()
    if email and not _EMAIL.match(email):
        raise AdminError("support_email: not an e-mail address")
    if on_failure not in ON_FAILURE:
        raise AdminError(f"on_failure: must be one of {', '.join(ON_FAILURE)}")
    return digits, brand, queue, check_region(region), email, on_failure


def add_hotline(
    service: MaskingService,
    site_code: str,
    did: str,
    *,
    brand: str,
    queue: str,
    region: str,
    support_email: str = "",
    on_failure: str = "queue",
) -> int:
    """Add a hotline DID for the team of ``site_code``; returns its id. A DID already
    used by a hotline is refused (:class:`AdminError`)."""
    digits, brand, queue, region, email, on_failure = _check(
        did, brand, queue, region, support_email, on_failure
    )
    try:
        with service.db.session() as session:
            site = get_site(session, site_code)
            if get_by_did(session, digits, active_only=False) is not None:
                raise AdminError(f"did: {digits} is already a hotline")
            hotline = Hotline(
                site_id=site.id,
                did=digits,
                brand=brand,
                queue=queue,
                region=region,
                support_email=email,
                on_failure=on_failure,
                active=True,
                created_at=service.clock(),
            )
            session.add(hotline)
            session.flush()
            return hotline.id
    except IntegrityError:
        raise AdminError(f"did: {digits} is already a hotline") from None


def set_active(service: MaskingService, did: str, active: bool) -> None:
    """Switch a hotline on or off (off: its callers hear a refusal prompt)."""
    digits = did_digits(did)
    with service.db.session() as session:
        hotline = get_by_did(session, digits or "", active_only=False)
        if hotline is None:
            raise AdminError(f"did: no hotline {did!r}")
        hotline.active = active


def get_by_did(session: Session, did: str, *, active_only: bool = True) -> Hotline | None:
    """The hotline of ``did`` ("+" and digits, as the dialplan passes it), if any."""
    digits = did_digits(did)
    if digits is None:
        return None
    query = select(Hotline).where(Hotline.did == digits)
    if active_only:
        query = query.where(Hotline.active.is_(True))
    return session.scalar(query)


def list_hotlines(service: MaskingService) -> list[HotlineInfo]:
    with service.db.session() as session:
        rows = session.execute(
            select(Hotline, Site.code).join(Site, Site.id == Hotline.site_id).order_by(Hotline.did)
        ).all()
        return [
            HotlineInfo(
                id=h.id,
                did=h.did,
                site=code,
                brand=h.brand,
                queue=h.queue,
                region=h.region,
                support_email=h.support_email,
                on_failure=h.on_failure,
                active=h.active,
            )
            for h, code in rows
        ]


def dialplan_sample(info: HotlineInfo) -> str:
    """The lines an Asterisk admin adds for this hotline (see ``dialplan/README.md``):
    the DID to the hotline context, with the same queue as the fallback."""
    lines = [
        f"; hotline {info.brand} ({info.site}): in the carrier trunk's context",
        f"exten => {info.did},1,Set(MASKING_HOTLINE_QUEUE={info.queue})",
        f" same => n,Set(MASKING_HOTLINE_ON_FAILURE={info.on_failure})",
        " same => n,Goto(masking-hotline,${EXTEN},1)",
    ]
    return "\n".join(lines)
