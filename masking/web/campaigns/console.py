"""``/campaigns``: the campaigns a person may see, a campaign's worklist (live, each order
saying in words why it is not due and until when), the progressive dialing panel, an
order with its attempts and outcome forms, and the day report. The Call / Next buttons
and the live refresh use the API (``/static/campaigns.js``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from masking.policy import Action, may
from masking.states import WaitReason
from masking.web import formatting, i18n
from masking.web.auth import Principal, Service, check_csrf
from masking.web.campaigns import service as campaigns
from masking.web.errors import ApiError, bad_input
from masking.web.pages import act, fetch, flash_redirect, render, who

router = APIRouter(include_in_schema=False)

PAGE = 50
LIVE_SECONDS = 10  # the worklist refreshes itself this often
SESSION_LIVE_SECONDS = 3  # and this often while a dial session is open


# ---- words -------------------------------------------------------------------------------
def _moment(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _fill(key: str, lang: str, **values: str) -> str:
    return i18n.text(key, lang).format(**values)


def clock_words(moment: datetime, lang: str, tz: ZoneInfo, now: datetime, form: str) -> str:
    """``moment`` as a phrase needs it, on the site's clock: "в 17:00", "завтра в 09:00",
    "until 2026-11-21 09:00" (``form``: ``at`` or ``until``)."""
    local = moment.astimezone(tz)
    today = now.astimezone(tz).date()
    hm = local.strftime("%H:%M")
    if local.date() == today:
        return _fill(f"{form}_today", lang, hm=hm)
    if local.date() == today + timedelta(days=1):
        return _fill(f"{form}_tomorrow", lang, hm=hm)
    return _fill(f"{form}_date", lang, hm=hm, date=local.date().isoformat())


def window_label(name: str | None, lang: str) -> str:
    return formatting.label("win_", name, lang)


def _opens_window(row: Mapping[str, Any], until: datetime, policy: Mapping[str, Any]) -> bool:
    """Whether ``until`` is the opening of the row's window (customer-local)."""
    start = next(
        (w["start"] for w in policy.get("windows", []) if w["name"] == row["window"]), None
    )
    tz = _zone(row.get("customer_tz") or "UTC")
    return start is not None and until.astimezone(tz).strftime("%H:%M") == start


def _customer_clock(row: Mapping[str, Any], moment: datetime, site: ZoneInfo, lang: str) -> str:
    """ " (09:00 customer's time)" when the customer's clock differs from the site's."""
    customer = _zone(row.get("customer_tz") or site.key)
    theirs, ours = moment.astimezone(customer), moment.astimezone(site)
    if theirs.utcoffset() == ours.utcoffset():
        return ""
    return " (" + _fill("customer_clock", lang, hm=theirs.strftime("%H:%M")) + ")"


def why_words(
    row: Mapping[str, Any],
    lang: str,
    tz: ZoneInfo,
    now: datetime,
    policy: Mapping[str, Any],
) -> str:
    """Why the order is not dialable now and until when, in ``lang`` on the site's clock
    ("gap until 14:10", "evening window opens at 17:00", "callback at 15:30 (Ivan's
    until 15:45)"); for a dialable one, that it is due (and in which window)."""
    callback = row.get("callback") or None
    if row.get("dialable"):
        if callback and (_moment(callback.get("at")) or now) <= now:
            return i18n.text("due_callback", lang)
        if row.get("window"):
            return _fill("due_now_window", lang, window=window_label(row["window"], lang))
        return i18n.text("due_now", lang)
    reason = row.get("reason")
    until = _moment(row.get("until"))
    if reason == WaitReason.DONE:
        return i18n.text("why_done", lang)
    if reason == WaitReason.DIALING:
        return i18n.text("why_dialing", lang)
    if reason in (WaitReason.CALLBACK, WaitReason.CALLBACK_OWNED) and callback:
        agreed = _moment(callback.get("at"))
        if agreed is not None:
            when = clock_words(agreed, lang, tz, now, "at")
            owner = callback.get("owner_name") or callback.get("owner")
            handover = int(policy.get("callback_handover_minutes") or 0)
            if owner and handover > 0:
                end = agreed + timedelta(minutes=handover)
                till = clock_words(end, lang, tz, now, "until")
                return _fill("why_callback_owner", lang, at=when, owner=owner, until=till)
            return _fill("why_callback", lang, at=when)
    if until is None:
        return f"{formatting.label('wr_', reason, lang)}: {i18n.text('why_never', lang)}"
    at = clock_words(until, lang, tz, now, "at")
    till = clock_words(until, lang, tz, now, "until")
    theirs = _customer_clock(row, until, tz, lang)
    opens = ""
    if row.get("window") and _opens_window(row, until, policy):
        opens = _fill("why_window", lang, window=window_label(row["window"], lang), at=at)
        opens += theirs
    if reason in (WaitReason.WINDOW_DONE, WaitReason.WINDOW_CLOSED) and opens:
        return opens
    if reason == WaitReason.GAP:
        words = _fill("why_gap", lang, until=till)
    elif reason == WaitReason.BUSY_RETRY:
        words = _fill("why_busy_retry", lang, at=at)
    elif reason == WaitReason.CENTRE_CLOSED:
        words = _fill("why_centre_closed", lang, until=till)
    elif reason == WaitReason.DAILY_CAP:
        return _fill("why_daily_cap", lang, at=at) + theirs
    elif reason in (WaitReason.CALLBACK, WaitReason.CALLBACK_OWNED):
        return _fill("why_callback", lang, at=at)
    else:
        return _fill("why_not_before", lang, at=at) + theirs
    if opens:
        # the rule's own end comes before the next window: name both
        return f"{formatting.label('wr_', reason, lang)}; {opens}"
    return words


