"""Issue 14's review-app and staff findings, each shown fixed: login limits that cannot lock
staff out, alerts from codes, headers on every response, no 500s for odd input, a signed login
token, `<bdi>`, private database files, common passwords refused, and who may release a
handoff or remove a tag.

In-process, with sanic-testing: the app on its own copy of a SQLite database written by Rasa's
tracker store; giving a conversation back talks to the fake Rasa API of test_review_pages.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

import bot.storage.login_limits as limits
from bot.cli import main as shopdesk
from bot.review_app import create_app
from bot.review_app.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    new_login_token,
)
from bot.review_app.settings import ReviewAppSettings
from bot.storage.database import engine_for, open_database
from bot.storage.handoffs_and_feedback import Records
from bot.storage.staff import StaffAccounts, StaffError, TooManyAttempts
from tests.helpers.http import serve_in_tests
from tests.helpers.logged_conversations import save, user
from tests.helpers.review_app import FakeRasa

ADMIN = ("ana", "correct horse battery")
REVIEWERS = {"rui": "staple lemon radio", "eva": "mango kettle fjord"}
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: turns what follows around on screen
SPOOF_ID = f"ticket-{RLO}gpj.exe"
SECRET = b"test signing key"


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hardening-db")
    url = f"sqlite:///{folder / 'shopdesk.db'}"
    save(url, "customer-1", [user("where is my parcel?", "track_order", 0.9)])
    save(url, SPOOF_ID, [user(f"refund {RLO}dnufer", "get_refund", 0.8)])
    records = Records(url)
    records.request_handoff("customer-1", "asked_for_human", "a person please")
    records.engine.dispose()
    accounts = StaffAccounts(url)
    accounts.create(*ADMIN, role="admin")
    for name, password in REVIEWERS.items():
        accounts.create(name, password)
    accounts.engine.dispose()
    return folder / "shopdesk.db"


class Client:
    """The app on a fresh copy of the database, with a browser's requests."""

    def __init__(self, db: Path, **settings) -> None:
        self.url = f"sqlite:///{db}"
        settings.setdefault("login_secret", SECRET)
        self.app = create_app(ReviewAppSettings(db_url=self.url, **settings))
        serve_in_tests(self.app)

    def get(self, path: str, cookies: dict | None = None, **kwargs):
        _, response = self.app.test_client.get(
            path, cookies=cookies or {}, allow_redirects=False, **kwargs
        )
        return response

    def post(self, path: str, data: dict, cookies: dict | None = None, **kwargs):
        _, response = self.app.test_client.post(
            path, data=data, cookies=cookies or {}, allow_redirects=False, **kwargs
        )
        return response

    def log_in(self, username: str, password: str, **kwargs):
        token = re.search(r'name="login_token" value="([^"]+)"', self.get("/login").text)[1]
        form = {"login_token": token, "username": username, "password": password}
        return self.post("/login", form, cookies={LOGIN_CSRF_COOKIE: token}, **kwargs)

    def session(self, username: str) -> tuple[dict, str]:
        password = ADMIN[1] if username == ADMIN[0] else REVIEWERS[username]
        response = self.log_in(username, password)
        assert response.status == 302, response.text
        cookies = {SESSION_COOKIE: response.cookies[SESSION_COOKIE]}
        page = self.get("/handoffs", cookies)
        return cookies, re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]

    def close(self) -> None:
        for holder in (self.app.ctx.staff, self.app.ctx.log, self.app.ctx.reviews):
            holder.engine.dispose()
        self.app.ctx.records.engine.dispose()


@pytest.fixture()
def db(template_db: Path, tmp_path: Path) -> Path:
    for file in template_db.parent.glob(f"{template_db.name}*"):
        shutil.copy(file, tmp_path / file.name)
    return tmp_path / template_db.name


@pytest.fixture()
def client(db: Path) -> Iterator[Client]:
    made = Client(db)
    yield made
    made.close()


