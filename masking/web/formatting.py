"""How the console shows values: codes as labels, durations with units, times in the
site's time zone with the zone named. Installed as Jinja filters that read the page's
``lang`` from the template context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from sqlalchemy import select

from masking.policy import Action, may
from masking.storage.models import Site
from masking.web import i18n

_UNITS = {  # hours, minutes, seconds
    "h": i18n.Text("ч", "h", "год"),
    "min": i18n.Text("мин", "min", "хв"),
    "s": i18n.Text("с", "s", "с"),
}


def _lang(context: Context) -> str:
    lang = context.get("lang")
    return lang if isinstance(lang, str) else i18n.DEFAULT_LANG


def duration(seconds: int | float | None, lang: str) -> str:
    """``65`` -> "1 min 5 s" ("1 мин 5 с"); None -> ""."""
    if seconds is None:
        return ""
    hours_u, minutes_u, seconds_u = (i18n.pick(_UNITS[u], lang) for u in ("h", "min", "s"))
    left = max(0, round(seconds))
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    parts = [f"{hours} {hours_u}"] if hours else []
    if minutes:
        parts.append(f"{minutes} {minutes_u}")
    if secs or not parts:
        parts.append(f"{secs} {seconds_u}")
    return " ".join(parts[:2])


def _zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _parse(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_time(value: str | datetime | None, tz: str | None) -> str:
    """The moment on the site's wall clock, "2026-11-23 14:05"."""
    moment = _parse(value)
    return moment.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M") if moment else ""


def zone_name(tz: str | None, at: str | datetime | None = None) -> str:
    """The zone as a person reads it: "Europe/Moscow, UTC+03:00"."""
    zone = _zone(tz)
    moment = (_parse(at) or datetime.now(UTC)).astimezone(zone)
    offset = moment.strftime("%z")
    return f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"


def label(prefix: str, code: str | None, lang: str) -> str:
    """The i18n label of ``prefix + code``, or the code itself when there is none."""
    if not code:
        return ""
    key = prefix + code
    return i18n.text(key, lang) if key in i18n.TEXT else code


def reason_label(code: str | None, lang: str) -> str:
    """A default reason's title in ``lang`` (masking.reasons.DEFAULT_REASONS); another
    code as is."""
    return label("rs_", code, lang)


def reason_title(reason: dict[str, Any], lang: str) -> str:
    """The title of a reason as the reasons list gives it (``code``, ``title_ru``,
    ``title_en``): its own Russian or English title; in Ukrainian, a default reason's
    Ukrainian title, any other reason's English one."""
    if lang == "ru":
        return str(reason.get("title_ru") or reason.get("code") or "")
    key = "rs_" + str(reason.get("code"))
    if lang == "uk" and key in i18n.TEXT:
        return i18n.text(key, lang)
    return str(reason.get("title_en") or reason.get("code") or "")


def time_left(minutes: int | float | None, lang: str) -> str:
    """Minutes to a deadline: "3 h 5 min", or "overdue 20 min" when negative."""
    if minutes is None:
        return ""
    text = duration(abs(minutes) * 60, lang) if abs(minutes) >= 1 else duration(0, lang)
    return text if minutes >= 0 else f"{i18n.text('overdue', lang)} {text}"


def _zone_of(context: Context, code: str | None) -> str:
    """The time zone of site ``code`` (the viewer's site, else the service's default),
    read once per request."""
    request = context.get("request")
    if request is None:
        return "UTC"
    service = request.app.state.service
    zones: dict[str, str] | None = getattr(request.state, "site_zones", None)
    if zones is None:
        with service.db.session() as session:
            zones = {c: tz for c, tz in session.execute(select(Site.code, Site.timezone))}
        request.state.site_zones = zones
    me = context.get("me")
    code = code or getattr(me, "site_code", None)
    return zones.get(code or "", service.settings.timezone)


def install(env: Environment) -> None:
    @pass_context
    def _duration(context: Context, seconds: int | float | None) -> str:
        return duration(seconds, _lang(context))

    @pass_context
    def _label(context: Context, code: str | None, prefix: str) -> str:
        return label(prefix, code, _lang(context))

    @pass_context
    def _reason(context: Context, code: str | None) -> str:
        return reason_label(code, _lang(context))

    @pass_context
    def _reason_title(context: Context, reason: dict[str, Any]) -> str:
        return reason_title(reason, _lang(context))

    @pass_context
    def _left(context: Context, minutes: int | float | None) -> str:
        return time_left(minutes, _lang(context))

    @pass_context
    def _topic(context: Context, code: str | None) -> str:
        return i18n.appeal_type(code or "", _lang(context))

    filters: dict[str, Any] = {
        "duration": _duration,
        "label": _label,
        "reason_label": _reason,
        "reason_title": _reason_title,
        "time_left": _left,
        "appeal_type": _topic,
        "local": local_time,
        "zone_name": zone_name,
    }
    env.filters.update(filters)
    env.globals["zone_of"] = pass_context(_zone_of)
    env.globals["may"] = lambda role, action: may(role, Action(action))
