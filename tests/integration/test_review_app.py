"""Security tests of the review app's handlers: logins, sessions, CSRF, stored XSS, SQL
injection and admin-only export, against conversations logged by Rasa's real SQLTrackerStore.

Each test gets its own copy of one SQLite database, so a refused request can be shown to
have changed nothing.
"""

from __future__ import annotations

import html
import http.client
import re
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sanic import Sanic
from sqlalchemy import inspect, text

from bot.learning.export import ExportPaths
from bot.review_app import create_app
from bot.review_app.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, new_login_token
from bot.review_app.settings import ReviewAppSettings
from bot.storage.database import engine_for
from bot.storage.handoffs_and_feedback import Records
from bot.storage.login_limits import FREE_FAILURES_PER_USER_AND_ADDRESS
from bot.storage.reviews import ReviewStore
from bot.storage.staff import StaffAccounts
from tests.helpers.http import ServedInThread, serve_in_tests
from tests.helpers.logged_conversations import bot_says, conversation_events, save, user

ADMIN = ("ana", "correct horse battery")
REVIEWER = ("rui", "staple lemon radio")

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SVG = '"><svg onload=alert(1)>'
TEXTAREA = "</textarea><script>alert(1)</script>"
JS_URL = "javascript:alert(1)"
# Markup that must never reach a page unescaped (shortcuts.js is the only script tag).
RAW_MARKUP = ("<script>alert", "<img src=x", "<svg onload", '"><svg', "</textarea><script")

XSS_ID = SVG  # a conversation (sender) id is chosen by whoever calls the REST channel
LIKE_CONVERSATIONS = {"%": "discount-1", "_": "voucher-1", "\\": "invoice-1"}

GET_PAGES = (
    "/",
    "/conversations",
    "/conversation?id=customer-1",
    "/inbox",
    "/handoffs",
    "/dashboard",
    "/export",
    "/retrain",
)
POST_ROUTES = (
    "/conversation/message",
    "/conversation/review",
    "/export",
    "/logout",
    "/inbox/label",
    "/handoffs/take",
    "/handoffs/release",
    "/retrain",
)
# Rows that requests may write without changing any state (the search index, login attempts).
NOT_STATE = {
    "message_index",
    "conversation_index",
    "index_state",
    "login_attempts",
    "shopdesk_alembic_version",
}


