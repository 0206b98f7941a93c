"""The web chat widget in a real browser (Debian's chromium, headless, Playwright) talking to
the running bot over Rasa's socket.io channel. Screenshots: test-output/screenshots/."""

from __future__ import annotations

import json

import pytest

from tests.helpers.project import PROJECT_ROOT
from tests.helpers.webchat import ask, bot_messages

pytestmark = pytest.mark.slow

SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"


def test_a_customer_chats_on_the_shop_page(bot, browser, databases):
    from bot.storage.conversation_log import ConversationLog

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.goto(bot.webchat)
    page.click(".sd-toggle")
    page.wait_for_function("() => JSON.parse(localStorage['shopdesk-chat'] || '{}').sessionId")
    session_id = page.evaluate("JSON.parse(localStorage['shopdesk-chat']).sessionId")

    # An FAQ question: the templated answer.
    messages = ask(page, "which payment methods do you accept?", 0)
    assert any(message.startswith("We accept") for message in messages), messages
    page.screenshot(path=str(SCREENSHOTS / "webchat-1-template-answer.png"))

    # A question only past transcripts answer: the retrieved answer and "did this help?".
    before = len(messages)
    messages = ask(page, "is the candle wax soy or paraffin", before)
    page.wait_for_selector(".sd-quick-reply")
    assert "Did this answer your question?" in messages
    assert page.locator(".sd-quick-reply").all_inner_texts() == [
        "Yes, that helped",
        "No, it didn't",
    ]
    page.screenshot(path=str(SCREENSHOTS / "webchat-2-retrieved-answer.png"))
    before = len(messages)
    page.click("text=Yes, that helped")
    page.wait_for_function(
        "n => document.querySelectorAll('.sd-bot .sd-bubble').length > n", arg=before
    )
    assert any("Glad that helped" in message for message in bot_messages(page))
    assert page.locator(".sd-quick-reply").count() == 0  # answered buttons go away

    # A person, please: the handoff message and the banner.
    assert page.locator(".sd-handover").is_hidden()
    messages = ask(page, "I want to talk to a real person please", len(bot_messages(page)))
    assert any("support team" in message for message in messages)
    page.wait_for_selector(".sd-handover:not([hidden])")
    page.screenshot(path=str(SCREENSHOTS / "webchat-3-handoff.png"))

    # A reload keeps the conversation, its id and the handoff state.
    shown = page.locator(".sd-bubble").all_inner_texts()
    page.reload()
    page.wait_for_selector(".sd-panel:not([hidden])")
    assert page.locator(".sd-bubble").all_inner_texts() == shown
    assert page.evaluate("JSON.parse(localStorage['shopdesk-chat']).sessionId") == session_id
    assert page.locator(".sd-handover").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "webchat-4-after-reload.png"))

    # The conversation is logged once, as a socket.io conversation staff can filter by.
    conversation = ConversationLog(databases["SHOPDESK_DB_URL"]).read(session_id)
    assert conversation.channel == "socketio"
    assert [t.intent for t in conversation.user_turns][0] == "check_payment_methods"
    assert conversation.paused is True
    page.close()


def test_customer_text_is_never_html(bot, browser):
    page = browser.new_page()
    page.goto(bot.webchat)
    page.click(".sd-toggle")
    page.wait_for_function("() => JSON.parse(localStorage['shopdesk-chat'] || '{}').sessionId")
    ask(page, "<img src=x onerror=\"document.title='pwned'\"> where is order 482913", 0)
    assert page.locator(".sd-user .sd-bubble img").count() == 0
    assert "<img src=x" in page.locator(".sd-user .sd-bubble").first.inner_text()
    assert page.title() != "pwned"
    page.close()


def test_a_made_up_stored_session_id_is_replaced_by_a_signed_one(bot, browser, databases):
    """A session id the server did not issue (guessed, or someone else's conversation) is never
    used: the widget gets a signed one and starts a new conversation under it."""
    import re
    import time

    from tests.helpers.logged_conversations import stored_events

    victim = f"victim-{time.time_ns()}"
    assert bot.say(victim, "hello")
    page = browser.new_page()
    # Planted on a page of the same origin without the widget, which would overwrite it.
    page.goto(f"{bot.webchat}/health")
    planted = {"sessionId": victim, "open": True, "messages": [{"from": "user", "text": "old"}]}
    page.evaluate("s => localStorage.setItem('shopdesk-chat', s)", json.dumps(planted))
    page.goto(bot.webchat)
    page.wait_for_function(
        "v => (JSON.parse(localStorage['shopdesk-chat']).sessionId || v) !== v", arg=victim
    )
    issued = page.evaluate("JSON.parse(localStorage['shopdesk-chat']).sessionId")
    assert re.fullmatch(r"[0-9a-f]{32}\.[A-Za-z0-9_-]{43}", issued)
    assert page.locator(".sd-bubble").count() == 0  # the planted history is gone
    ask(page, "which payment methods do you accept?", 0)
    texts = [
        e["text"]
        for e in stored_events(databases["SHOPDESK_DB_URL"], victim)
        if e["event"] == "user"
    ]
    assert texts == ["hello"]  # nothing reached the other conversation
    page.close()


def test_a_message_over_the_rate_limit_is_taken_back_with_the_wait(bot, browser):
    from tests.helpers.channels import configured

    allowed = configured("bot.channels.socketio.SocketIOInput").per_sender[0].amount
    page = browser.new_page()
    page.goto(bot.webchat)
    page.click(".sd-toggle")
    page.wait_for_function("() => JSON.parse(localStorage['shopdesk-chat'] || '{}').sessionId")
    # Sent in one go (one JavaScript task), faster than any customer types.
    page.evaluate(
        """n => {
            const form = document.querySelector('.sd-form');
            const input = document.querySelector('.sd-input');
            for (let i = 0; i <= n; i++) { input.value = 'question ' + i; form.requestSubmit(); }
        }""",
        allowed,
    )
    page.wait_for_selector(".sd-status:not([hidden])")
    assert "wait" in page.locator(".sd-status").inner_text()
    unsent = page.input_value(".sd-input")  # returned to the input, to send again later
    assert unsent.startswith("question ")
    shown = page.locator(".sd-user .sd-bubble").all_inner_texts()
    assert len(shown) == allowed and unsent not in shown
    page.close()