class Clock:
    """bot.storage.login_limits' clock, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = dt.datetime(2026, 11, 26, 9, 0)
        monkeypatch.setattr(limits, "now", lambda: self.at)

    def tick(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def fail(accounts: StaffAccounts, ip: str, times: int, name: str = "ana") -> None:
    for _ in range(times):
        assert accounts.log_in(name, "not the password", ip) is None


def attempts(url: str) -> int:
    engine = engine_for(url)
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM login_attempts"))
    engine.dispose()
    return count


# ------------------------------------------------------------------ login limits


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(db, clock):
    accounts = StaffAccounts(f"sqlite:///{db}")
    fail(accounts, "203.0.113.9", limits.FREE_FAILURES_PER_USER_AND_ADDRESS)  # a guesser
    with pytest.raises(TooManyAttempts):
        accounts.log_in(*ADMIN, "203.0.113.9")
    assert accounts.log_in(*ADMIN, "10.0.0.4") is not None  # ana at her desk
    assert accounts.log_in("rui", REVIEWERS["rui"], "203.0.113.9") is not None


def test_delays_grow_with_each_failure_and_refused_tries_do_not_count(db, clock):
    accounts = StaffAccounts(f"sqlite:///{db}")
    fail(accounts, "203.0.113.9", limits.FREE_FAILURES_PER_USER_AND_ADDRESS)
    waits = []
    for _ in range(4):
        with pytest.raises(TooManyAttempts) as refused:
            accounts.log_in(*ADMIN, "203.0.113.9")  # even the right password must wait
        waits.append(refused.value.retry_after)
        clock.tick(refused.value.retry_after - 1)
        with pytest.raises(TooManyAttempts):  # still waiting: refused, and not counted
            accounts.log_in("ana", "guess", "203.0.113.9")
        clock.tick(1)
        fail(accounts, "203.0.113.9", 1)
    assert waits == [10, 20, 40, 80]
    clock.tick(160)
    assert accounts.log_in(*ADMIN, "203.0.113.9") is not None  # waited: in, and cleared
    assert accounts.log_in("ana", "guess", "203.0.113.9") is None
    assert accounts.log_in(*ADMIN, "203.0.113.9") is not None  # no delay after one failure


def test_delays_stop_growing_at_the_cap(db, clock):
    accounts = StaffAccounts(f"sqlite:///{db}")
    for _ in range(20):
        try:
            fail(accounts, "203.0.113.9", 1)
        except TooManyAttempts as refused:
            assert refused.retry_after <= limits.MAX_DELAY.total_seconds()
        clock.tick(limits.MAX_DELAY.total_seconds())
    assert limits.delay_after(40, 5) == limits.MAX_DELAY


def test_one_address_trying_many_names_is_slowed_too(db, clock):
    accounts = StaffAccounts(f"sqlite:///{db}")
    for number in range(limits.FREE_FAILURES_PER_ADDRESS):
        fail(accounts, "203.0.113.9", 1, name=f"user{number}")
    with pytest.raises(TooManyAttempts):
        accounts.log_in("rui", REVIEWERS["rui"], "203.0.113.9")
    assert accounts.log_in("rui", REVIEWERS["rui"], "10.0.0.4") is not None


def test_old_attempts_are_pruned_on_the_next_login(db, clock):
    url = f"sqlite:///{db}"
    accounts = StaffAccounts(url)
    fail(accounts, "203.0.113.9", 3)
    assert attempts(url) == 3
    clock.tick(limits.FAILURE_WINDOW.total_seconds() + 1)
    assert accounts.log_in(*ADMIN, "10.0.0.4") is not None
    assert attempts(url) == 1  # only this success is left


def test_an_admin_unlocks_an_account_from_the_command_line(db, clock, monkeypatch, capsys):
    url = f"sqlite:///{db}"
    accounts = StaffAccounts(url)
    fail(accounts, "10.0.0.4", limits.FREE_FAILURES_PER_USER_AND_ADDRESS)
    with pytest.raises(TooManyAttempts):
        accounts.log_in(*ADMIN, "10.0.0.4")
    monkeypatch.setenv("SHOPDESK_DB_URL", url)
    assert shopdesk(["staff", "unlock", "ana"]) == 0
    assert "5 failed logins forgotten" in capsys.readouterr().out
    assert accounts.log_in(*ADMIN, "10.0.0.4") is not None
    assert shopdesk(["staff", "unlock", "nobody"]) == 2
    assert "no account 'nobody'" in capsys.readouterr().err


def test_the_login_page_says_how_long_to_wait(client):
    for _ in range(limits.FREE_FAILURES_PER_USER_AND_ADDRESS):
        assert client.log_in("ana", "wrong password!").status == 401
    refused = client.log_in(*ADMIN)
    assert refused.status == 429 and refused.headers["retry-after"] == "10"
    assert "Wait 10 seconds" in refused.text


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(client):
    """A client rotating X-Forwarded-For still counts under its own address."""
    for number in range(limits.FREE_FAILURES_PER_USER_AND_ADDRESS):
        forged = {"X-Forwarded-For": f"198.51.100.{number}"}
        assert client.log_in("ana", "wrong password!", headers=forged).status == 401
    assert client.log_in(*ADMIN, headers={"X-Forwarded-For": "198.51.100.77"}).status == 429


def test_behind_a_trusted_proxy_each_client_counts_under_its_own_address(db):
    proxied = Client(db, trusted_proxies=("127.0.0.0/8",))
    try:
        attacker = {"X-Forwarded-For": "192.0.2.1, 203.0.113.9"}  # left part: forged
        for _ in range(limits.FREE_FAILURES_PER_USER_AND_ADDRESS):
            assert proxied.log_in("ana", "wrong password!", headers=attacker).status == 401
        assert proxied.log_in(*ADMIN, headers=attacker).status == 429
        colleague = {"X-Forwarded-For": "203.0.113.10"}
        assert proxied.log_in(*ADMIN, headers=colleague).status == 302
        # The forged left part did not become the address: 192.0.2.1 has no failures, but
        # the attacker, whatever it writes there, is still 203.0.113.9.
        other_lie = {"X-Forwarded-For": "192.0.2.200, 203.0.113.9"}
        assert proxied.log_in(*ADMIN, headers=other_lie).status == 429
    finally:
        proxied.close()
    with pytest.raises(ValueError, match="SHOPDESK_TRUSTED_PROXIES"):
        Client(db, trusted_proxies=("10.0.0.300",))


# ------------------------------------------------------------- the login token


def test_the_login_token_must_be_signed_by_this_server_and_fresh(client):
    def attempt(token: str):
        form = {"login_token": token, "username": ADMIN[0], "password": ADMIN[1]}
        return client.post("/login", form, cookies={LOGIN_CSRF_COOKIE: token})

    planted = "A" * 43  # the old format: any value the attacker put in cookie and field
    assert attempt(planted).status == 403
    assert attempt(new_login_token(b"another server's key")).status == 403
    assert attempt(new_login_token(SECRET, now=time.time() - 3600)).status == 403
    token = new_login_token(SECRET)
    assert attempt(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")).status == 403
    assert attempt(token).status == 302


# ------------------------------------------------------------ output hygiene


def test_the_error_parameter_selects_a_fixed_text_and_never_shows_its_own(client):
    cookies, _ = client.session("ana")
    lie = "Your session expired. Log in again at https://evil.example"
    page = client.get("/conversation", cookies, params={"id": "customer-1", "error": lie})
    assert page.status == 200 and "evil.example" not in page.text
    assert 'role="alert"' not in page.text
    coded = client.get("/conversation?id=customer-1&error=missing_tag", cookies)
    assert '<p class="error" role="alert">Type a tag first.</p>' in coded.text


def _security_headers(response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "same-origin"


def test_every_response_carries_the_security_headers(client):
    cookies, csrf = client.session("ana")
    responses = {
        "redirect to login": client.get("/conversations"),
        "login page": client.get("/login"),
        "401": client.post("/handoffs/take", {"request_id": "1"}),
        "403 csrf": client.post("/handoffs/take", {"request_id": "1"}, cookies),
        "404": client.get("/conversation?id=nobody", cookies),
        "404 route": client.get("/no-such-page", cookies),
        "static": client.get("/static/app.css"),
        "health": client.get("/health"),
        "redirect after login": client.get("/", cookies),
        "page": client.get("/conversations", cookies),
    }
    for name, response in responses.items():
        assert response.status < 500, name
        _security_headers(response)
    for name in ("page", "redirect after login", "404", "403 csrf", "login page"):
        assert responses[name].headers["cache-control"] == "no-store", name
    assert "no-store" not in responses["static"].headers.get("cache-control", "")


@pytest.mark.parametrize(
    "query",
    [
        "since=9999-01-01&until=9999-12-31",
        "until=9999-12-31",
        "until=0001-01-05",
        "since=0001-01-01&until=0001-12-01",
        "since=1969-01-01&until=1969-12-31",
    ],
)
def test_absurd_dashboard_dates_get_a_400_page(client, query):
    cookies, _ = client.session("ana")
    response = client.get(f"/dashboard?{query}", cookies)
    assert response.status == 400
    assert "Choose dates from 1970-01-01" in response.text


@pytest.mark.parametrize("path", ["/static/", "/static/.", "/static//"])
def test_the_static_folder_itself_is_not_found_not_an_error(client, path):
    response = client.get(path)
    assert response.status == 404
    _security_headers(response)


def test_customer_words_and_ids_are_isolated_in_bdi(client):
    cookies, _ = client.session("ana")
    page = client.get("/conversation", cookies, params={"id": SPOOF_ID}).text
    assert f'<h1 class="conversation-title"><bdi>{SPOOF_ID}</bdi></h1>' in page
    assert f'<div class="bubble"><bdi>refund {RLO}dnufer</bdi></div>' in page
    listing = client.get("/conversations", cookies).text
    assert f'class="conversation-link">{SPOOF_ID}</a></bdi>' in listing
    queue = client.get("/handoffs", cookies).text
    assert '<td class="last-message"><bdi>a person please</bdi></td>' in queue


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_files_are_readable_by_their_owner_only(tmp_path):
    fresh = tmp_path / "new" / "shopdesk.db"
    open_database(f"sqlite:///{fresh}").dispose()
    assert _mode(fresh) == 0o600
    assert _mode(fresh.parent) == 0o700
    assert not any(_mode(path) & 0o077 for path in fresh.parent.iterdir())
    old = tmp_path / "old.db"
    old.touch(mode=0o644)
    os.chmod(old, 0o644)
    wal = tmp_path / "old.db-wal"
    wal.touch()
    os.chmod(wal, 0o666)
    engine_for(f"sqlite:///{old}").dispose()
    assert (_mode(old), _mode(wal)) == (0o600, 0o600)


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize("password", ["1234567890", "qwertyuiop", "Password123", "iloveyou123"])
def test_common_passwords_are_refused(db, password):
    accounts = StaffAccounts(f"sqlite:///{db}")
    with pytest.raises(StaffError, match="common passwords"):
        accounts.create("zoe", password)
    with pytest.raises(StaffError, match="common passwords"):
        accounts.set_password("rui", password)
    assert accounts.log_in("rui", REVIEWERS["rui"], "10.0.0.4") is not None  # unchanged


def test_a_password_with_the_user_name_in_it_is_refused(db):
    accounts = StaffAccounts(f"sqlite:///{db}")
    with pytest.raises(StaffError, match="user name"):
        accounts.create("marta", "Marta-2026-spring")
    assert accounts.create("marta", "plum ladder orbit").username == "marta"


def test_the_command_line_refuses_a_common_password(db, monkeypatch, capsys):
    from bot.storage.password_policy import COMMON_PASSWORDS, common_passwords

    assert COMMON_PASSWORDS.suffix == ".txt" and len(common_passwords()) >= 10_000
    monkeypatch.setenv("SHOPDESK_DB_URL", f"sqlite:///{db}")
    for command in (["staff", "add", "zoe"], ["staff", "passwd", "rui"]):
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO("1q2w3e4r5t\n"))
        assert shopdesk([*command, "--password-stdin"]) == 2
        assert "common passwords" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("plum ladder orbit\n"))
    assert shopdesk(["staff", "add", "zoe", "--password-stdin"]) == 0


# ------------------------------------------------------------- authorization


@pytest.fixture()
def rasa() -> Iterator[FakeRasa]:
    server = FakeRasa()
    yield server
    server.close()


def _open_requests(client: Client) -> list[tuple[str, str | None]]:
    return [(h.status, h.taken_by) for h in client.app.ctx.records.open_handoffs()]


@pytest.mark.parametrize(
    "who, allowed", [("rui", True), ("eva", False), ("ana", True)]
)  # the holder, a colleague, an admin
def test_only_the_holder_or_an_admin_gives_a_taken_conversation_back(db, rasa, who, allowed):
    client = Client(db, rasa_url=rasa.url, rasa_token="t")
    try:
        rui, rui_csrf = client.session("rui")
        request_id = client.app.ctx.records.open_handoffs()[0].id
        taken = client.post(
            "/handoffs/take", {"request_id": request_id, "csrf_token": rui_csrf}, rui
        )
        assert taken.status == 302
        cookies, csrf = client.session(who)
        queue = client.get("/handoffs", cookies).text
        assert ('action="/handoffs/release"' in queue) == allowed
        form = {"conversation_id": "customer-1", "csrf_token": csrf}
        response = client.post("/handoffs/release", form, cookies)
        if allowed:
            assert response.status == 302
            assert _open_requests(client) == []
            assert len(rasa.calls) == 1
        else:
            assert response.status == 403
            assert "rui has taken this conversation" in html.unescape(response.text)
            assert _open_requests(client) == [("taken", "rui")]
            assert rasa.calls == []
    finally:
        client.close()


def test_a_request_nobody_took_may_be_given_back_by_any_reviewer(db, rasa):
    client = Client(db, rasa_url=rasa.url, rasa_token="t")
    try:
        cookies, csrf = client.session("eva")
        form = {"conversation_id": "customer-1", "csrf_token": csrf}
        assert client.post("/handoffs/release", form, cookies).status == 302
        assert _open_requests(client) == []
    finally:
        client.close()


@pytest.mark.parametrize(
    "who, allowed", [("rui", True), ("eva", False), ("ana", True)]
)  # the author, a colleague, an admin
def test_only_a_tags_author_or_an_admin_removes_it(client, who, allowed):
    rui, rui_csrf = client.session("rui")
    base = {"conversation_id": "customer-1"}
    tag = {**base, "action": "tag", "tag": "vip", "csrf_token": rui_csrf}
    assert client.post("/conversation/review", tag, rui).status == 302
    cookies, csrf = client.session(who)
    page = client.get("/conversation?id=customer-1", cookies).text
    assert ('aria-label="remove tag vip"' in page) == allowed
    untag = {**base, "action": "untag", "tag": "vip", "csrf_token": csrf}
    response = client.post("/conversation/review", untag, cookies)
    tags = client.app.ctx.reviews.conversation_review("customer-1").tags
    if allowed:
        assert response.status == 302 and tags == ()
    else:
        assert response.status == 403 and tags == ("vip",)
        assert "Only whoever added a tag, or an admin, may remove it." in response.text
