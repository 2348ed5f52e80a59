"""Item search, reveal and click-to-call on behalf of a :class:`Principal`.

None returns a customer's real number; the temporary number only to people who may see it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from masking.calls import call_log
from masking.calls.click2call import prepare_click2call
from masking.calls.contract import Originator
from masking.refusals import Refusal, Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.sites import schedule_of
from masking.states import Disposition
from masking.storage.models import Binding, Shipment, Site
from masking.web.auth import Principal
from masking.web.calls.service import get_call
from masking.web.errors import ApiError, forbidden, refusal, refused
from masking.web.lookups import check_reason_code, check_shipment, iso
from masking.web.reasons.service import reason_views


def search_item(service: MaskingService, p: Principal, shipment_number: str) -> dict[str, Any]:
    number = check_shipment(shipment_number)
    if p.site_id is None:
        raise forbidden("item search is for the staff of a pickup point")
    now = service.clock()
    with service.db.session() as session:
        site = session.get(Site, p.site_id)
        assert site is not None
        shipment = session.scalar(
            select(Shipment).where(Shipment.site_id == site.id, Shipment.external_number == number)
        )
        if shipment is None:
            if session.scalar(select(Shipment.id).where(Shipment.external_number == number)):
                raise refusal(Refusal.OTHER_SITE)
            raise refusal(Refusal.UNKNOWN_SHIPMENT)
        live = session.scalar(
            select(Binding)
            .where(
                Binding.shipment_id == shipment.id,
                Binding.site_id == site.id,
                Binding.expires_at > now,
                Binding.revoked_at.is_(None),
            )
            .order_by(Binding.created_at.desc())
            .limit(1)
        )
        return {
            "shipment": shipment.external_number,
            "status": shipment.status,
            "site": site.code,
            "live_number": live is not None,
            "live_until": iso(live.expires_at) if live else None,
            "may_reveal": p.sees_numbers and not site.suspended,
            "site_suspended": site.suspended,
            "site_open": schedule_of(site).is_open(now),
            "reasons": reason_views(session),
        }


def reveal_item(
    service: MaskingService, p: Principal, shipment_number: str, reason: str, channel: str = "api"
) -> dict[str, Any]:
    number = check_shipment(shipment_number)
    check_reason_code(reason)
    try:
        result = reveal_number(
            service, staff_id=p.id, shipment_number=number, reason=reason, channel=channel
        )
    except Refused as exc:
        raise refused(exc) from None
    return {
        "shipment": result.shipment_number,
        "temporary_number": result.virtual_number,
        "expires_at": iso(result.expires_at),
        "reason": result.reason,
        "binding_id": result.binding_id,
        "new": result.new,
    }


async def start_call(
    service: MaskingService,
    p: Principal,
    originator: Originator | None,
    shipment_number: str,
    reason: str,
    channel: str = "api",
    case_id: str | None = None,
) -> dict[str, Any]:
    number = check_shipment(shipment_number)
    check_reason_code(reason)
    if p.site_id is None:
        raise refusal(Refusal.NOT_ALLOWED, "click-to-call is for the staff of a pickup point")
    if originator is None:
        raise ApiError(503, "click_to_call_unavailable", "the telephone connection is not set up")
    try:
        call_id, endpoint = await run_in_threadpool(
            partial(
                prepare_click2call,
                service,
                staff_id=p.id,
                shipment_number=number,
                reason=reason,
                channel=channel,
                case_id=case_id,
            )
        )
    except Refused as exc:
        raise refused(exc) from None
    try:
        await originator.originate_click2call(
            call_id=call_id, endpoint=endpoint, label=f"Order {number}"[:40]
        )
    except Exception as exc:
        await run_in_threadpool(
            call_log.mark_ended, service, call_id, service.clock(), Disposition.FAILED
        )
        raise ApiError(
            502, "call_failed", "your desk phone could not be rung; try again", call_id=call_id
        ) from exc
    return get_call(service, p, call_id)
