"""Serves the web chat widget: its script and style, the socket.io client, a demo shop page.

The widget itself talks to the Rasa server's socket.io channel (`SHOPDESK_SOCKET_URL`,
default http://localhost:5005); this app only hands out files, so it can sit on a CDN-free
static host in production. `shopdesk webchat` runs it alone, `shopdesk up` beside the bot.
Every response carries security headers (bot/channels/webchat/security.py says which and why).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, Sanic
from sanic.response import html, text

from bot.channels.webchat.security import configured_socket_url, configured_widget_url, headers_for
from bot.runtime.http_headers import headers_middleware

HERE = Path(__file__).resolve().parent
SOCKET_IO_CLIENT = HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
_app_numbers = itertools.count()
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
)


def default_socket_url() -> str:
    return configured_socket_url()


def create_app(socket_url: str | None = None, public_url: str | None = None) -> Sanic:
    """The app; `socket_url` is the Rasa server (default $SHOPDESK_SOCKET_URL), `public_url`
    where shops load the widget from (default $SHOPDESK_WEBCHAT_URL, else this server's
    own path). A malformed URL is a WebchatConfigError here, at start."""
    if not SOCKET_IO_CLIENT.is_file():
        raise FileNotFoundError(
            f"{SOCKET_IO_CLIENT} is missing: run scripts/setup.sh (it installs the web chat's "
            "socket.io client from npm)."
        )
    rasa, widget = configured_socket_url(socket_url), configured_widget_url(public_url)
    page = _templates.get_template("shop.html").render(widget_url=widget, socket_url=rasa)
    app = Sanic(f"shopdesk_webchat_{next(_app_numbers)}")
    app.register_middleware(headers_middleware(headers_for(rasa, widget)), "response")
    app.static("/shopdesk-chat.js", str(HERE / "static" / "shopdesk-chat.js"), name="widget")
    app.static("/shopdesk-chat.css", str(HERE / "static" / "shopdesk-chat.css"), name="style")
    app.static("/vendor/socket.io.min.js", str(SOCKET_IO_CLIENT), name="socket_io")
    app.static("/shop.css", str(HERE / "templates" / "shop.css"), name="shop_style")

    @app.get("/")
    async def shop_page(_request: Request):
        return html(page)  # the same for every request: nothing in it comes from one

    @app.get("/health")
    async def health(_request: Request):
        return text("ok")

    return app
