"""What every console page shares: who is signed in, rendering, and form posts that
redirect back with a one-line message."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from masking.policy import Action, may
from masking.web import formatting, i18n
from masking.web.auth import Principal, check_csrf, csrf_token, optional_principal
from masking.web.errors import ApiError

T = TypeVar("T")
_WEB = Path(__file__).parent
# The shared layout first, then each capability's own pages (template names are unique).
templates = Jinja2Templates(directory=[_WEB / "templates", *sorted(_WEB.glob("*/templates"))])
formatting.install(templates.env)


class NeedLogin(Exception):
    """Raised by a page whose visitor is not signed in (the app redirects to /login)."""


def home_for(p: Principal) -> str:
    """The first console page the role may use."""
    if may(p.role, Action.CHANGE_SITES):
        return "/admin/sites"
    if may(p.role, Action.LISTEN_RECORDINGS):
        return "/qa/recordings"
    return "/search"


def who(request: Request) -> Principal:
    try:
        p = optional_principal(request)
    except ApiError:
        p = None
    if p is None:
        raise NeedLogin
    return p


def render(
    request: Request,
    name: str,
    p: Principal | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = i18n.lang_of(request)
    flash = request.session.pop("flash", None) if p is not None else None
    error = context.pop("error", None)
    if isinstance(error, ApiError):
        error = error_sentence(error, lang)
    base = {
        "request": request,
        "me": p,
        "lang": lang,
        "t": lambda key: i18n.text(key, lang),
        "csrf": csrf_token(request),
        "flash": flash,
        "error": error,
        "path": request.url.path,
        "errors_json": json.dumps({k: i18n.pick(v, lang) for k, v in i18n.ERRORS.items()}),
        "status_json": json.dumps(
            {
                k.split("_", 1)[1]: i18n.pick(v, lang)
                for k, v in i18n.TEXT.items()
                if k.startswith(("st_", "d_"))
            }
        ),
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if request.query_params.get("lang") in i18n.LANGS:
        remember_lang(response, lang)
    return response


def error_sentence(err: ApiError, lang: str) -> str:
    """A refusal as a sentence in the console's language. A status change refused by a case
    rule (it carries the rule's ``params``) is worded from the rule and its parameters;
    any other refusal from its code, its English message filling ``{detail}``."""
    params = err.extra.get("params")
    if err.code in i18n.REFUSED_CHANGES and (
        isinstance(params, dict) or err.code not in i18n.ERRORS
    ):
        return i18n.refused_change(err.code, lang, params if isinstance(params, dict) else {})
    return i18n.error_text(err.code, lang, err.message)


def remember_lang(response: Response, lang: str) -> None:
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")


def flash_redirect(
    request: Request, url: str, *, ok: str | None = None, err: ApiError | None = None
) -> Response:
    lang = i18n.lang_of(request)
    if err is not None:
        request.session["flash"] = {
            "kind": "error",
            "text": error_sentence(err, lang),
        }
    elif ok:
        request.session["flash"] = {"kind": "ok", "text": i18n.text(ok, lang)}
    return RedirectResponse(url, status_code=303)


def fetch(load: Callable[[], T], default: T) -> tuple[T, ApiError | None]:
    """What a page shows: the data, or the default and the refusal to show instead."""
    try:
        return load(), None
    except ApiError as exc:
        return default, exc


def act(request: Request, csrf: str, url: str, action: Callable[[Principal], object]) -> Response:
    """A form post by the signed-in staff member: check its CSRF field, do it, and redirect
    to ``url`` with the outcome."""
    p = who(request)
    try:
        check_csrf(request, csrf)
        action(p)
    except ApiError as exc:
        return flash_redirect(request, url, err=exc)
    return flash_redirect(request, url, ok="saved")
