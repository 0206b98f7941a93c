"""The running web chat server: its headers, and the widget in a real browser on the demo
page and on a shop page of another origin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from tests.helpers.network import call
from tests.helpers.project import ORDER_TOKEN_TEST_SECRET
from tests.helpers.webchat import FORGED_HOST, script_sources

# ------------------------------------------------------------------ the real server


def test_the_live_web_chat_ignores_the_host_header_and_sends_its_headers(bot):
    status, headers, body = call(f"{bot.webchat}/", headers={"Host": FORGED_HOST})
    assert status == 200
    page = body.decode()
    assert FORGED_HOST not in page and script_sources(page) == ["/shopdesk-chat.js"]
    rasa = re.search(r'data-socket-url="([^"]+)"', page).group(1)  # as `shopdesk up` set it
    assert rasa.endswith(f":{bot.ports['rasa']}")
    ws = rasa.replace("http", "ws", 1)
    assert f"connect-src 'self' {rasa} {ws};" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    status, headers, _ = call(f"{bot.webchat}/shopdesk-chat.js")
    assert status == 200 and headers["cross-origin-resource-policy"] == "cross-origin"
    status, headers, _ = call(f"{bot.webchat}/nothing-here")
    assert status == 404 and "frame-ancestors 'none'" in headers["content-security-policy"]


def test_the_demo_page_chats_within_its_policy(bot, browser):
    """The CSP lets the page's own script reach the Rasa server over socket.io, and the
    browser reports no violation."""
    page = browser.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(bot.webchat)
    page.click(".sd-toggle")
    page.wait_for_function("() => JSON.parse(localStorage['shopdesk-chat'] || '{}').sessionId")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 247, 242)"
    assert violations == []
    page.close()


def serve_shop_page(bot, extra_attributes: str = "") -> Iterator[str]:
    """A shop's page on another origin (its own loopback port: Chrome keeps pages on public
    addresses from loading files off loopback), with the widget included as shops do, with
    `crossorigin` (what Subresource Integrity needs, and so CORS)."""
    page = (
        "<!doctype html><title>A shop</title>"
        f'<script src="{bot.webchat}/shopdesk-chat.js" crossorigin="anonymous" '
        f'data-socket-url="{bot.base}" {extra_attributes} defer></script>'
    ).encode()

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture()
def shop_page(bot) -> Iterator[str]:
    yield from serve_shop_page(bot)


@pytest.fixture()
def logged_in_shop_page(bot) -> Iterator[str]:
    """The page a logged-in customer of order 604731 sees: the shop's server minted a token."""
    from bot.answers.order_tokens import mint

    token = mint("604731", ttl_seconds=600, secret=ORDER_TOKEN_TEST_SECRET.encode())
    yield from serve_shop_page(bot, f'data-order-token="{token}"')


def test_a_shop_page_on_another_origin_loads_the_widget_and_its_files(shop_page, browser):
    page = browser.new_page()
    page.goto(shop_page)
    page.wait_for_selector(".sd-toggle")  # the script ran
    page.wait_for_function("() => typeof window.io === 'function'")  # socket.io client loaded
    position = page.evaluate("getComputedStyle(document.querySelector('.sd-toggle')).position")
    assert position == "fixed"  # the style sheet loaded
    page.close()


def test_the_widget_carries_the_shops_order_token_so_the_owner_is_not_asked(
    logged_in_shop_page, shop_page, browser
):
    from tests.helpers.webchat import ask

    def order_answer(url: str) -> str:
        page = browser.new_page()
        page.goto(url)
        page.click(".sd-toggle")
        page.wait_for_function("() => JSON.parse(localStorage['shopdesk-chat'] || '{}').sessionId")
        replies = ask(page, "where is my order 604731?", page.locator(".sd-bot .sd-bubble").count())
        page.close()
        return " ".join(replies)

    vouched = order_answer(logged_in_shop_page)
    assert "604731" in vouched and "is being packed" in vouched, vouched
    assert "placed the order with" not in vouched  # the e-mail question was skipped
    anonymous = order_answer(shop_page)
    assert "placed the order with" in anonymous and "is being packed" not in anonymous, anonymous
