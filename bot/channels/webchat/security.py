"""The web chat server's settings that end up in pages and headers, checked at start.

Two kinds of response, two header sets (bot.runtime.http_headers adds them to every response,
404s and static files included):

- the widget's files (script, style sheet, socket.io client) are included by shop pages on
  other origins: they say so (`Cross-Origin-Resource-Policy: cross-origin`, and CORS for
  shops that load them with `crossorigin` and Subresource Integrity), and `nosniff` makes a
  browser run them only as what they are;
- everything else (the demo page, /health, errors) may not be framed by another site and
  runs only our own script, which may connect only to the configured Rasa server.

The page's script URL comes from `SHOPDESK_WEBCHAT_URL` (the address shops load the widget
from, e.g. https://chat.your-shop.example), else a path on this server: never from the
request's `Host` header, which any client can write.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from sanic import Request

from bot.runtime.http_headers import HeadersFor

SOCKET_URL = "SHOPDESK_SOCKET_URL"
WEBCHAT_URL = "SHOPDESK_WEBCHAT_URL"
DEFAULT_SOCKET_URL = "http://localhost:5005"
WIDGET_PATH = "/shopdesk-chat.js"
# Files a shop's page loads from this server (the widget loads the other two next to itself).
WIDGET_FILES = (WIDGET_PATH, "/shopdesk-chat.css", "/vendor/socket.io.min.js")
WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}
# A host (name, IPv4, [IPv6]; IDNs in their xn-- form) and port: nothing that could end or
# extend a CSP directive, no user name or password.
NETLOC = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?")


class WebchatConfigError(ValueError):
    """A setting the web chat cannot use; the message names it and shows the expected form."""


def origin(url: str, setting: str) -> str:
    """`scheme://host[:port]` of an absolute http(s) URL; anything else is refused."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        raise WebchatConfigError(f"{setting}: {url!r} is not a URL ({error}).") from error
    if parts.scheme not in WEBSOCKET_SCHEMES or not NETLOC.fullmatch(parts.netloc):
        raise WebchatConfigError(
            f"{setting} must be an http(s) URL like https://chat.your-shop.example (a host name "
            f"in ASCII, xn-- for international ones), not {url!r}."
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def configured_socket_url(given: str | None = None) -> str:
    """The Rasa server the widget talks to: `given`, else SHOPDESK_SOCKET_URL, else local."""
    url = given or os.environ.get(SOCKET_URL) or DEFAULT_SOCKET_URL
    origin(url, "--socket-url" if given else SOCKET_URL)
    return url.strip()


def configured_widget_url(given: str | None = None) -> str:
    """Where pages load the widget from: under `given` (else SHOPDESK_WEBCHAT_URL), else a
    path that the browser resolves against the page's own address."""
    base = given or os.environ.get(WEBCHAT_URL)
    if not base:
        return WIDGET_PATH
    where = origin(base, WEBCHAT_URL)
    parts = urlsplit(base.strip())
    if parts.query or parts.fragment:
        raise WebchatConfigError(f"{WEBCHAT_URL} must not have a query or fragment: {base!r}.")
    return f"{where}{parts.path.rstrip('/')}{WIDGET_PATH}"


def page_headers(socket: str, widget: str) -> dict[str, str]:
    """Pages, /health and errors: only our script, talking only to the Rasa server."""
    rasa = origin(socket, SOCKET_URL)
    scheme, rest = rasa.split("://", 1)
    scripts = "'self'" if widget.startswith("/") else f"'self' {origin(widget, WEBCHAT_URL)}"
    policy = (
        f"default-src 'self'; script-src {scripts}; style-src {scripts}; img-src 'self' data:; "
        f"connect-src 'self' {rasa} {WEBSOCKET_SCHEMES[scheme]}://{rest}; "
        "base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


FILE_HEADERS = {
    # Only read by other pages, never shown as a page: nothing in it may run or be framed.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",  # public files, no cookies: SRI on a shop's page works
}


def headers_for(socket: str, widget: str) -> HeadersFor:
    """Which headers a response gets, by its request's path."""
    page: Mapping[str, str] = page_headers(socket, widget)

    def choose(request: Request) -> Mapping[str, str]:
        return FILE_HEADERS if request.path in WIDGET_FILES else page

    return choose
