"""Who is asking, and may they: session cookies, login-required pages and CSRF checks.

Every request passes `authenticate` (a Sanic request middleware). Pages and APIs answer only
with a live staff session; state-changing requests also need the session's CSRF token (form
field `csrf_token` or header `X-CSRF-Token`), and the login form a login token of its own.
"""

from __future__ import annotations

import hmac
import secrets

from sanic import Request
from sanic.exceptions import Forbidden
from sanic.response import HTTPResponse, json, redirect

SESSION_COOKIE = "shopdesk_session"
LOGIN_CSRF_COOKIE = "shopdesk_login_csrf"
# /metrics checks its own token or loopback client (bot.metrics_access): Prometheus has no session.
PUBLIC_PATHS = ("/login", "/health", "/metrics")
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def set_cookie(response: HTTPResponse, name: str, value: str, secure: bool, max_age: int) -> None:
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Lax"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if secure:
        cookie["secure"] = True


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def submitted_csrf(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    try:
        return request.form.get("csrf_token")
    except Exception:  # an unparsable body has no token
        return None


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


async def authenticate(request: Request) -> HTTPResponse | None:
    """Attach the staff session (or None); turn away what needs one and lacks it."""
    accounts = request.app.ctx.staff
    request.ctx.session = accounts.session_for(request.cookies.get(SESSION_COOKIE))
    path = request.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if request.ctx.session is None:
        if path.startswith("/api/") or request.method not in SAFE_METHODS:
            return json({"error": "login required"}, status=401)
        wanted = f"{path}?{request.query_string}" if request.query_string else path
        return redirect(f"/login?next={_quote(wanted)}")
    if request.method not in SAFE_METHODS and not same_token(
        request.ctx.session.csrf_token, submitted_csrf(request)
    ):
        raise Forbidden("Missing or wrong CSRF token: reload the page and try again.")
    return None


def require_admin(request: Request) -> None:
    if not request.ctx.session.member.is_admin:
        raise Forbidden("Only admins may do this.")


def safe_next(target: str | None) -> str:
    """Only same-site paths: `next=//evil.example` must not become an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/conversations"
    return target


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")
