"""The review app in a real browser: Debian's headless chromium driven by Playwright, against
`shopdesk review-app` started as its own process on logged conversations.

It checks what handler tests cannot: that the forms, redirects, cookies, keyboard shortcuts
and CSP work together in a browser, that customer payloads never run, and that each action
lands in the database and the exported file. Screenshots of every page visited go to
`test-output/screenshots/`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.http import free_port
from tests.helpers.project import PROJECT_ROOT

pytestmark = pytest.mark.slow

SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
ADMIN = ("ana", "correct horse battery")
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
XSS_ID = '"><svg onload=alert(1)>'


@dataclass
class ReviewApp:
    base: str
    db_url: str
    project: Path  # where export writes (SHOPDESK_PROJECT_DIR)


def _log_conversations(url: str) -> None:
    from bot.storage.handoffs_and_feedback import Records
    from tests.helpers.logged_conversations import bot_says, conversation_events, save, user

    save(url, "customer-1", conversation_events())
    save(
        url,
        "customer-2",
        [
            user("refund please, the boots pinch", "get_refund", 0.88, channel="facebook"),
            bot_says("Refunds take 5 days.", kind="template", id="faq:get_refund"),
        ],
    )
    save(
        url,
        XSS_ID,
        [
            user(SCRIPT, "out_of_scope", 0.41),
            bot_says(f"Sorry, I can't help with {IMG}", kind="rephrase"),
            user(IMG, "nlu_fallback", 0.2, ranking=[("nlu_fallback", 0.3), ("review", 0.2)]),
        ],
    )
    records = Records(url)
    records.record_feedback("customer-1", "transcript:t-1", False, 14.2)
    records.request_handoff("customer-1", "asked_for_human", "actually I want a person")
    records.request_handoff(XSS_ID, "complaint", f"{SCRIPT} {IMG}")
    records.engine.dispose()


def _wait_for_health(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the review app exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the review app did not answer /health:\n{log.read_text()}")


@pytest.fixture(scope="module")
def review_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewApp]:
    folder = tmp_path_factory.mktemp("review-browser")
    url = f"sqlite:///{folder / 'shopdesk.db'}"
    project = folder / "project"
    env = {
        **os.environ,
        "SHOPDESK_DB_URL": url,
        "SHOPDESK_PROJECT_DIR": str(project),
        "RASA_TELEMETRY_ENABLED": "false",
    }
    env.pop("SHOPDESK_SECURE_COOKIES", None)  # plain http here
    _log_conversations(url)
    added = subprocess.run(
        [sys.executable, "-m", "bot.cli", "staff", "add", ADMIN[0], "--role", "admin"]
        + ["--password-stdin"],
        input=ADMIN[1] + "\n",
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    port = free_port()
    log = folder / "review-app.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "review-app", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(base, process, log)
        yield ReviewApp(base, url, project)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(review_app: ReviewApp, browser):
    """conftest's browser, launched only after the app's data is logged (logging it runs
    `asyncio.run`, which cannot run while Playwright's event loop does)."""
    return browser


@dataclass
class Watched:
    """What the page did that it should not: dialogs (a payload ran), errors, CSP reports."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _open(browser, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    watched = Watched()

    def on_dialog(dialog) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))

    def on_console(message) -> None:
        # Browsers ask for /favicon.ico, which the app does not have.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            watched.errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", on_console)
    return context, page, watched


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _log_in(page, app: ReviewApp) -> None:
    page.goto(f"{app.base}/conversations")
    assert page.url.startswith(f"{app.base}/login?next=")
    page.get_by_label("User name").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{app.base}/conversations")


def _reviews(app: ReviewApp):
    from bot.storage.reviews import ReviewStore

    return ReviewStore(app.db_url)


def _user_event_ids(app: ReviewApp, conversation_id: str) -> list[int]:
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog(app.db_url)
    try:
        return [turn.event_id for turn in log.read(conversation_id).user_turns]
    finally:
        log.engine.dispose()


def test_an_admin_reviews_a_conversation_and_exports_it(browser, review_app: ReviewApp) -> None:
    from playwright.sync_api import expect

    app = review_app
    context, page, watched = _open(browser)
    reviews = _reviews(app)
    first, fallback, *_ = _user_event_ids(app, "customer-1")
    try:
        page.goto(f"{app.base}/login")
        expect(page.get_by_role("heading", name="shopdesk review")).to_be_visible()
        _shot(page, "01-login")
        _log_in(page, app)
        cookie = next(c for c in context.cookies() if c["name"] == "shopdesk_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        links = page.locator("a.conversation-link")
        expect(links).to_have_count(3)
        expect(page.locator("h1 .count")).to_have_text("3")
        # The payload conversation is listed as text and nothing ran.
        expect(page.get_by_role("link", name=XSS_ID)).to_be_visible()
        _shot(page, "02-conversations")

        # Filter: answered by fallback, then narrow with the search box ("/" focuses it).
        page.get_by_label("Answered by").select_option("fallback")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r".*answered_by=fallback.*"))
        expect(links).to_have_count(2)
        page.keyboard.press("/")
        expect(page.get_by_label("Search")).to_be_focused()
        page.keyboard.type("linen duvet")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*q=linen\+duvet.*"))
        expect(links).to_have_text(["customer-1"])
        expect(page.get_by_label("Answered by")).to_have_value("fallback")
        _shot(page, "03-filtered")

        links.first.click()
        page.wait_for_url(f"{app.base}/conversation?id=customer-1")
        expect(page.locator("h1")).to_have_text("customer-1")
        expect(page.locator(".turn.user")).to_have_count(5)
        _shot(page, "04-conversation")

        # Keyboard: j focuses the first message, a confirms its intent.
        page.keyboard.press("j")
        expect(page.locator(f"#m{first}")).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("a")
        expect(page.locator(f"#m{first} .review-state")).to_contain_text("reviewed by ana")
        confirmed = reviews.message_reviews("customer-1")[first]
        assert confirmed.reviewed_by == "ana" and confirmed.corrected_intent is None

        # Correct the fallback message's intent from the list of the domain's intents.
        message = page.locator(f"#m{fallback}")
        message.get_by_label("Correct intent").select_option("out_of_scope")
        message.get_by_role("button", name="Set intent").click()
        page.wait_for_url(re.compile(rf".*#m{fallback}$"))
        expect(message.locator(".review-state")).to_contain_text("corrected to out_of_scope")
        expect(message).to_be_focused()  # back where the reviewer was, j goes on from here
        assert reviews.message_reviews("customer-1")[fallback].corrected_intent == "out_of_scope"

        # t focuses the tag field; then mark the conversation reviewed with its button.
        page.keyboard.press("t")
        expect(page.get_by_placeholder("new tag")).to_be_focused()
        page.keyboard.type("Laundry")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator(".tag")).to_have_text(["laundry"])
        page.get_by_role("button", name="Mark reviewed").click()
        expect(page.locator("#mark-reviewed .badge")).to_have_text("reviewed")
        expect(page.get_by_role("button", name="Mark not reviewed")).to_be_visible()
        review = reviews.conversation_review("customer-1")
        assert review.reviewed and review.updated_by == "ana" and review.tags == ("laundry",)
        _shot(page, "05-reviewed")

        page.get_by_role("link", name="Export").click()
        page.wait_for_url(f"{app.base}/export")
        page.get_by_role("button", name="Export now").click()
        nlu = app.project / "data" / "nlu" / "reviewed.yml"
        report = page.locator("#export-report")
        expect(report).to_contain_text(f"{nlu}: 2 new, 2 in all")
        _shot(page, "06-export")
        written = nlu.read_text(encoding="utf-8")
        assert "how do I wash a linen duvet cover" in written
        assert "intent: out_of_scope" in written and "intent: track_order" in written
        assert "tom.baker@example.com" not in written and "<EMAIL>" in written

        page.get_by_role("link", name="Conversations").click()
        page.get_by_label("Reviewed").select_option("yes")
        page.get_by_role("button", name="Filter").click()
        expect(links).to_have_text(["customer-1"])

        for number, path, heading in [
            ("07", "inbox", "NLU inbox"),
            ("08", "handoffs", "Handoffs"),
            ("09", "dashboard", "Dashboard"),
        ]:
            response = page.goto(f"{app.base}/{path}")
            assert response.status == 200, path
            expect(page.locator("h1")).to_contain_text(heading)
            if path == "dashboard":  # the outcomes are in the screenshot
                expect(page.get_by_role("heading", name="Outcomes")).to_be_visible()
                expect(page.locator("#card-resolved strong")).to_have_text("33%")  # customer-2
                expect(page.locator("#card-handed-off strong")).to_have_text("67%")
            _shot(page, f"{number}-{path}")

        # A figure's link lists the conversations behind it: the two handed off.
        page.locator("#card-handed-off a").click()
        page.wait_for_url(re.compile(r".*outcome=handed_off.*"))
        expect(links).to_have_count(2)
        expect(page.get_by_role("link", name="customer-1")).to_be_visible()
        expect(page.get_by_role("link", name=XSS_ID)).to_be_visible()

        # The payload conversation: shown as the customer typed it, never run.
        page.goto(f"{app.base}/conversations")
        page.get_by_role("link", name=XSS_ID).click()
        expect(page.locator("h1")).to_have_text(XSS_ID)
        expect(page.locator(".turn.user .bubble")).to_have_text([SCRIPT, IMG])
        _shot(page, "10-payloads")
        assert watched.dialogs == []
        assert watched.errors == []
    finally:
        context.close()
        reviews.engine.dispose()


def test_reviewing_works_without_javascript(browser, review_app: ReviewApp) -> None:
    from playwright.sync_api import expect

    app = review_app
    context, page, watched = _open(browser, java_script_enabled=False)
    reviews = _reviews(app)
    try:
        _log_in(page, app)
        page.goto(f"{app.base}/conversation?id=customer-2")
        page.keyboard.press("r")  # no script, no shortcut: nothing happens
        assert not reviews.conversation_review("customer-2").reviewed
        page.get_by_role("button", name="Mark reviewed").click()
        page.wait_for_url(f"{app.base}/conversation?id=customer-2")
        expect(page.locator("#mark-reviewed .badge")).to_have_text("reviewed")
        assert reviews.conversation_review("customer-2").reviewed
        _shot(page, "11-no-javascript-reviewed")
        assert watched.dialogs == [] and watched.errors == []
    finally:
        context.close()
        reviews.engine.dispose()


LOYALTY = [
    "how do loyalty points work",
    "how do the loyalty points work?",
    "how does your loyalty points scheme work",
    "loyalty points, how do they work",
]


def test_discovery_names_a_new_intent_in_the_browser(browser, review_app: ReviewApp) -> None:
    """Messages no intent covers form a group (embedded with the packaged encoder: this
    project folder has no model), and staff name it as a new intent with the page's form."""
    import threading

    from playwright.sync_api import expect

    from bot.storage.new_intents import new_intent_names
    from tests.helpers.logged_conversations import save, user

    app = review_app
    # Logged from a thread: Playwright's event loop runs on this one.
    events = [user(text, "nlu_fallback", 0.3) for text in LOYALTY]
    logging = threading.Thread(target=save, args=(app.db_url, "customer-loyal", events))
    logging.start()
    logging.join()
    context, page, watched = _open(browser)
    reviews = _reviews(app)
    try:
        _log_in(page, app)
        page.get_by_role("link", name="Discovery").click()
        expect(page.locator("h1")).to_contain_text("Discovery")
        group = page.locator("section.discovery-group").first
        expect(group.locator(".group-count")).to_have_text("4 ×")
        expect(group.locator("input[name=event_id]:checked")).to_have_count(4)
        _shot(page, "11-discovery")

        group.get_by_label("or a new intent").fill("loyalty_points")
        group.get_by_role("button", name="Name new intent").click()
        expect(page.get_by_role("status")).to_have_text("4 messages labelled as a new intent.")
        expect(page.locator("#new-intents")).to_contain_text("loyalty_points")
        _shot(page, "12-discovery-named")
        ids = set(_user_event_ids(app, "customer-loyal"))
        stored = {i: r for i, r in reviews.message_reviews().items() if i in ids}
        assert sorted(stored) == sorted(ids)
        assert {r.corrected_intent for r in stored.values()} == {"loyalty_points"}
        assert new_intent_names(reviews.engine) == ["loyalty_points"]
        assert watched.dialogs == [] and watched.errors == []
    finally:
        context.close()
        reviews.engine.dispose()
