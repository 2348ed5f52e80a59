"""``/``, ``/login``, ``/logout`` and ``/lang/{lang}``."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from masking.web import i18n
from masking.web.auth import SESSION_KEY, Service, check_csrf, csrf_token
from masking.web.errors import ApiError
from masking.web.pages import NeedLogin, home_for, remember_lang, render, who
from masking.web.session.service import sign_in, sign_out

router = APIRouter(include_in_schema=False)


@router.get("/")
def index(request: Request) -> Response:
    try:
        p = who(request)
    except NeedLogin:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_for(p), status_code=303)


@router.get("/lang/{lang}")
def set_lang(request: Request, lang: str, next: str = "/") -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if lang in i18n.LANGS:
        remember_lang(response, lang)
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    return render(request, "login.html", None)


@router.post("/login")
def login_submit(
    request: Request,
    service: Service,
    login: str = Form("", max_length=100),
    password: str = Form("", max_length=200),
    csrf: str = Form("", max_length=100),
) -> Response:
    try:
        check_csrf(request, csrf)
    except ApiError as exc:
        return render(request, "login.html", None, status=403, error=exc)
    address = request.client.host if request.client else "unknown"
    result = sign_in(service, login.strip(), password, address)
    lang = i18n.lang_of(request)
    if result.retry_after is not None:
        minutes = str(-(-result.retry_after // 60))
        response = render(
            request,
            "login.html",
            None,
            status=429,
            error=i18n.error_text("throttled", lang, minutes),
        )
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.principal is None or result.session_id is None:
        return render(request, "login.html", None, status=401, error=i18n.text("bad_login", lang))
    request.session.clear()
    request.session[SESSION_KEY] = result.session_id
    csrf_token(request)
    return RedirectResponse(home_for(result.principal), status_code=303)


@router.post("/logout")
def logout(request: Request, service: Service, csrf: str = Form("", max_length=100)) -> Response:
    try:
        check_csrf(request, csrf)
    except ApiError:
        pass
    else:
        session_id = request.session.get(SESSION_KEY)
        if isinstance(session_id, str):
            sign_out(service, session_id)
        request.session.clear()
    return RedirectResponse("/login", status_code=303)
