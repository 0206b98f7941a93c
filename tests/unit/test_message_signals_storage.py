"""Frustration and language of customer messages: stored in the message index (for new events,
old ones without the keys and a rebuild after migration 0005), filtered on in the conversation
list, counted on the dashboard and shown in the conversation view.

The log is written by Rasa's own tracker store (tests/helpers/logged_conversations.py) into a real
SQLite database; the review app runs in-process and staff log in through its form.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from sqlalchemy import select

from tests.helpers.http import serve_in_tests
from tests.helpers.logged_conversations import bot_says, save, user
from tests.helpers.review_app import PASSWORD, Browser, at

DAY = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=5)
NEXT_DAY = DAY + dt.timedelta(days=1)
RANGE = f"since={DAY}&until={NEXT_DAY}"


def said(text: str, intent: str = "track_order", frustrated=None, language=None, **kwargs):
    """A customer message with the sentiment and language components' keys, when given."""
    event = user(text, intent, 0.9, **kwargs)
    if frustrated is not None:
        score = 0.9 if frustrated else 0.1
        event.parse_data["sentiment"] = {"frustrated": frustrated, "score": score, "compound": -0.6}
    if language is not None:
        supported = language == "en"
        event.parse_data["language"] = {"code": language, "score": 0.97, "supported": supported}
    return event


def when(hours: float, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day) + dt.timedelta(hours=hours)


def conversations() -> dict[str, list]:
    """Each conversation's events, all on DAY but the one frustrated message of "earlier"."""
    return {
        "calm": [
            at(said("where is my order", frustrated=False, language="en"), when(9)),
            at(bot_says("It is on its way.", kind="template", id="faq:track_order"), when(9.01)),
        ],
        "angry": [
            at(said("WHERE IS MY ORDER", frustrated=True, language="en"), when(10)),
            at(said("ok thanks", "thank_you", frustrated=False, language="en"), when(10.1)),
        ],
        "german": [
            at(said("Wo ist meine Bestellung?", "other_language", False, "de"), when(11)),
            at(said("Hallo??", "other_language", False, "de"), when(11.1)),
        ],
        "angry-french": [
            at(said("C'est nul !", "other_language", True, "fr", channel="facebook"), when(12)),
        ],
        "old": [  # logged before the components existed: neither key
            at(user("refund please", "get_refund", 0.8), when(13)),
            at(user("thanks", "thank_you", 0.99), when(13.1)),
        ],
        "earlier": [
            at(said("useless bot", frustrated=True, language="en"), when(9, DAY - dt.timedelta(3))),
            at(said("hello again", "greet", False, "en"), when(14)),
        ],
    }


@pytest.fixture()
def signals_log(db_url: str) -> str:
    for conversation, events in conversations().items():
        save(db_url, conversation, events)
    return db_url


def index_rows(url: str) -> tuple[dict, dict]:
    """Message rows by text, conversation rows by id, after a sync."""
    from bot.storage.conversation_index import CONVERSATIONS, MESSAGES, sync
    from bot.storage.database import engine_for

    engine = engine_for(url)
    sync(engine)
    with engine.connect() as connection:
        messages = {row.text: row for row in connection.execute(select(MESSAGES))}
        convs = {row.conversation_id: row for row in connection.execute(select(CONVERSATIONS))}
    engine.dispose()
    return messages, convs


# --------------------------------------------------------------------------- the index


def test_indexing_stores_each_messages_signals_and_counts_them(signals_log) -> None:
    messages, convs = index_rows(signals_log)
    assert (messages["WHERE IS MY ORDER"].frustrated, messages["WHERE IS MY ORDER"].language) == (
        True,
        "en",
    )
    assert (messages["ok thanks"].frustrated, messages["ok thanks"].language) == (False, "en")
    assert (messages["C'est nul !"].frustrated, messages["C'est nul !"].language) == (True, "fr")
    counts = {c: (r.frustrated_messages, r.other_language_messages) for c, r in convs.items()}
    assert counts == {
        "calm": (0, 0),
        "angry": (1, 0),
        "german": (0, 2),
        "angry-french": (1, 1),
        "old": (0, 0),
        "earlier": (1, 0),
    }
    assert convs["angry"].user_messages == 2