def empty_words(result: Mapping[str, Any], lang: str, tz: ZoneInfo, now: datetime) -> str:
    """Why nothing is due: no order matches the rule (since when), or each waits (counts by
    reason and when the next call becomes possible)."""
    if not result.get("total"):
        since = _moment(result["campaign"].get("since"))
        shown = formatting.local_time(since, tz.key) if since else ""
        return _fill("cmp_empty_none", lang, since=shown)
    counts = result.get("counts") or {}
    order = [r.value for r in WaitReason]
    parts = [
        f"{formatting.label('wr_', reason, lang)} — {count}"
        for reason, count in sorted(
            counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99
        )
        if count
    ]
    text = _fill("cmp_empty_waiting", lang, reasons="; ".join(parts) or "—")
    earliest = _moment(result.get("earliest_until"))
    if earliest is not None:
        text += " " + _fill("cmp_empty_next", lang, at=clock_words(earliest, lang, tz, now, "at"))
    return text


def idle_words(view: Mapping[str, Any], lang: str, tz: ZoneInfo, now: datetime) -> str:
    """Why the dial session does not call now, in words."""
    if view.get("note_due"):
        return i18n.text("idle_note_due", lang)
    reason = view.get("idle_reason")
    if not reason:
        return i18n.text("ds_idle_none", lang)
    if reason.startswith("refused_"):
        code = reason.removeprefix("refused_")
        return _fill("idle_refused", lang, why=formatting.label("deny_", code, lang))
    if reason in {r.value for r in WaitReason}:
        label = formatting.label("wr_", reason, lang)
        until = _moment(view.get("idle_until"))
        if until is None:
            return _fill("idle_wait_unknown", lang, reason=label)
        return _fill("idle_wait", lang, reason=label, at=clock_words(until, lang, tz, now, "at"))
    return formatting.label("idle_", reason, lang)


def policy_words(policy: Mapping[str, Any], lang: str) -> str:
    windows = ", ".join(
        f"{window_label(w['name'], lang)} {w['start']}–{w['end']}" for w in policy["windows"]
    )
    return _fill(
        "cmp_policy_text",
        lang,
        windows=windows,
        gap=formatting.duration(policy["min_gap_minutes"] * 60, lang),
        cap=str(policy["daily_cap"]),
        busy=formatting.duration(policy["busy_retry_minutes"] * 60, lang),
    )


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


# ---- pages -------------------------------------------------------------------------------
@router.get("/campaigns")
def campaigns_page(request: Request, service: Service, site: str = "") -> Response:
    p = who(request)
    result: dict[str, Any]
    result, error = fetch(
        lambda: campaigns.list_campaigns(service, p, site=site or None),
        {"site": site or p.site_code, "campaigns": []},
    )
    lang = i18n.lang_of(request)
    for c in result["campaigns"]:
        c["policy_text"] = policy_words(c["policy"], lang)
    return render(
        request,
        "campaigns.html",
        p,
        result=result,
        error=error,
        query={"site": site},
        tz=campaigns.site_zone(service, result.get("site") or p.site_code),
    )


