"""Who is asking, and may they: session cookies, login-required pages and CSRF checks.

Every request passes `authenticate` (a Sanic request middleware). Pages and APIs answer only
with a live staff session; state-changing requests also need the session's CSRF token (form
field `csrf_token` or header `X-CSRF-Token`), and the login form a login token of its own,
signed by the server so that a cookie planted by someone else cannot log a browser into
their account (login CSRF). Every response, redirects, errors and static files included,
leaves through `security_headers`. The session is looked up in a worker thread: a slow
database (or an export holding it) must not stall every other staff member's requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from sanic import Request
from sanic.exceptions import Forbidden
from sanic.response import HTTPResponse, json, redirect

from bot.review_app.threads import in_thread
from bot.runtime.http_headers import add_headers

SESSION_COOKIE = "shopdesk_session"
LOGIN_CSRF_COOKIE = "shopdesk_login_csrf"
# /metrics checks its own token or loopback client (bot.runtime.metrics_access): Prometheus has no
# session.
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


LOGIN_TOKEN_LIFETIME = 600  # seconds; the login cookie lives as long
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Our own files only: no inline script can run, whatever a message contains.
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Files anyone may cache; every other answer may hold customer data or a token.
CACHEABLE_PREFIXES = ("/static/",)


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, f"login:{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_login_token(secret: bytes, now: float | None = None) -> str:
    """`nonce.expiry.signature`: only this server can make one, and it expires."""
    expires = int((time.time() if now is None else now) + LOGIN_TOKEN_LIFETIME)
    body = f"{secrets.token_urlsafe(24)}.{expires}"
    return f"{body}.{_mac(secret, body)}"


def valid_login_token(secret: bytes, token: str | None, now: float | None = None) -> bool:
    """Signed by us and not expired (the cookie and the form field must also be equal)."""
    parts = (token or "").split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(token or "") > 200:
        return False
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(secret, body), parts[2]):
        return False
    return int(parts[1]) > (time.time() if now is None else now)


async def security_headers(request: Request, response: HTTPResponse) -> None:
    """A response middleware: the same headers on every answer, and no caching of any but
    the static files (pages carry customer messages and CSRF tokens)."""
    add_headers(response, SECURITY_HEADERS)
    if not request.path.startswith(CACHEABLE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"


async def authenticate(request: Request) -> HTTPResponse | None:
    """Attach the staff session (or None); turn away what needs one and lacks it."""
    accounts = request.app.ctx.staff
    cookie = request.cookies.get(SESSION_COOKIE)
    request.ctx.session = await in_thread(accounts.session_for, cookie) if cookie else None
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