def test_old_events_without_the_keys_are_unknown_not_errors(db_url) -> None:
    odd = said("odd values", frustrated=True, language="en")
    odd.parse_data["sentiment"] = "very"  # not a dict: a component of another version
    odd.parse_data["language"] = {"code": "", "score": 0.2}
    save(db_url, "old", [user("refund please", "get_refund", 0.8), odd])
    messages, convs = index_rows(db_url)
    for text in ("refund please", "odd values"):
        assert (messages[text].frustrated, messages[text].language) == (None, None)
    assert (convs["old"].frustrated_messages, convs["old"].other_language_messages) == (0, 0)

    from bot.storage.conversation_log import ConversationLog

    turns = ConversationLog(db_url).read("old").user_turns
    unknown = (None, None, False)
    assert [(t.frustrated, t.language, t.other_language) for t in turns] == [unknown, unknown]


def test_migration_0005_upgrades_a_0004_database_and_the_index_is_rebuilt(db_url) -> None:
    from sqlalchemy import inspect, text

    from bot.storage.conversation_index import CONVERSATIONS, MESSAGES, sync
    from bot.storage.conversation_log import EVENTS
    from bot.storage.database import current_revision, engine_for, upgrade

    upgrade(db_url, "0004")
    engine = engine_for(db_url)
    assert current_revision(engine) == "0004"
    events = [
        ("anna", at(said("wo ist mein Paket", "other_language", True, "de"), when(9))),
        ("anna", at(user("hello?", "greet", 0.7), when(9.1))),
    ]
    EVENTS.create(engine)  # as Rasa's tracker store would have, with the 0004 code running
    with engine.begin() as connection:
        for event_id, (sender, event) in enumerate(events, start=1):
            data = event.as_dict()
            connection.execute(
                EVENTS.insert().values(
                    id=event_id,
                    sender_id=sender,
                    type_name="user",
                    timestamp=data["timestamp"],
                    intent_name=event.intent_name,
                    data=json.dumps(data),
                )
            )
        # The 0004 index had applied both already: rows without signals, watermark at 2.
        for event_id, (sender, event) in enumerate(events, start=1):
            connection.execute(
                text(
                    "INSERT INTO message_index (event_id, conversation_id, at, text, text_folded)"
                    " VALUES (:id, :sender, :at, :text, :text)"
                ),
                {"id": event_id, "sender": sender, "at": event.timestamp, "text": event.text},
            )
        connection.execute(
            text(
                "INSERT INTO conversation_index (conversation_id, started_at, ended_at,"
                " user_messages, fallbacks, retrievals, handoffs) VALUES ('anna', 1, 2, 2, 0, 0, 0)"
            )
        )
        connection.execute(text("INSERT INTO index_state VALUES ('events', 2)"))

    upgrade(db_url, "0005")
    assert current_revision(engine) == "0005"
    columns = {c["name"] for c in inspect(engine).get_columns("message_index")}
    assert {"frustrated", "language"} <= columns
    assert sync(engine) == 2  # everything applied again, with the signals
    with engine.connect() as connection:
        rows = connection.execute(select(MESSAGES).order_by(MESSAGES.c.event_id)).all()
        conversation = connection.execute(select(CONVERSATIONS)).one()
    assert [(r.frustrated, r.language) for r in rows] == [(True, "de"), (None, None)]
    assert conversation.user_messages == 2  # rebuilt, not counted on top of the old rows
    assert (conversation.frustrated_messages, conversation.other_language_messages) == (1, 1)
    engine.dispose()


# ------------------------------------------------------------------------ the review app


@pytest.fixture()
def ana(signals_log: str) -> Browser:
    from bot.review_app import create_app
    from bot.review_app.settings import ReviewAppSettings
    from bot.storage.staff import StaffAccounts

    accounts = StaffAccounts(signals_log)
    accounts.create("ana", PASSWORD)
    accounts.engine.dispose()
    return Browser(serve_in_tests(create_app(ReviewAppSettings(db_url=signals_log))), "ana")