def _session_words(
    session: dict[str, Any] | None, lang: str, tz: ZoneInfo, now: datetime
) -> dict[str, Any] | None:
    if session is not None:
        session["idle_text"] = idle_words(session, lang, tz, now)
    return session


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    request: Request, service: Service, campaign_id: int, offset: int = 0
) -> Response:
    p = who(request)
    offset = max(0, offset)
    lang = i18n.lang_of(request)
    result, error = fetch(
        lambda: campaigns.worklist_view(service, p, campaign_id, limit=PAGE, offset=offset),
        None,
    )
    if result is None:
        return render(
            request,
            "campaign.html",
            p,
            status=error.status if error else 404,
            result=None,
            error=error,
        )
    head = result["campaign"]
    tz_name = campaigns.site_zone(service, head["site"])
    tz = _zone(tz_name)
    now = service.clock()
    for row in result["orders"]:
        row["why"] = why_words(row, lang, tz, now, head["policy"])
    session = campaigns.my_session(service, p, campaign_id) if head["may_work"] else None
    detail: dict[str, Any] | None = None
    if may(p.role, Action.MANAGE_CAMPAIGNS):
        detail, _ = fetch(lambda: campaigns.campaign_detail(service, p, campaign_id), None)
    return render(
        request,
        "campaign.html",
        p,
        result=result,
        head=head,
        detail=detail,
        error=error,
        offset=offset,
        tz=tz_name,
        now=now.isoformat(),
        policy_text=policy_words(head["policy"], lang),
        empty_text=empty_words(result, lang, tz, now) if not result.get("due") else "",
        session=_session_words(session, lang, tz, now),
        live=SESSION_LIVE_SECONDS if session else LIVE_SECONDS,
        more_url=f"/campaigns/{campaign_id}?" + urlencode({"offset": offset + PAGE}),
    )


@router.get("/campaigns/{campaign_id}/report")
def report_page(
    request: Request, service: Service, campaign_id: int, day: date | None = None
) -> Response:
    p = who(request)
    result, error = fetch(lambda: campaigns.day_report(service, p, campaign_id, day), None)
    shown_day = result["day"] if result else (day.isoformat() if day else "")
    return render(
        request,
        "campaign_report.html",
        p,
        status=200 if error is None else error.status,
        result=result,
        error=error,
        campaign_id=campaign_id,
        day=shown_day,
        csv_url=f"/api/v1/campaigns/{campaign_id}/report?"
        + urlencode({"day": shown_day, "format": "csv"}),
    )


@router.get("/orders/{order_id}")
def order_page(request: Request, service: Service, order_id: int) -> Response:
    p = who(request)
    lang = i18n.lang_of(request)
    order, error = fetch(lambda: campaigns.order_detail(service, p, order_id), None)
    tz_name = campaigns.site_zone(service, order["site"] if order else None)
    now = service.clock()
    if order is not None:
        row = {
            **order["verdict"],
            "callback": order["callback"],
            "customer_tz": order["customer_tz"],
        }
        order["why"] = why_words(row, lang, _zone(tz_name), now, order["policy"])
    return render(
        request,
        "campaign_order.html",
        p,
        status=200 if error is None else error.status,
        order=order,
        error=error,
        tz=tz_name,
        back=request.query_params.get("campaign", ""),
    )


# ---- forms -------------------------------------------------------------------------------
def _order_url(order_id: int, campaign: str) -> str:
    return f"/orders/{order_id}" + (f"?campaign={campaign}" if campaign.isdigit() else "")


@router.post("/orders/{order_id}/outcome")
def outcome(
    request: Request,
    service: Service,
    order_id: int,
    outcome: str = Form("", max_length=20),
    note: str = Form("", max_length=4000),
    campaign: str = Form("", max_length=20),
    csrf: str = Form("", max_length=100),
) -> Response:
    """Confirmed / Not confirmed, with the required note (refusals worded by the rule)."""

    def run(p: Principal) -> object:
        if outcome == "confirm":
            return campaigns.confirm(service, p, order_id, note)
        if outcome == "decline":
            return campaigns.decline(service, p, order_id, note)
        raise bad_input("outcome: confirm or decline")

    return act(request, csrf, _order_url(order_id, campaign), run)


