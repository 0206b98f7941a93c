"""Who may read `/metrics` on the action server and the review app.

Prometheus cannot log in, so `/metrics` needs no staff session; but the figures (traffic,
fallback and handoff rates, open handoffs) are not for the public either. With
`SHOPDESK_METRICS_TOKEN` set, a scraper must send `Authorization: Bearer <token>`; without it,
only clients on this machine (loopback, not relayed by a proxy) may read the page.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from sanic import Request
from sanic.response import HTTPResponse, text

TOKEN_VARIABLE = "SHOPDESK_METRICS_TOKEN"
# A reverse proxy on the same host connects from loopback on behalf of anyone: a request it
# relayed is not a local client.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def metrics_token() -> str | None:
    """The configured token, read on every request so a restart is not needed to set it."""
    token = (os.environ.get(TOKEN_VARIABLE) or "").strip()
    return token or None


def bearer_token(request: Request) -> str | None:
    scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:  # a UNIX socket name, or nothing
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or ip).is_loopback


def refuse_metrics(request: Request) -> HTTPResponse | None:
    """None when `request` may read the metrics, else the 401 or 403 to answer with."""
    token = metrics_token()
    if token is not None:
        given = bearer_token(request)
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return text(
            "A valid metrics token is required (Authorization: Bearer <token>).\n",
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="shopdesk metrics"'},
        )
    relayed = any(name in request.headers for name in PROXY_HEADERS)
    if is_loopback(request.ip) and not relayed:
        return None
    return text(
        f"Metrics are served to this machine only; set {TOKEN_VARIABLE} to let a scraper in.\n",
        status=403,
    )
