"""Staff in the review app without a browser: logged in through the real form, each POST with
the CSRF token read from a page; and a fake Rasa HTTP API that records what it receives."""

from __future__ import annotations

import datetime as dt
import html
import http.server
import json
import re
import threading

PASSWORD = "a long enough password"


class Browser:
    """One staff member's browser: the session cookie, and the CSRF token from a page."""

    def __init__(self, app, username: str) -> None:
        from bot.review_app.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE

        self.app = app
        _, form = app.test_client.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
        _, response = app.test_client.post(
            "/login",
            data={"login_token": token, "username": username, "password": PASSWORD, "next": "/"},
            cookies={LOGIN_CSRF_COOKIE: form.cookies[LOGIN_CSRF_COOKIE]},
            allow_redirects=False,
        )
        assert response.status == 302, response.text
        self.cookies = {SESSION_COOKIE: response.cookies[SESSION_COOKIE]}
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', self.get("/handoffs").text)[1]

    def get(self, url: str):
        _, response = self.app.test_client.get(url, cookies=self.cookies)
        return response

    def post(self, url: str, data: dict):
        _, response = self.app.test_client.post(
            url, data={"csrf_token": self.csrf, **data}, cookies=self.cookies, allow_redirects=False
        )
        return response


def at(event, when: dt.datetime):
    event.timestamp = when.replace(tzinfo=dt.timezone.utc).timestamp()
    return event


def groups(page: str) -> list[tuple[int, str]]:
    """(count, key) of each inbox group, in page order."""
    found = re.findall(
        r'class="group-count">(\d+) ×</span> <bdi><span class="group-key">([^<]*)</span></bdi>',
        page,
    )
    return [(int(count), html.unescape(key)) for count, key in found]


def group_form(page: str, key: str) -> list[int]:
    """The event ids the bulk form of the group with `key` posts."""
    marker = f'class="group-key">{html.escape(key)}</span>'
    section = page[page.index(marker) :]
    section = section[: section.index("</form>")]
    return [int(i) for i in re.findall(r'name="event_id" value="(\d+)"', section)]


class FakeRasa:
    """Rasa's HTTP API as far as resuming goes: records each POST, answers `status` with the
    tracker of the conversation the path names, taken as Rasa 3.6 takes it (Sanic 21.12 does
    not unquote path parameters)."""

    def __init__(self, status: int = 200) -> None:
        self.calls: list[tuple[str, object]] = []
        calls = self.calls

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                calls.append((self.path, json.loads(body)))
                sender = self.path.split("/")[2]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"sender_id": sender, "events": []}).encode())

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def add_staff(db_url: str, **roles: str) -> None:
    """Staff accounts, all with PASSWORD: `add_staff(url, ana="reviewer", ada="admin")`."""
    from bot.storage.staff import StaffAccounts

    accounts = StaffAccounts(db_url)
    for name, role in roles.items():
        accounts.create(name, PASSWORD, role)
    accounts.engine.dispose()


def review_app(**settings):
    """The review app with `settings` (ReviewAppSettings' fields), under sanic-testing's client."""
    from bot.review_app import create_app
    from bot.review_app.settings import ReviewAppSettings
    from tests.helpers.http import serve_in_tests

    return serve_in_tests(create_app(ReviewAppSettings(**settings)))