def _local_moment(value: str, tz: str) -> datetime:
    """A ``datetime-local`` field, read on the site's clock."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise bad_input("at: a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_zone(tz))


@router.post("/orders/{order_id}/callback")
def callback(
    request: Request,
    service: Service,
    order_id: int,
    at: str = Form("", max_length=40),
    campaign: str = Form("", max_length=20),
    csrf: str = Form("", max_length=100),
) -> Response:
    def run(p: Principal) -> object:
        tz = campaigns.site_zone(service, p.site_code)
        return campaigns.set_callback(service, p, order_id, _local_moment(at, tz))

    return act(request, csrf, _order_url(order_id, campaign), run)


@router.post("/orders/{order_id}/payment-details")
def payment_details(
    request: Request,
    service: Service,
    order_id: int,
    campaign: str = Form("", max_length=20),
    csrf: str = Form("", max_length=100),
) -> Response:
    return act(
        request,
        csrf,
        _order_url(order_id, campaign),
        lambda p: campaigns.resend_payment_details(service, p, order_id),
    )


@router.post("/orders/{order_id}/note")
def order_note(
    request: Request,
    service: Service,
    order_id: int,
    text: str = Form("", max_length=4000),
    campaign: str = Form("", max_length=20),
    csrf: str = Form("", max_length=100),
) -> Response:
    return act(
        request,
        csrf,
        _order_url(order_id, campaign),
        lambda p: campaigns.add_note(service, p, order_id, text),
    )


@router.post("/campaigns/{campaign_id}/sessions")
def start_session(
    request: Request, service: Service, campaign_id: int, csrf: str = Form("", max_length=100)
) -> Response:
    return act(
        request,
        csrf,
        f"/campaigns/{campaign_id}#session",
        lambda p: campaigns.start_session(service, p, campaign_id),
    )


def _session_form(
    request: Request, csrf: str, campaign: str, action: Callable[[Principal], object]
) -> Response:
    url = f"/campaigns/{campaign}#session" if campaign.isdigit() else "/campaigns"
    return act(request, csrf, url, action)


@router.post("/dial-sessions/{session_id}/{action}")
def session_action(
    request: Request,
    service: Service,
    session_id: str,
    action: str,
    text: str = Form("", max_length=4000),
    campaign: str = Form("", max_length=20),
    csrf: str = Form("", max_length=100),
) -> Response:
    """Pause / resume / stop, or the note of the last call."""

    def run(p: Principal) -> object:
        if action == "note":
            return campaigns.session_note(service, p, session_id, text)
        if action in ("pause", "resume", "stop"):
            return campaigns.act_on_session(service, p, session_id, action)
        raise ApiError(404, "not_found", "no such action")

    return _session_form(request, csrf, campaign, run)


@router.post("/campaigns/new")
def save_campaign(
    request: Request,
    service: Service,
    site: str = Form("", max_length=64),
    code: str = Form("", max_length=64),
    title: str = Form("", max_length=200),
    tz: str = Form("", max_length=64),
    payment_methods: str = Form("", max_length=400),
    statuses: str = Form("", max_length=400),
    stores: str = Form("", max_length=1000),
    csrf: str = Form("", max_length=100),
) -> Response:
    """A manager creates (or changes) a campaign; the rule's lists are comma-separated."""
    p = who(request)
    body = {
        "site": site,
        "code": code,
        "title": title,
        "tz": tz,
        "payment_methods": payment_methods,
        "statuses": statuses,
        "stores": stores,
    }
    try:
        check_csrf(request, csrf)
        view, _ = campaigns.save_campaign(service, p, body)
    except ApiError as exc:
        return flash_redirect(request, "/campaigns", err=exc)
    return flash_redirect(request, f"/campaigns/{view['id']}", ok="saved")


@router.post("/campaigns/{campaign_id}/assign")
def assign(
    request: Request,
    service: Service,
    campaign_id: int,
    staff: str = Form("", max_length=100),
    starts_on: str = Form("", max_length=10),
    ends_on: str = Form("", max_length=10),
    csrf: str = Form("", max_length=100),
) -> Response:
    body = {"staff": staff, "starts_on": starts_on, "ends_on": ends_on or None}
    return act(
        request,
        csrf,
        f"/campaigns/{campaign_id}#assignments",
        lambda p: campaigns.assign(service, p, campaign_id, body),
    )
