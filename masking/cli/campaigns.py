"""``masking order ...`` and ``masking campaign ...``: orders to confirm by phone, the
campaigns over them, who works them, the worklist and the day report."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import select

from masking.campaigns import orders, worklist
from masking.cli.common import JsonOpt, emit, fail, read_text, service_scope
from masking.sites import get_site
from masking.storage.models import Campaign, Staff

order_app = typer.Typer(no_args_is_help=True, help="Orders to confirm by phone.")
campaign_app = typer.Typer(
    no_args_is_help=True, help="Confirmation campaigns: rule, assignment, worklist, report."
)


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name}: {value!r} is not a date (use YYYY-MM-DD)")


def _policy(value: str | None) -> dict[str, Any] | None:
    """``--policy`` as JSON text or ``@file``."""
    if value is None:
        return None
    text = read_text(Path(value[1:])) if value.startswith("@") else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"policy: not JSON ({exc.msg} at line {exc.lineno})")
    if not isinstance(data, dict):
        fail("policy: a JSON object")
    return data


@order_app.command("import")
def order_import(
    site: str,
    path: Path,
    source: Annotated[str, typer.Option("--source", help="The shop's system that sent them.")],
) -> None:
    """Import a CSV (order_id,status,payment_method,store,created_at,phone,timezone). All
    or nothing: a bad row aborts with its line number. A known order is updated; a changed
    phone revokes its live temporary number."""
    text = read_text(path)
    with service_scope() as service:
        report = orders.import_csv(service, site, text, source)
    typer.echo(f"{report.added} orders added, {report.skipped} known (updated where changed)")


@campaign_app.command("save")
def campaign_save(
    site: str,
    code: str,
    tz: Annotated[str, typer.Option("--tz", help="Where 'yesterday' and 'Monday' are.")],
    payment_method: Annotated[
        list[str] | None, typer.Option("--payment-method", help="Repeat; none: any.")
    ] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="Repeat; none: any.")] = None,
    store: Annotated[list[str] | None, typer.Option("--store", help="Repeat; none: any.")] = None,
    title: Annotated[str, typer.Option("--title")] = "",
    lookback_days: Annotated[
        int, typer.Option("--lookback-days", help="1: orders from yesterday on.")
    ] = 1,
    monday_from_friday: Annotated[
        bool, typer.Option("--monday-from-friday/--no-monday-from-friday")
    ] = True,
    policy: Annotated[
        str | None,
        typer.Option("--policy", help="Attempt policy as JSON or @file; omitted: keep it."),
    ] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Switch the campaign off.")] = False,
) -> None:
    """Create or update a campaign: the saved rule over the site's orders and its attempt
    policy (windows, gap, daily cap, busy retry, callback hand-over)."""
    with service_scope() as service:
        campaign_id = worklist.save_campaign(
            service,
            site,
            code,
            title=title,
            tz=tz,
            payment_methods=payment_method or [],
            statuses=status or [],
            stores=store or [],
            lookback_days=lookback_days,
            monday_from_friday=monday_from_friday,
            policy=_policy(policy),
            active=not inactive,
        )
    typer.echo(f"campaign {code} of {site} saved (id {campaign_id})")


@campaign_app.command("assign")
def campaign_assign(
    site: str,
    code: str,
    login: str,
    starts: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    ends: Annotated[
        str | None, typer.Option("--to", help="Last day, inclusive (default: a week).")
    ] = None,
) -> None:
    """Give the campaign to one employee for a period (a week by default)."""
    first = _day(starts, "from")
    last = _day(ends, "to") if ends else first + timedelta(days=worklist.DEFAULT_PERIOD_DAYS - 1)
    with service_scope() as service:
        with service.db.session() as session:
            campaign_id = worklist.find_campaign(session, site, code).id
            staff_id = session.scalar(select(Staff.id).where(Staff.login == login))
        if staff_id is None:
            fail(f"login: no staff member {login!r}")
        worklist.assign(service, campaign_id, staff_id, first, last)
    typer.echo(f"campaign {code} of {site} assigned to {login} from {first} to {last}")


@campaign_app.command("list")
def campaign_list(
    site: Annotated[str | None, typer.Argument(help="Site code; omitted: every site.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Campaigns, who works each today and how many orders its list holds now."""
    rows: list[dict[str, Any]] = []
    with service_scope() as service:
        now = service.clock()
        with service.db.session() as session:
            query = select(Campaign).order_by(Campaign.site_id, Campaign.code)
            if site is not None:
                query = query.where(Campaign.site_id == get_site(session, site).id)
            for campaign in session.scalars(query):
                today = worklist.campaign_today(campaign, now)
                staff_id = worklist.assignee_on(session, campaign.id, today)
                staff = session.get(Staff, staff_id) if staff_id is not None else None
                rows.append(
                    {
                        "id": campaign.id,
                        "site": campaign.site.code,
                        "code": campaign.code,
                        "title": campaign.title,
                        "payment_methods": ",".join(campaign.payment_methods) or "any",
                        "statuses": ",".join(campaign.statuses) or "any",
                        "stores": ",".join(campaign.stores) or "any",
                        "active": campaign.active,
                        "assignee_today": staff.login if staff else None,
                        "in_list": worklist.list_size(session, campaign, now),
                    }
                )
    if not as_json:  # the rule's details are in --json
        short = ("id", "site", "code", "active", "assignee_today", "in_list")
        rows = [{k: row[k] for k in short} for row in rows]
    emit(rows, as_json, "Campaigns")