def listed(browser: Browser, url: str) -> set[str]:
    response = browser.get(url)
    assert response.status == 200, (url, response.text[:500])
    found = re.findall(r'class="conversation-link">([^<]*)</a>', response.text)
    return {html.unescape(conversation) for conversation in found}


def test_the_filters_list_the_right_conversations_with_the_others(ana) -> None:
    assert listed(ana, "/conversations?frustrated=1") == {"angry", "angry-french", "earlier"}
    # With dates, the frustrated message itself must be in them, as the dashboard counts.
    assert listed(ana, f"/conversations?frustrated=1&{RANGE}") == {"angry", "angry-french"}
    assert listed(ana, "/conversations?language=other") == {"german", "angry-french"}
    assert listed(ana, "/conversations?language=de") == {"german"}
    assert listed(ana, "/conversations?language=other&frustrated=1") == {"angry-french"}
    assert listed(ana, "/conversations?frustrated=1&channel=rest") == {"angry", "earlier"}
    assert listed(ana, "/conversations?frustrated=1&q=useless") == {"earlier"}
    page = ana.get("/conversations?language=other").text
    assert '<option value="other" selected>not English</option>' in page
    assert "<option>de</option>" in page and "<option>en</option>" not in page
    assert '<span class="badge warn language"' in page and "2 not English" in page
    assert 'name="frustrated" value="1">' in page  # the box, unticked
    ticked = ana.get("/conversations?frustrated=1&page=1").text
    assert 'name="frustrated" value="1" checked>' in ticked
    assert ana.get("/conversations?language=Deutsch!").status == 400


def card(page: str, name: str) -> tuple[str, str, list[str]]:
    """A card's figure, its line of counts (tags removed) and the links in it."""
    found = re.search(rf'id="card-{name}"><strong>([^<]*)</strong><span>(.*?)</span>', page)
    hrefs = [html.unescape(href) for href in re.findall(r'<a href="([^"]+)"', found[2])]
    return found[1], html.unescape(re.sub(r"<[^>]+>", "", found[2])), hrefs


def test_the_dashboard_shows_the_shares_linking_to_their_conversations(ana) -> None:
    page = ana.get(f"/dashboard?{RANGE}").text
    figure, line, (link,) = card(page, "frustrated")
    assert (figure, line) == ("22%", "frustrated · 2 of 9 messages")  # "earlier" once in range
    assert link == f"/conversations?since={DAY}&until={NEXT_DAY}&frustrated=1"
    assert listed(ana, link) == {"angry", "angry-french"}
    figure, line, (link,) = card(page, "other-language")
    assert (figure, line) == ("33%", "in another language · 3 of 9 messages")
    assert link == f"/conversations?since={DAY}&until={NEXT_DAY}&language=other"
    assert listed(ana, link) == {"german", "angry-french"}
    later = ana.get(f"/dashboard?since={NEXT_DAY}&until={NEXT_DAY}").text
    assert card(later, "frustrated")[:2] == ("–", "frustrated · 0 of 0 messages")


def test_the_dashboard_labels_the_new_handoff_reasons(ana) -> None:
    page = ana.get(f"/dashboard?{RANGE}").text
    rows = dict(re.findall(r'<tr data-reason="(\w+)"><th scope="row">[^<]*</th><td>([^<]*)', page))
    assert rows["frustration"] == (
        "the customer was frustrated twice, or right after the bot did not understand them"
    )
    assert rows["other_language"] == "the customer wrote in a language the bot does not speak"


def test_the_conversation_view_shows_the_badge_and_a_foreign_language(ana) -> None:
    def meta(conversation: str) -> list[str]:
        page = ana.get(f"/conversation?id={conversation}").text
        return re.findall(r'<div class="meta">(.*?)</div>', page, re.S)

    (french,) = meta("angry-french")
    assert re.search(r'<span class="badge bad frustrated"[^>]*>frustrated</span>', french)
    assert re.search(r'<span class="badge warn language"[^>]*>fr</span>', french)
    shouted, thanked = meta("angry")
    assert ">frustrated</span>" in shouted and ">frustrated</span>" not in thanked
    assert "language" not in shouted  # English is not pointed out
    assert all("frustrated" not in m and "language" not in m for m in meta("old"))
