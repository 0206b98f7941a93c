"""The web chat server (bot/channels/webchat/) under issue 14: the demo page's script URL comes from
configuration, never from the request's Host header; every response carries security
headers; and the widget's files stay loadable by shop pages on other origins.

In-process with sanic-testing first; then against the web chat that `shopdesk up` serves (the
session's `bot`), and in a real browser for what only a browser enforces (CSP, CORS).
"""

from __future__ import annotations

import re

import pytest

from bot.channels.webchat import create_app
from bot.channels.webchat.security import SOCKET_URL, WEBCHAT_URL, WIDGET_FILES, WebchatConfigError
from tests.helpers.http import serve_in_tests
from tests.helpers.webchat import FORGED_HOST, script_sources

RASA = "http://localhost:5005"


@pytest.fixture()
def webchat(monkeypatch):
    monkeypatch.delenv(WEBCHAT_URL, raising=False)
    monkeypatch.delenv(SOCKET_URL, raising=False)
    return serve_in_tests(create_app(RASA))


def get(app, path: str, method: str = "get", **kwargs):
    _, response = getattr(app.test_client, method)(path, allow_redirects=False, **kwargs)
    return response


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
