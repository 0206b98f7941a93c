"""Log in and out."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import redirect

from bot.review_app.rendering import render
from bot.review_app.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    new_login_token,
    safe_next,
    same_token,
    set_cookie,
)
from bot.staff import SESSION_LIFETIME, TooManyAttempts

bp = Blueprint("auth")
LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what new_login_token() makes


def _login_token(request: Request) -> str:
    """The browser's login token while it lives: another /login (a second tab, or the
    /favicon.ico request browsers send, redirected here) must not void the form on screen."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    return current if LOGIN_TOKEN.fullmatch(current) else new_login_token()


def _login_page(request: Request, error: str | None = None, status: int = 200):
    token = _login_token(request)
    wanted = request.form.get("next") if request.method == "POST" else request.args.get("next")
    response = render(
        request, "login.html", status=status, error=error, login_token=token, next=safe_next(wanted)
    )
    set_cookie(response, LOGIN_CSRF_COOKIE, token, request.app.ctx.settings.secure_cookies, 600)
    return response


@bp.get("/login")
async def login_form(request: Request):
    if request.ctx.session is not None:
        return redirect("/conversations")
    return _login_page(request)


@bp.post("/login")
async def login(request: Request):
    form = request.form
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("login_token")):
        return _login_page(request, "Your login form expired; please try again.", status=403)
    ip = request.remote_addr or request.ip or "unknown"
    try:
        session = request.app.ctx.staff.log_in(
            form.get("username") or "", form.get("password") or "", ip
        )
    except TooManyAttempts:
        return _login_page(
            request, "Too many failed logins. Wait 15 minutes and try again.", status=429
        )
    if session is None:
        return _login_page(request, "Wrong user name or password.", status=401)
    response = redirect(safe_next(form.get("next")))
    set_cookie(
        response,
        SESSION_COOKIE,
        session.token,
        request.app.ctx.settings.secure_cookies,
        int(SESSION_LIFETIME.total_seconds()),
    )
    del response.cookies[LOGIN_CSRF_COOKIE]
    return response


@bp.post("/logout")
async def logout(request: Request):
    request.app.ctx.staff.log_out(request.ctx.session.token)
    response = redirect("/login")
    del response.cookies[SESSION_COOKIE]
    return response


@bp.get("/")
async def home(_request: Request):
    return redirect("/conversations")