def _local(moment: Any, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


@campaign_app.command("worklist")
def campaign_worklist(
    site: str,
    code: str,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    offset: Annotated[int, typer.Option("--offset")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """The campaign's list now, newest first: each order dialable now, or why not and
    until when (times in the campaign's zone), and the counts by reason."""
    with service_scope() as service:
        with service.db.session() as session:
            campaign = worklist.find_campaign(session, site, code)
        page = worklist.worklist(service, campaign.id, service.clock(), offset=offset, limit=limit)
    tz = ZoneInfo(campaign.tz)
    rows = [
        {
            "order": r.external_ref,
            "status": r.status,
            "payment": r.payment_method,
            "store": r.store,
            "created": _local(r.created_at, tz),
            "attempts_today": r.attempts_today,
            "last_outcome": r.last_outcome,
            "now": "dialable" if r.verdict.dialable else (r.verdict.reason or ""),
            "until": "" if r.verdict.dialable else _local(r.verdict.until, tz),
            "window": r.verdict.window,
        }
        for r in page.rows
    ]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "campaign": code,
                    "total": page.total,
                    "counts": page.counts,
                    "earliest": page.earliest.isoformat() if page.earliest else None,
                    "earliest_reason": page.earliest_reason,
                    "rows": rows,
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(page.counts.items())) or "empty"
    short = [
        {
            "order": r.external_ref,
            "created": _local(r.created_at, tz)[5:],
            "today": r.attempts_today,
            "last": r.last_outcome,
            "now": "dialable"
            if r.verdict.dialable
            else f"{r.verdict.reason} until {_local(r.verdict.until, tz)[5:] or '?'}",
        }
        for r in page.rows
    ]
    emit(short, False, f"{code} of {site}: {page.total} orders ({counts})")


@campaign_app.command("report")
def campaign_report(
    site: str,
    code: str,
    day: Annotated[str, typer.Option("--day", help="The day (YYYY-MM-DD), campaign's zone.")],
    as_json: JsonOpt = False,
) -> None:
    """The day: orders in the list, attempts, reached, confirmed, three attempts in three
    windows, skipped and why."""
    wanted = _day(day, "day")
    with service_scope() as service:
        with service.db.session() as session:
            campaign_id = worklist.find_campaign(session, site, code).id
        result = worklist.day_report(service, campaign_id, wanted)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    rows = [
        {"measure": k, "value": json.dumps(v) if isinstance(v, dict) else v}
        for k, v in result.items()
    ]
    emit(rows, False, f"{code} of {site} on {wanted}")
