"""Log in and out. Checking a password (Argon2id) and the database work run in a worker thread."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import redirect

from bot.review_app.rendering import render
from bot.review_app.security import (
    LOGIN_CSRF_COOKIE,
    LOGIN_TOKEN_LIFETIME,
    SESSION_COOKIE,
    new_login_token,
    safe_next,
    same_token,
    set_cookie,
    valid_login_token,
)
from bot.review_app.threads import in_thread
from bot.runtime.proxies import client_address
from bot.storage.staff import SESSION_LIFETIME, TooManyAttempts

bp = Blueprint("auth")
# What the login page may say: fixed texts, chosen by code, never words from a request.
LOGIN_ERRORS = {
    "expired": "Your login form expired; please try again.",
    "wrong": "Wrong user name or password.",
}


def _login_token(request: Request) -> str:
    """The browser's login token while it lives: another /login (a second tab, or the
    /favicon.ico request browsers send, redirected here) must not void the form on screen."""
    secret = request.app.ctx.settings.login_secret
    current = request.cookies.get(LOGIN_CSRF_COOKIE)
    return current if valid_login_token(secret, current) else new_login_token(secret)


def _login_page(request: Request, error: str | None = None, status: int = 200):
    token = _login_token(request)
    wanted = request.form.get("next") if request.method == "POST" else request.args.get("next")
    response = render(
        request, "login.html", status=status, error=error, login_token=token, next=safe_next(wanted)
    )
    secure = request.app.ctx.settings.secure_cookies
    set_cookie(response, LOGIN_CSRF_COOKIE, token, secure, LOGIN_TOKEN_LIFETIME)
    return response


def _wait_message(seconds: int) -> str:
    wait = f"{seconds} seconds" if seconds < 120 else f"{-(-seconds // 60)} minutes"
    return f"Too many failed logins from here. Wait {wait} and try again."


@bp.get("/login")
async def login_form(request: Request):
    if request.ctx.session is not None:
        return redirect("/conversations")
    return _login_page(request)


@bp.post("/login")
async def login(request: Request):
    form, ctx = request.form, request.app.ctx
    given = form.get("login_token")
    if not (
        same_token(request.cookies.get(LOGIN_CSRF_COOKIE), given)
        and valid_login_token(ctx.settings.login_secret, given)
    ):
        return _login_page(request, LOGIN_ERRORS["expired"], status=403)
    ip = client_address(request, ctx.trusted_proxies)
    try:
        session = await in_thread(
            ctx.staff.log_in, form.get("username") or "", form.get("password") or "", ip
        )
    except TooManyAttempts as refused:
        response = _login_page(request, _wait_message(refused.retry_after), status=429)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    if session is None:
        return _login_page(request, LOGIN_ERRORS["wrong"], status=401)
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
    await in_thread(request.app.ctx.staff.log_out, request.ctx.session.token)
    response = redirect("/login")
    del response.cookies[SESSION_COOKIE]
    return response


@bp.get("/")
async def home(_request: Request):
    return redirect("/conversations")
