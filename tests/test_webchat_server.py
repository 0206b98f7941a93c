"""The web chat server (bot/channels/webchat/) under issue 14: the demo page's script URL comes from
configuration, never from the request's Host header; every response carries security
headers; and the widget's files stay loadable by shop pages on other origins.

In-process with sanic-testing first; then against the web chat that `shopdesk up` serves (the
session's `bot`), and in a real browser for what only a browser enforces (CSP, CORS).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from bot.channels.webchat import create_app
from bot.channels.webchat.security import SOCKET_URL, WEBCHAT_URL, WIDGET_FILES, WebchatConfigError
from tests.conftest import ORDER_TOKEN_TEST_SECRET, serve_in_tests
from tests.network import call

FORGED_HOST = "evil.example"
RASA = "http://localhost:5005"


@pytest.fixture()
def webchat(monkeypatch):
    monkeypatch.delenv(WEBCHAT_URL, raising=False)
    monkeypatch.delenv(SOCKET_URL, raising=False)
    return serve_in_tests(create_app(RASA))


def get(app, path: str, method: str = "get", **kwargs):
    _, response = getattr(app.test_client, method)(path, allow_redirects=False, **kwargs)
    return response


def script_sources(page: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', page)


# ------------------------------------------------------------------ the script's URL


def test_a_forged_host_header_does_not_change_the_script_url(webchat):
    page = get(webchat, "/", headers={"Host": FORGED_HOST}).text
    assert FORGED_HOST not in page
    assert script_sources(page) == ["/shopdesk-chat.js"]  # resolved against the page's origin
    assert f'data-socket-url="{RASA}"' in page


def test_the_script_url_comes_from_configuration(monkeypatch):
    monkeypatch.setenv(WEBCHAT_URL, "https://chat.shop.example/widget/")
    app = serve_in_tests(create_app(RASA))
    response = get(app, "/", headers={"Host": FORGED_HOST})
    assert script_sources(response.text) == ["https://chat.shop.example/widget/shopdesk-chat.js"]
    snippet = '&lt;script src="https://chat.shop.example/widget/shopdesk-chat.js"'
    assert snippet in response.text  # the line shops copy
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' https://chat.shop.example;" in policy


@pytest.mark.parametrize(
    "setting, value",
    [
        (WEBCHAT_URL, "chat.shop.example"),  # no scheme
        (WEBCHAT_URL, "javascript:alert(1)"),
        (WEBCHAT_URL, "https://user:secret@chat.shop.example"),
        (WEBCHAT_URL, "https://chat.shop.example/?v=1"),
        (WEBCHAT_URL, "https://chat.shop.example:port"),
        (SOCKET_URL, "localhost:5005"),
        (SOCKET_URL, "https://bot.example; script-src *"),  # would widen the page's CSP
        (SOCKET_URL, "https://bot.example 'unsafe-inline'"),
    ],
)
def test_a_malformed_url_is_refused_at_start_with_its_setting_named(monkeypatch, setting, value):
    monkeypatch.delenv(WEBCHAT_URL, raising=False)
    monkeypatch.setenv(setting, value)
    with pytest.raises(WebchatConfigError, match=setting):
        create_app()


# ------------------------------------------------------------------ headers


def assert_page_headers(response, what: str, rasa: str = RASA) -> None:
    headers = response.headers
    policy = headers.get("content-security-policy", "")
    assert "script-src 'self';" in policy and "style-src 'self';" in policy, what
    assert f"connect-src 'self' {rasa} {rasa.replace('http', 'ws', 1)};" in policy, what
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy, what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "same-origin", what


def assert_file_headers(response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-resource-policy"] == "cross-origin"
    assert headers["access-control-allow-origin"] == "*"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "x-frame-options" not in headers or headers["x-frame-options"] == "DENY"


def test_every_kind_of_response_carries_the_security_headers(webchat):
    pages = {
        "page": get(webchat, "/"),
        "health": get(webchat, "/health"),
        "page style": get(webchat, "/shop.css"),
        "404": get(webchat, "/no-such-file.js"),
        "405": get(webchat, "/", method="post"),
    }
    assert [response.status for response in pages.values()] == [200, 200, 200, 404, 405]
    for name, response in pages.items():
        assert_page_headers(response, name)
    files = {path: get(webchat, path) for path in WIDGET_FILES}
    for path, response in files.items():
        assert response.status == 200, path
        assert_file_headers(response)
    assert "javascript" in files["/shopdesk-chat.js"].headers["content-type"]  # nosniff needs it
    assert files["/shopdesk-chat.css"].headers["content-type"].startswith("text/css")
    since = files["/shopdesk-chat.js"].headers["last-modified"]
    unchanged = get(webchat, "/shopdesk-chat.js", headers={"If-Modified-Since": since})
    assert unchanged.status == 304
    assert_file_headers(unchanged)


def test_the_page_needs_nothing_its_policy_forbids(webchat):
    """No inline script or style (blocked by the CSP), and only our own files."""
    page = get(webchat, "/").text
    assert "<style" not in page and "style=" not in page
    assert all(not body.strip() for body in re.findall(r"<script[^>]*>(.*?)</script>", page, re.S))
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', page) == ["/shop.css"]


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
    from tests.test_webchat_browser import ask

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
