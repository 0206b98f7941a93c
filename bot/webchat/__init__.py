"""Serves the web chat widget: its script and style, the socket.io client, a demo shop page.

The widget itself talks to the Rasa server's socket.io channel (`SHOPDESK_SOCKET_URL`,
default http://localhost:5005); this app only hands out files, so it can sit on a CDN-free
static host in production. `shopdesk webchat` runs it alone, `shopdesk up` beside the bot.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, Sanic
from sanic.response import html, text

HERE = Path(__file__).resolve().parent
SOCKET_IO_CLIENT = HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
_app_numbers = itertools.count()
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
)


def default_socket_url() -> str:
    return os.environ.get("SHOPDESK_SOCKET_URL", "http://localhost:5005")


def create_app(socket_url: str | None = None) -> Sanic:
    if not SOCKET_IO_CLIENT.is_file():
        raise FileNotFoundError(
            f"{SOCKET_IO_CLIENT} is missing: run scripts/setup.sh (it installs the web chat's "
            "socket.io client from npm)."
        )
    socket_url = socket_url or default_socket_url()
    app = Sanic(f"shopdesk_webchat_{next(_app_numbers)}")
    app.static("/shopdesk-chat.js", str(HERE / "static" / "shopdesk-chat.js"), name="widget")
    app.static("/shopdesk-chat.css", str(HERE / "static" / "shopdesk-chat.css"), name="style")
    app.static("/vendor/socket.io.min.js", str(SOCKET_IO_CLIENT), name="socket_io")

    @app.get("/")
    async def shop_page(request: Request):
        widget_url = f"{request.scheme}://{request.host}/shopdesk-chat.js"
        page = _templates.get_template("shop.html").render(
            widget_url=widget_url, socket_url=socket_url
        )
        return html(page)

    @app.get("/health")
    async def health(_request: Request):
        return text("ok")

    return app
