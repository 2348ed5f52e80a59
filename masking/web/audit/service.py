"""The reveal audit on behalf of an admin (every site) or an owner (their site)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from masking.policy import Action
from masking.service import MaskingService
from masking.storage.models import RevealAudit, Site, Staff
from masking.web.auth import Principal, need
from masking.web.calls.service import shown_number
from masking.web.lookups import check_login, check_page, iso, site_for


def list_audit(
    service: MaskingService,
    p: Principal,
    *,
    site: str | None,
    staff: str | None,
    granted: bool | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    need(p, Action.SEE_AUDIT, "only admins and owners see the reveal audit")
    check_page(limit, offset, 500)
    with service.db.session() as session:
        target = site_for(session, p, site, required=False)
        query = (
            select(RevealAudit, Staff.login, Site)
            .outerjoin(Staff, Staff.id == RevealAudit.staff_id)
            .outerjoin(Site, Site.id == RevealAudit.site_id)
        )
        if target is not None:
            query = query.where(RevealAudit.site_id == target.id)
        if staff:
            check_login("staff", staff)
            query = query.where(Staff.login == staff)
        if granted is not None:
            query = query.where(RevealAudit.granted.is_(granted))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(RevealAudit.at.desc(), RevealAudit.id.desc()).limit(limit).offset(offset)
        ).all()
        return {
            "total": total,
            "entries": [
                {
                    "at": iso(a.at),
                    "staff": login,
                    "site": at_site.code if at_site else None,
                    "shipment": a.shipment_number,
                    "reason": a.reason_code,
                    "granted": a.granted,
                    "refusal": a.refusal,
                    "temporary_number": shown_number(p, at_site, a.virtual_number),
                    "channel": a.channel,
                }
                for a, login, at_site in rows
            ],
        }