def _events() -> dict[str, list]:
    """Conversations worth attacking: payloads in messages and ids, LIKE wildcards, channels."""
    return {
        "customer-1": conversation_events(),
        "customer-2": [
            user("refund please, the boots pinch", "get_refund", 0.88, channel="facebook"),
            bot_says("Refunds take 5 days.", kind="template", id="faq:get_refund"),
        ],
        XSS_ID: [
            user(SCRIPT, "out_of_scope", 0.41),
            bot_says(f"Sorry, I can't help with {IMG}", kind="rephrase"),
            user(IMG, "nlu_fallback", 0.2, ranking=[("nlu_fallback", 0.3), ("review", 0.2)]),
            user(f"look at {JS_URL} and {SVG}", "complaint", 0.6),
        ],
        LIKE_CONVERSATIONS["%"]: [user("is there a 20% discount on linen?", "review", 0.5)],
        LIKE_CONVERSATIONS["_"]: [user("my voucher SPRING_24 fails", "payment_issue", 0.7)],
        LIKE_CONVERSATIONS["\\"]: [user("the invoice says 12\\B, not 12B", "check_invoice", 0.8)],
    }


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logged once per module; every test copies it (logging through Rasa is the slow part)."""
    folder = tmp_path_factory.mktemp("review-app-db")
    url = f"sqlite:///{folder / 'shopdesk.db'}"
    for sender, events in _events().items():
        save(url, sender, events)
    records = Records(url)
    records.record_feedback("customer-1", "transcript:t-1", False, 14.2)
    records.request_handoff("customer-1", "asked_for_human", "actually I want a person")
    records.request_handoff(XSS_ID, "complaint", f"{SCRIPT} {IMG}")
    records.engine.dispose()
    accounts = StaffAccounts(url)
    accounts.create(ADMIN[0], ADMIN[1], "admin")
    accounts.create(REVIEWER[0], REVIEWER[1], "reviewer")
    accounts.engine.dispose()
    return folder / "shopdesk.db"


@dataclass(frozen=True)
class Login:
    cookies: dict[str, str]
    csrf: str


@dataclass
class Site:
    """The app under test on its own database, with the requests a browser would make."""

    app: Sanic
    db_url: str
    root: Path  # where export writes

    def get(self, path: str, login: Login | None = None, **kwargs):
        cookies = login.cookies if login else kwargs.pop("cookies", {})
        _, response = self.app.test_client.get(
            path, cookies=cookies, allow_redirects=False, **kwargs
        )
        return response

    def post(self, path: str, data: dict | None = None, login: Login | None = None, **kwargs):
        cookies = login.cookies if login else kwargs.pop("cookies", {})
        _, response = self.app.test_client.post(
            path, data=data or {}, cookies=cookies, allow_redirects=False, **kwargs
        )
        return response

    def login_token(self) -> str:
        page = self.get("/login")
        assert page.status == 200
        token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)
        assert page.cookies.get(LOGIN_CSRF_COOKIE) == token
        return token

    def log_in(self, username: str, password: str, next_path: str = ""):
        """Submit the real login form, with its token in the field and the cookie."""
        token = self.login_token()
        form = {"login_token": token, "username": username, "password": password}
        if next_path:
            form["next"] = next_path
        return self.post("/login", form, cookies={LOGIN_CSRF_COOKIE: token})

    def session(self, who: tuple[str, str] = ADMIN) -> Login:
        response = self.log_in(*who)
        assert response.status == 302, response.text
        cookies = {SESSION_COOKIE: session_cookie(response)}
        page = self.get("/conversations", cookies=cookies)
        assert page.status == 200
        return Login(cookies, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1))

    def reviews(self) -> ReviewStore:
        return self.app.ctx.reviews

    def event_id(self, conversation_id: str, index: int = 0) -> int:
        return self.app.ctx.log.read(conversation_id).user_turns[index].event_id

    def state(self) -> dict[str, list[str]]:
        """Every row of every table that holds state (review, handoffs, sessions, ...)."""
        engine = self.app.ctx.engine
        tables = sorted(set(inspect(engine).get_table_names()) - NOT_STATE)
        with engine.connect() as connection:
            return {
                table: sorted(
                    repr(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {table}"))
                )
                for table in tables
            }

    def written(self) -> list[Path]:
        return sorted(path for path in self.root.rglob("*") if path.is_file())


@pytest.fixture()
def site(template_db: Path, tmp_path: Path) -> Iterator[Site]:
    for file in template_db.parent.glob(f"{template_db.name}*"):
        shutil.copy(file, tmp_path / file.name)
    url = f"sqlite:///{tmp_path / template_db.name}"
    root = tmp_path / "project"
    app = create_app(ReviewAppSettings(db_url=url, export_paths=ExportPaths.under(root)))
    serve_in_tests(app)
    yield Site(app, url, root)
    for holder in (app.ctx.staff, app.ctx.log, app.ctx.reviews, app.ctx.records):
        holder.engine.dispose()


def set_cookies(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def session_cookie(response) -> str | None:
    """The session token a response hands out, if any (a deletion does not count)."""
    for header in set_cookies(response):
        name, _, rest = header.partition("=")
        value = rest.split(";")[0].strip('"')
        if name == SESSION_COOKIE and value and "max-age=0" not in header.lower():
            return value
    return None


def sessions_in_db(site: Site) -> int:
    with site.app.ctx.engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM staff_sessions"))


def listed(page) -> list[str]:
    """Conversation ids on a list page, in order."""
    return [
        html.unescape(found)
        for found in re.findall(r'class="conversation-link">([^<]*)<', page.text)
    ]


def count(page) -> int:
    return int(re.search(r'class="count">(\d+)<', page.text).group(1))


def alert(page) -> str:
    found = re.search(r'role="alert">([^<]*)<', page.text)
    return html.unescape(found.group(1)) if found else ""


def assert_no_raw_markup(body: str) -> None:
    for markup in RAW_MARKUP:
        assert markup not in body, f"unescaped {markup!r} in the page"
    assert 'href="javascript:' not in body.replace(" ", "")


# ------------------------------------------------------------------ no session


@pytest.mark.parametrize("path", GET_PAGES)
def test_pages_send_visitors_without_a_session_to_the_login(site: Site, path: str) -> None:
    for cookies in ({}, {SESSION_COOKIE: "forged-token"}):
        response = site.get(path, cookies=cookies)
        assert response.status == 302
        location = urlsplit(response.headers["location"])
        assert location.path == "/login"
        assert parse_qs(location.query)["next"] == [path]  # back where they were going
        assert "Conversations" not in response.text


@pytest.mark.parametrize("path", POST_ROUTES)
def test_posts_without_a_session_get_401(site: Site, path: str) -> None:
    before = site.state()
    for cookies in ({}, {SESSION_COOKIE: "forged-token"}):
        response = site.post(
            path, {"conversation_id": "customer-1", "csrf_token": "x"}, cookies=cookies
        )
        assert response.status == 401
        assert response.json == {"error": "login required"}
    assert site.state() == before
    assert site.written() == []


def test_api_paths_answer_401_not_a_login_redirect(site: Site) -> None:
    response = site.get("/api/conversations")
    assert response.status == 401
    assert response.json == {"error": "login required"}


def test_login_health_and_static_files_answer_without_a_session(site: Site) -> None:
    login = site.get("/login")
    assert login.status == 200
    assert 'action="/login"' in login.text and 'name="password"' in login.text
    health = site.get("/health")
    assert (health.status, health.text) == (200, "ok")
    css = site.get("/static/app.css")
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")
    assert site.get("/static/shortcuts.js").status == 200
    # The static folder does not hand out the app's code.
    assert site.get("/static/..%2F__init__.py").status == 404


def test_an_expired_session_or_a_disabled_account_is_refused(site: Site) -> None:
    admin = site.session(ADMIN)
    with site.app.ctx.engine.begin() as connection:
        connection.execute(text("UPDATE staff_sessions SET expires_at = '2000-01-01 00:00:00'"))
    assert site.get("/conversations", admin).status == 302
    reviewer = site.session(REVIEWER)
    site.app.ctx.staff.disable(REVIEWER[0])
    assert site.get("/conversations", reviewer).status == 302
    assert site.log_in(*REVIEWER).status == 401


# ------------------------------------------------------------------------ login


def test_login_needs_the_forms_token_in_the_field_and_the_cookie(site: Site) -> None:
    token = site.login_token()
    username, password = ADMIN
    attempts = [
        ({"username": username, "password": password}, {LOGIN_CSRF_COOKIE: token}),
        ({"login_token": token, "username": username, "password": password}, {}),
        (
            {"login_token": token, "username": username, "password": password},
            {LOGIN_CSRF_COOKIE: site.login_token()},
        ),
        ({"login_token": "", "username": username, "password": password}, {LOGIN_CSRF_COOKIE: ""}),
    ]
    for form, cookies in attempts:
        response = site.post("/login", form, cookies=cookies)
        assert response.status == 403
        assert session_cookie(response) is None
        assert "login form expired" in alert(response)
    assert sessions_in_db(site) == 0


def test_another_login_page_in_the_same_browser_keeps_the_form_on_screen_valid(
    site: Site,
) -> None:
    """Browsers fetch /favicon.ico, which is redirected to /login: found in the browser test."""
    token = site.login_token()
    favicon = site.get("/favicon.ico", cookies={LOGIN_CSRF_COOKIE: token})
    assert favicon.status == 302
    again = site.get(favicon.headers["location"], cookies={LOGIN_CSRF_COOKIE: token})
    assert again.cookies.get(LOGIN_CSRF_COOKIE) == token
    form = {"login_token": token, "username": ADMIN[0], "password": ADMIN[1]}
    response = site.post("/login", form, cookies={LOGIN_CSRF_COOKIE: token})
    assert response.status == 302 and session_cookie(response) is not None
    # A cookie that is not one of ours is replaced, not echoed into the page.
    forged = site.get("/login", cookies={LOGIN_CSRF_COOKIE: '"><svg onload=alert(1)>'})
    assert forged.cookies.get(LOGIN_CSRF_COOKIE) != '"><svg onload=alert(1)>'
    assert_no_raw_markup(forged.text)


def test_a_wrong_password_gets_401_and_no_session(site: Site) -> None:
    for username, password in [
        (ADMIN[0], "correct horse battery!"),
        ("nobody", ADMIN[1]),
        ("' OR 1=1 --", "' OR '1'='1"),
    ]:
        response = site.log_in(username, password)
        assert response.status == 401
        assert session_cookie(response) is None
        assert alert(response) == "Wrong user name or password."
    assert sessions_in_db(site) == 0


def test_a_login_sets_an_httponly_samesite_session_cookie(site: Site) -> None:
    response = site.log_in(*ADMIN)
    assert response.status == 302
    assert response.headers["location"] == "/conversations"
    header = next(h for h in set_cookies(response) if h.startswith(f"{SESSION_COOKIE}="))
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert sessions_in_db(site) == 1
    # The token in the cookie is not what the database keeps.
    with site.app.ctx.engine.connect() as connection:
        stored = connection.scalar(text("SELECT token_hash FROM staff_sessions"))
    assert session_cookie(response) not in stored
    page = site.get("/conversations", cookies={SESSION_COOKIE: session_cookie(response)})
    assert page.status == 200 and "ana · admin" in page.text


def test_a_login_follows_next_only_to_paths_of_this_site(site: Site) -> None:
    assert site.log_in(*ADMIN, next_path="/export").headers["location"] == "/export"
    for target in (
        "//evil.example",
        "//evil.example/conversations",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
    ):
        response = site.log_in(*ADMIN, next_path=target)
        assert response.status == 302
        location = response.headers["location"]
        assert location == "/conversations", (target, location)
    # A browser drops tabs and newlines from URLs; "/\t/evil.example" must not become "//...".
    location = site.log_in(*ADMIN, next_path="/\t/evil.example").headers["location"]
    assert not re.sub(r"[\t\r\n]", "", location).startswith("//")
    assert urlsplit(location).netloc == ""


def test_the_login_page_escapes_next(site: Site) -> None:
    page = site.get("/login?next=/%22%3E%3Csvg%20onload=alert(1)%3E")
    assert page.status == 200
    assert_no_raw_markup(page.text)


def test_logout_ends_the_session_on_the_server(site: Site) -> None:
    login = site.session(ADMIN)
    other = site.session(ADMIN)  # another browser of the same person stays logged in
    response = site.post("/logout", {"csrf_token": login.csrf}, login)
    assert response.status == 302 and response.headers["location"] == "/login"
    deletion = next(h for h in set_cookies(response) if h.startswith(f"{SESSION_COOKIE}="))
    assert "max-age=0" in deletion.lower()
    # A copy of the old cookie is worth nothing now.
    assert site.get("/conversations", login).status == 302
    form = {"conversation_id": "customer-1", "action": "reviewed", "value": "1"}
    assert (
        site.post("/conversation/review", {**form, "csrf_token": login.csrf}, login).status == 401
    )
    assert not site.reviews().conversation_review("customer-1").reviewed
    assert site.get("/conversations", other).status == 200
    assert sessions_in_db(site) == 1


def test_the_sixth_login_after_five_failures_is_refused_even_with_the_right_password(
    site: Site,
) -> None:
    for _ in range(FREE_FAILURES_PER_USER_AND_ADDRESS):
        assert site.log_in(ADMIN[0], "not the password").status == 401
    response = site.log_in(*ADMIN)
    assert response.status == 429
    assert response.headers["retry-after"] == "10"  # the first of the growing delays
    assert session_cookie(response) is None
    assert "Too many failed logins" in alert(response)
    assert sessions_in_db(site) == 0
    # The limit is per user name and address: a colleague at the same address gets in
    # (tests/integration/test_review_hardening.py: and ana herself from any other address).
    assert session_cookie(site.log_in(*REVIEWER)) is not None


# ------------------------------------------------------------------------- CSRF


def _state_changes(site: Site) -> list[tuple[str, dict[str, str]]]:
    event = str(site.event_id("customer-1", 1))
    conversation = {"conversation_id": "customer-1"}
    return [
        ("/conversation/review", {**conversation, "action": "reviewed", "value": "1"}),
        ("/conversation/review", {**conversation, "action": "tag", "tag": "refunds"}),
        ("/conversation/review", {**conversation, "action": "note", "note": "call back"}),
        (
            "/conversation/message",
            {**conversation, "event_id": event, "action": "correct", "intent": "get_refund"},
        ),
        ("/conversation/message", {**conversation, "event_id": event, "action": "exclude"}),
        ("/export", {}),
        ("/logout", {}),
        ("/inbox/label", {"event_id": event, "intent": "get_refund"}),
        ("/handoffs/take", conversation),
        ("/handoffs/release", conversation),
    ]


def test_posts_without_the_sessions_csrf_token_are_refused_and_change_nothing(
    site: Site,
) -> None:
    login, other = site.session(ADMIN), site.session(REVIEWER)
    before = site.state()
    for path, form in _state_changes(site):
        for attempt in (
            form,
            {**form, "csrf_token": ""},
            {**form, "csrf_token": login.csrf + "x"},
            {**form, "csrf_token": other.csrf},  # a valid token, but of someone else's session
        ):
            response = site.post(path, attempt, login)
            assert response.status == 403, (path, attempt)
        wrong_header = site.post(path, form, login, headers={"X-CSRF-Token": "nope"})
        assert wrong_header.status == 403
    assert site.state() == before
    assert site.written() == []
    assert site.get("/conversations", login).status == 200  # not even logged out


def test_posts_with_the_csrf_token_review_the_conversation(site: Site) -> None:
    login = site.session(ADMIN)
    fallback = site.event_id("customer-1", 1)  # "how do I wash a linen duvet cover"
    base = {"csrf_token": login.csrf, "conversation_id": "customer-1"}

    response = site.post(
        "/conversation/review", {**base, "action": "reviewed", "value": "1"}, login
    )
    assert response.status == 302
    assert response.headers["location"] == "/conversation?id=customer-1"
    response = site.post(
        "/conversation/message",
        {**base, "event_id": str(fallback), "action": "correct", "intent": "out_of_scope"},
        login,
    )
    assert response.headers["location"] == f"/conversation?id=customer-1#m{fallback}"
    site.post("/conversation/review", {**base, "action": "tag", "tag": "Laundry"}, login)
    # The header works as well as the form field (for scripts).
    response = site.post(
        "/conversation/review",
        {"conversation_id": "customer-1", "action": "note", "note": "asked about washing"},
        login,
        headers={"X-CSRF-Token": login.csrf},
    )
    assert response.status == 302

    review = site.reviews().conversation_review("customer-1")
    assert review.reviewed and review.updated_by == "ana"
    assert review.tags == ("laundry",)
    assert [(note, author) for note, author, _ in review.notes] == [("asked about washing", "ana")]
    message = site.reviews().message_reviews("customer-1")[fallback]
    assert (message.corrected_intent, message.reviewed_by) == ("out_of_scope", "ana")

    page = site.get("/conversation?id=customer-1", login)
    assert "corrected to <strong>out_of_scope</strong>" in page.text
    assert "Mark not reviewed" in page.text
    assert '<span class="tag">laundry</span>' in page.text
    assert "asked about washing" in page.text
    listing = site.get("/conversations?reviewed=yes", login)
    assert listed(listing) == ["customer-1"]


def test_an_unknown_intent_is_refused_with_a_visible_error(site: Site) -> None:
    login = site.session(ADMIN)
    event = site.event_id("customer-1", 1)
    for intent in ("free_money", SCRIPT):
        response = site.post(
            "/conversation/message",
            {
                "csrf_token": login.csrf,
                "conversation_id": "customer-1",
                "event_id": str(event),
                "action": "correct",
                "intent": intent,
            },
            login,
        )
        assert response.status == 302
        page = site.get(response.headers["location"], login)
        assert page.status == 200
        # A fixed text for the error's code: the URL carries no words to show.
        assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["unknown_intent"]
        assert alert(page) == "That is not an intent of the domain; choose one from the list."
        assert_no_raw_markup(page.text)
    assert site.reviews().message_reviews("customer-1") == {}


def test_a_message_of_another_conversation_cannot_be_reviewed_through_this_one(
    site: Site,
) -> None:
    login = site.session(ADMIN)
    foreign = site.event_id("customer-2")
    response = site.post(
        "/conversation/message",
        {
            "csrf_token": login.csrf,
            "conversation_id": "customer-1",
            "event_id": str(foreign),
            "action": "exclude",
        },
        login,
    )
    assert response.status == 404
    assert site.reviews().message_reviews() == {}


# ------------------------------------------------------------------ stored XSS


def _review_with_payloads(site: Site, login: Login) -> None:
    base = {"csrf_token": login.csrf, "conversation_id": XSS_ID}
    for tag in (JS_URL, IMG):
        assert (
            site.post("/conversation/review", {**base, "action": "tag", "tag": tag}, login).status
            == 302
        )
    for note in (SCRIPT, f"see {JS_URL}"):
        assert (
            site.post(
                "/conversation/review", {**base, "action": "note", "note": note}, login
            ).status
            == 302
        )
    response = site.post(
        "/conversation/message",
        {
            **base,
            "event_id": str(site.event_id(XSS_ID)),
            "action": "approve",
            "answer": TEXTAREA,
        },
        login,
    )
    assert response.status == 302


def test_payloads_in_messages_ids_tags_and_notes_are_shown_escaped(site: Site) -> None:
    login = site.session(ADMIN)
    _review_with_payloads(site, login)
    review = site.reviews().conversation_review(XSS_ID)
    assert set(review.tags) == {JS_URL, IMG}  # stored as typed, only shown escaped

    page = site.get("/conversation", login, params={"id": XSS_ID})
    assert page.status == 200
    body = page.text
    assert_no_raw_markup(body)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # the customer's message
    assert "&lt;img src=x onerror=alert(1)&gt;" in body  # message, bot answer and tag
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in body  # the conversation id
    assert "&lt;/textarea&gt;&lt;script&gt;" in body  # the rewritten answer, in its textarea
    assert f'<bdi><span class="tag">{JS_URL}</span></bdi>' in body
    assert "see javascript:alert(1)" in body

    listing = site.get("/conversations", login)
    assert XSS_ID in listed(listing)
    assert_no_raw_markup(listing.text)
    assert 'href="/conversation?id=%22%3E%3Csvg%20onload%3Dalert%281%29%3E"' in listing.text

    # What staff type into the filters comes back escaped too.
    search = site.get("/conversations", login, params={"q": SCRIPT})
    assert listed(search) == [XSS_ID]
    assert_no_raw_markup(search.text)
    error = site.get("/conversation", login, params={"id": "customer-1", "error": SCRIPT})
    assert_no_raw_markup(error.text)
    assert alert(error) == ""  # the error parameter is a code, never text to show


@pytest.mark.parametrize("path", ["/inbox", "/handoffs", "/dashboard", "/export"])
def test_the_other_pages_escape_customer_words_too(site: Site, path: str) -> None:
    login = site.session(ADMIN)
    _review_with_payloads(site, login)
    page = site.get(path, login)
    assert page.status == 200
    assert_no_raw_markup(page.text)


@pytest.mark.parametrize(
    "path", ["/login", "/conversations", "/conversation?id=customer-1", "/export"]
)
def test_pages_carry_a_content_security_policy_without_inline_script(site: Site, path: str) -> None:
    login = site.session(ADMIN) if path != "/login" else None
    response = site.get(path, login)
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None  # no inline scripts


# --------------------------------------------------------------- SQL injection

INJECTIONS = ("' OR 1=1 --", '"; DROP TABLE events; --', "x' UNION SELECT * FROM staff_accounts --")


def _database_intact(site: Site, events_before: int) -> None:
    engine = engine_for(site.db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"events", "staff_accounts", "message_reviews", "message_index"} <= tables
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM events")) == events_before
            assert connection.scalar(text("SELECT count(*) FROM staff_accounts")) == 2
    finally:
        engine.dispose()


def _events_count(site: Site) -> int:
    with site.app.ctx.engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM events"))


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_strings_in_filters_are_only_text(site: Site, injection: str) -> None:
    login = site.session(ADMIN)
    events = _events_count(site)
    assert count(site.get("/conversations", login)) == len(_events())
    for name in ("q", "channel", "intent"):
        page = site.get("/conversations", login, params={name: injection})
        assert page.status == 200, (name, page.text[:300])
        assert count(page) == 0 and listed(page) == [], name
        assert_no_raw_markup(page.text)
    assert site.get("/conversation", login, params={"id": injection}).status == 404
    for name in ("answered_by", "reviewed", "since", "until", "below"):
        page = site.get("/conversations", login, params={name: injection})
        assert page.status == 400, name
        assert alert(page)
    _database_intact(site, events)
    # Injections typed into review fields are stored as the text they are.
    base = {"csrf_token": login.csrf, "conversation_id": "customer-2"}
    site.post("/conversation/review", {**base, "action": "tag", "tag": injection}, login)
    site.post("/conversation/review", {**base, "action": "note", "note": injection}, login)
    review = site.reviews().conversation_review("customer-2")
    assert review.tags == (injection.lower(),)
    assert [note for note, _, _ in review.notes] == [injection]
    _database_intact(site, events)


@pytest.mark.parametrize("character", sorted(LIKE_CONVERSATIONS))
def test_like_wildcards_in_the_search_match_only_themselves(site: Site, character: str) -> None:
    login = site.session(ADMIN)
    page = site.get("/conversations", login, params={"q": character})
    assert page.status == 200
    assert listed(page) == [LIKE_CONVERSATIONS[character]]
    assert count(page) == 1


def test_filters_combine_and_match_what_they_say(site: Site) -> None:
    login = site.session(ADMIN)
    assert listed(site.get("/conversations", login, params={"channel": "facebook"})) == [
        "customer-2"
    ]
    assert listed(site.get("/conversations", login, params={"q": "LINEN  duvet"})) == ["customer-1"]
    fallback = set(listed(site.get("/conversations", login, params={"answered_by": "fallback"})))
    assert fallback == {"customer-1", XSS_ID}
    negative = listed(site.get("/conversations", login, params={"negative": "1"}))
    assert negative == ["customer-1"]
    low = set(listed(site.get("/conversations", login, params={"below": "0.45"})))
    assert low == {"customer-1", XSS_ID}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "yesterday"}, "from must be a date like 2026-11-26."),
        ({"until": "2026-02-30"}, "to must be a date like 2026-11-26."),
        ({"until": "9999-12-31"}, "to must be a date like 2026-11-26."),
        ({"below": "5"}, "confidence must be a number between 0 and 1."),
        ({"below": "nan"}, "confidence must be a number between 0 and 1."),
        ({"below": "lots"}, "confidence must be a number between 0 and 1."),
        ({"page": "abc"}, "page must be a number."),
        ({"page": "99999999999999999999"}, "page must be a number from 1 to 100000."),
        ({"reviewed": "maybe"}, "reviewed must be yes or no."),
        ({"answered_by": "robot"}, "answered by must be one of fallback, retrieval, handoff."),
    ],
)
def test_malformed_filters_get_a_400_page_with_the_reason(
    site: Site, query: dict[str, str], message: str
) -> None:
    login = site.session(ADMIN)
    page = site.get("/conversations", login, params=query)
    assert page.status == 400
    assert alert(page) == message
    assert 'id="filters"' in page.text  # the form is there to fix it


# ----------------------------------------------------------------------- export


def test_a_reviewer_cannot_export(site: Site) -> None:
    login = site.session(REVIEWER)
    page = site.get("/export", login)
    assert page.status == 200
    assert "Only admins can export." in page.text
    assert 'action="/export"' not in page.text
    response = site.post("/export", {"csrf_token": login.csrf}, login)
    assert response.status == 403
    assert site.written() == []


def test_an_admin_exports_the_reviewed_messages_under_the_project_folder(site: Site) -> None:
    login = site.session(ADMIN)
    fallback = site.event_id("customer-1", 1)
    site.post(
        "/conversation/message",
        {
            "csrf_token": login.csrf,
            "conversation_id": "customer-1",
            "event_id": str(fallback),
            "action": "correct",
            "intent": "out_of_scope",
        },
        login,
    )
    page = site.post("/export", {"csrf_token": login.csrf}, login)
    assert page.status == 200
    report = html.unescape(re.search(r'id="export-report">([^<]*)<', page.text).group(1))
    nlu = site.root / "data" / "nlu" / "reviewed.yml"
    assert f"{nlu}: 1 new, 1 in all" in report
    assert site.written() == [nlu]
    written = nlu.read_text(encoding="utf-8")
    assert "intent: out_of_scope" in written
    assert "how do I wash a linen duvet cover" in written
    # Again: nothing twice.
    again = site.post("/export", {"csrf_token": login.csrf}, login)
    assert f"{nlu}: 0 new, 1 in all" in html.unescape(again.text)


# ------------------------------------------------------------- off the event loop

HOLD = 20  # seconds a held call waits for the test before giving up
PAGE_TIMEOUT = 10  # the page must come back sooner, while the other request is held


class HeldCall:
    """Stands in for one of the app's blocking calls: its first call waits (in whatever thread
    the app runs it) until the test lets go, then does the real work; later calls pass."""

    def __init__(self, real) -> None:
        self.real = real
        self.entered, self.go = threading.Event(), threading.Event()
        self.let_go_in_time: bool | None = None
        self._first = threading.Lock()

    def __call__(self, *args, **kwargs):
        if self._first.acquire(blocking=False):
            self.entered.set()
            self.let_go_in_time = self.go.wait(HOLD)
        return self.real(*args, **kwargs)


def status_of(
    url: str,
    method: str = "GET",
    form: dict | None = None,
    cookies: dict | None = None,
    timeout: float = 60,
) -> int:
    """The status of one plain HTTP request (redirects not followed); 0 when none came."""
    parts = urlsplit(url)
    headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in (cookies or {}).items())}
    body = urlencode(form or {}) if form is not None else None
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, parts.path or "/", body=body, headers=headers)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0  # timed out: the server never answered
    finally:
        connection.close()


@pytest.fixture()
def served(template_db: Path, tmp_path: Path) -> Iterator[tuple]:
    """A fresh app on a copy of the database over real HTTP, and a logged-in admin."""
    for file in template_db.parent.glob(f"{template_db.name}*"):
        shutil.copy(file, tmp_path / file.name)
    url = f"sqlite:///{tmp_path / template_db.name}"
    app = create_app(
        ReviewAppSettings(
            db_url=url, export_paths=ExportPaths.under(tmp_path / "project"), login_secret=b"k"
        )
    )
    admin = app.ctx.staff.log_in(*ADMIN, "127.0.0.1")
    with ServedInThread(app) as server:
        yield app, server, Login({SESSION_COOKIE: admin.token}, admin.csrf_token)
    for holder in (app.ctx.staff, app.ctx.log, app.ctx.reviews, app.ctx.records):
        holder.engine.dispose()


def _hold(app, monkeypatch, what: str) -> tuple[HeldCall, str, str, dict | None]:
    """Hold `what` and say which request reaches it: (held, method, path, form)."""
    import bot.review_app.pages.conversations as conversations_page
    import bot.review_app.pages.export as export_page

    if what == "export":
        held = HeldCall(export_page.export_reviewed)
        monkeypatch.setattr(export_page, "export_reviewed", held)
        return held, "POST", "/export", {}
    if what == "conversation list":
        held = HeldCall(conversations_page.find_conversations)
        monkeypatch.setattr(conversations_page, "find_conversations", held)
        return held, "GET", "/conversations", None
    if what == "session check":
        held = HeldCall(app.ctx.staff.session_for)
        monkeypatch.setattr(app.ctx.staff, "session_for", held)
        return held, "GET", "/conversations", None
    held = HeldCall(app.ctx.staff.log_in)  # a login: Argon2id and the database
    monkeypatch.setattr(app.ctx.staff, "log_in", held)
    token = new_login_token(b"k")
    form = {"login_token": token, "username": REVIEWER[0], "password": REVIEWER[1]}
    return held, "POST", "/login", {**form, LOGIN_CSRF_COOKIE: token}


@pytest.mark.parametrize("what", ["export", "conversation list", "session check", "login"])
def test_pages_answer_while_another_request_is_held_in_blocking_work(served, monkeypatch, what):
    app, server, admin = served
    held, method, path, form = _hold(app, monkeypatch, what)
    cookies = dict(admin.cookies)
    if form is not None:
        if LOGIN_CSRF_COOKIE in form:
            cookies = {LOGIN_CSRF_COOKIE: form.pop(LOGIN_CSRF_COOKIE)}
        else:
            form["csrf_token"] = admin.csrf
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(status_of, f"{server.url}{path}", method, form, cookies)
        assert held.entered.wait(HOLD), f"the {what} never started"
        page = status_of(f"{server.url}/handoffs", cookies=admin.cookies, timeout=PAGE_TIMEOUT)
        held.go.set()
        finished = slow.result(HOLD + 30)
    assert page == 200, f"no page while the {what} was held (the event loop was blocked)"
    assert held.let_go_in_time  # the held call was let go by the test, not by its timeout
    assert finished in (200, 302)  # and the held request then finished
