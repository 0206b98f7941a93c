"""Outcome figures: each session resolved, handed off or abandoned, per reason and per intent,
on the dashboard and behind its links.

The log is written by Rasa's own tracker store (tests/helpers/logged_conversations.py) into a real
SQLite database, the handoff requests and feedback into the action server's tables with the
times they would have had; the review app runs in-process and staff log in through its form.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
import yaml

from tests.helpers.http import serve_in_tests
from tests.helpers.logged_conversations import bot_says, save, user
from tests.helpers.project import PROJECT_ROOT
from tests.helpers.review_app import PASSWORD, Browser, at

DAY = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=5)
NEXT_DAY = DAY + dt.timedelta(days=1)
RANGE = f"since={DAY}&until={NEXT_DAY}"
ODD_ID = "web:ana/1 ?&x=<b>"  # quoted in links, escaped in HTML


def when(hours: float, day: dt.date = DAY) -> dt.datetime:
    """`hours` after midnight UTC of `day` (negative: the day before)."""
    return dt.datetime(day.year, day.month, day.day) + dt.timedelta(hours=hours)


def visit(start: dt.datetime, *events, step: int = 10) -> list:
    """Events `step` seconds apart from `start`, as one visit of a customer."""
    return [at(event, start + dt.timedelta(seconds=i * step)) for i, event in enumerate(events)]


def fallback(text: str, guess: str, confidence: float):
    """A message the FallbackClassifier sent to nlu_fallback; `guess` was the classifier's."""
    ranking = [("nlu_fallback", 0.5), (guess, confidence)]
    return user(text, "nlu_fallback", 0.5, ranking=ranking)


def template(intent: str):
    return bot_says(f"About {intent}.", kind="template", id=f"faq:{intent}", intent=intent)


def retrieved():
    return [
        bot_says("Past answer.", kind="retrieval", id="transcript:t-9", score=9.5),
        bot_says("Did this answer your question?", kind="feedback_request"),
    ]


def ask(slot: str = "order_number"):
    return bot_says(f"What is your {slot}?", kind="ask", slot=slot)


def handoff(reason: str):
    return bot_says("A person will take over.", kind="handoff", reason=reason)


def small_talk_reply():
    return bot_says("Hi! What can I do for you?")  # a response without answer_source


def visits() -> list[tuple[str, dt.datetime, list]]:
    """(conversation, start, events) of every visit; each visit's events are 10 s apart."""
    return [
        (
            "resolved",
            when(9),
            [
                user("delivery time?", "delivery_period", 0.91),
                template("delivery_period"),
                bot_says("Anything else?"),
                user("thanks", "thank_you", 0.99),
            ],
        ),
        (
            "order-form",
            when(9.1),
            [
                user("where is my order", "track_order", 0.95),
                ask(),
                user("482913", "track_order", 0.62),
                ask("order_email"),
                user("ana@example.org", "greet", 0.3),
                template("track_order"),
            ],
        ),
        (
            "retrieved-helpful",
            when(9.2),
            [
                fallback("how do I wash linen", "review", 0.31),
                *retrieved(),
                user("/affirm", "affirm", 1.0),
                bot_says("Glad that helped!", kind="feedback_thanks"),
            ],
        ),
        (
            "asked-for-person",
            when(9.3),
            [
                user("refund for boots", "get_refund", 0.9),
                template("get_refund"),
                user("I want a person", "contact_human_agent", 0.93),
                handoff("asked_for_human"),
                user("hello?", "greet", 0.7),
            ],
        ),
        (
            "complaint",
            when(9.4),
            [user("this is a disgrace", "complaint", 0.88), handoff("complaint")],
        ),
        (
            "not-helpful-handoff",
            when(9.5),
            [
                fallback("can I pay with klarna", "check_payment_methods", 0.4),
                *retrieved(),
                user("/deny", "deny", 1.0),
                handoff("nothing_found"),
            ],
        ),
        (
            "not-helpful",
            when(9.6),
            [
                fallback("is the jacket waterproof", "review", 0.35),
                *retrieved(),
                user("/deny", "deny", 1.0),
            ],
        ),
        (
            "rephrase",
            when(9.7),
            [fallback("asdf qwer", "greet", 0.22), bot_says("Say it again?", kind="rephrase")],
        ),
        ("left-question", when(9.8), [user("cancel my order", "cancel_order", 0.9), ask()]),
        (
            "off-topic",
            when(9.9),
            [
                user("what's the weather", "out_of_scope", 0.8),
                bot_says("Not me.", kind="out_of_scope"),
            ],
        ),
        ("small-talk", when(10), [user("hi", "greet", 0.99), small_talk_reply()]),
        (
            "unanswered",
            when(10.1),
            [
                user("refund?", "get_refund", 0.85),
                template("get_refund"),
                user("and my invoice?", "get_invoice", 0.8),
            ],
        ),
        # Back 5 hours later with the same question (after small talk): the first visit failed.
        (
            "came-back",
            when(11),
            [user("how do I get a refund", "get_refund", 0.8), template("get_refund")],
        ),
        (
            "came-back",
            when(16),
            [
                user("hello", "greet", 0.99),
                small_talk_reply(),
                user("still need my refund", "get_refund", 0.72),
                template("get_refund"),
                user("thanks", "thank_you", 0.99),
            ],
        ),
        # Back the next morning, past the range's last day: the first visit did not hold either.
        (
            "came-back-overnight",
            when(20),
            [user("refund?", "get_refund", 0.9), template("get_refund")],
        ),
        (
            "came-back-overnight",
            when(8, NEXT_DAY),
            [user("my refund", "get_refund", 0.6), template("get_refund")],
        ),
        # Back after 30 hours: a new question, the first visit resolved.
        (
            "came-back-late",
            when(11.1),
            [user("how do I get a refund", "get_refund", 0.75), template("get_refund")],
        ),
        (
            "came-back-late",
            when(17.1, NEXT_DAY),
            [user("refund again", "get_refund", 0.65), template("get_refund")],
        ),
        # Back 2 hours later with another question.
        (
            "came-back-other",
            when(11.2),
            [user("delivery options", "delivery_options", 0.9), template("delivery_options")],
        ),
        ("came-back-other", when(13.2), [user("where is my order", "track_order", 0.85), ask()]),
        # 59 minutes between messages: still one session, resolved by its last answer.
        (
            "slow",
            when(11.3),
            [fallback("asdf", "review", 0.1), bot_says("Say it again?", kind="rephrase")],
        ),
        (
            "slow",
            when(11.3) + dt.timedelta(minutes=59),
            [user("delivery options?", "delivery_options", 0.8), template("delivery_options")],
        ),
        # 118 minutes after the first message, 59 after the previous one: the same session.
        ("slow", when(11.3) + dt.timedelta(minutes=118), [user("thanks", "thank_you", 0.99)]),
        # A session begun before the range goes on into it (50 min): not counted; then a new one.
        (
            "before-midnight",
            when(-0.5),
            [user("refund?", "get_refund", 0.9), template("get_refund")],
        ),
        (
            "before-midnight",
            when(-0.5) + dt.timedelta(minutes=50),
            [user("track my order", "track_order", 0.9), ask()],
        ),
        ("before-midnight", when(2), [user("hi", "greet", 0.99), small_talk_reply()]),
        (
            "long-ago",
            when(9, DAY - dt.timedelta(days=10)),
            [user("refund?", "get_refund", 0.9), template("get_refund")],
        ),
        (
            ODD_ID,
            when(11.4),
            [
                user("where is my refund", "track_refund", 0.7),
                ask(),
                user("482913", "track_refund", 0.9),
                ask("order_email"),
                user("a@b.example", "greet", 0.2),
                bot_says("That order is not yours.", kind="order_check", result="email_mismatch"),
            ],
        ),
        (
            "unrecorded",
            when(11.5),
            [user("speak to a human", "contact_human_agent", 0.89), handoff("asked_for_human")],
        ),
        # A handoff request recorded without a handoff answer (the browser test's payload case).
        (
            "request-only",
            when(11.6),
            [
                user("<script>alert(1)</script>", "out_of_scope", 0.4),
                bot_says("Say it again?", kind="rephrase"),
            ],
        ),
    ]


# (conversation, when, reason): as the action server records them, seconds after the message.
HANDOFF_REQUESTS = [
    ("asked-for-person", when(9.3) + dt.timedelta(seconds=31), "asked_for_human"),
    ("complaint", when(9.4) + dt.timedelta(seconds=11), "complaint"),
    ("not-helpful-handoff", when(9.5) + dt.timedelta(seconds=41), "nothing_found"),
    ("request-only", when(11.6) + dt.timedelta(seconds=15), "complaint"),
    ("long-ago", when(9.1, DAY - dt.timedelta(days=10)), "complaint"),  # outside the window
]
NOT_HELPFUL = [
    ("not-helpful-handoff", when(9.5) + dt.timedelta(seconds=40)),
    ("not-helpful", when(9.6) + dt.timedelta(seconds=40)),
]
HELPFUL = [("retrieved-helpful", when(9.2) + dt.timedelta(seconds=40))]

# Every session that started on DAY or NEXT_DAY: (conversation, start, outcome, reason, intent)
EXPECTED = [
    ("asked-for-person", when(9.3), "handed_off", "asked_for_human", "contact_human_agent"),
    ("before-midnight", when(2), "abandoned", "no_answer", "greet"),
    ("came-back", when(11), "abandoned", "came_back", "get_refund"),
    ("came-back", when(16), "resolved", None, "get_refund"),
    ("came-back-late", when(11.1), "resolved", None, "get_refund"),
    ("came-back-overnight", when(20), "abandoned", "came_back", "get_refund"),
    ("came-back-overnight", when(8, NEXT_DAY), "resolved", None, "get_refund"),
    ("came-back-late", when(17.1, NEXT_DAY), "resolved", None, "get_refund"),
    ("came-back-other", when(11.2), "resolved", None, "delivery_options"),
    ("came-back-other", when(13.2), "abandoned", "left_question", "track_order"),
    ("complaint", when(9.4), "handed_off", "complaint", "complaint"),
    ("left-question", when(9.8), "abandoned", "left_question", "cancel_order"),
    ("not-helpful", when(9.6), "abandoned", "not_helpful", "nlu_fallback"),
    ("not-helpful-handoff", when(9.5), "handed_off", "nothing_found", "nlu_fallback"),
    ("off-topic", when(9.9), "abandoned", "declined", "out_of_scope"),
    ("order-form", when(9.1), "resolved", None, "track_order"),
    ("rephrase", when(9.7), "abandoned", "rephrase", "nlu_fallback"),
    ("request-only", when(11.6), "handed_off", "complaint", "out_of_scope"),
    ("resolved", when(9), "resolved", None, "delivery_period"),
    ("retrieved-helpful", when(9.2), "resolved", None, "nlu_fallback"),
    ("slow", when(11.3), "resolved", None, "delivery_options"),
    ("small-talk", when(10), "abandoned", "no_answer", "greet"),
    ("unanswered", when(10.1), "abandoned", "no_answer", "get_invoice"),
    ("unrecorded", when(11.5), "handed_off", "unrecorded", "contact_human_agent"),
    (ODD_ID, when(11.4), "abandoned", "declined", "track_refund"),
]
# intent: (sessions, resolved, handed off, abandoned, mean confidence, shares in %)
INTENT_TABLE = {
    "get_refund": (6, 4, 0, 2, 4.42 / 6, (67, 0, 33)),  # 0.8, 0.72, 0.75, 0.65, 0.9, 0.6
    "nlu_fallback": (4, 1, 1, 2, 0.32, (25, 25, 50)),  # the guesses 0.31, 0.4, 0.35, 0.22
    "contact_human_agent": (2, 0, 2, 0, 0.91, (0, 100, 0)),
    "delivery_options": (2, 2, 0, 0, 0.85, (100, 0, 0)),
    "greet": (2, 0, 0, 2, 0.99, (0, 0, 100)),
    "out_of_scope": (2, 0, 1, 1, 0.6, (0, 50, 50)),
    "track_order": (2, 1, 0, 1, 0.9, (50, 0, 50)),  # 0.95 (the form's opener), 0.85
    "cancel_order": (1, 0, 0, 1, 0.9, (0, 0, 100)),
    "complaint": (1, 0, 1, 0, 0.88, (0, 100, 0)),
    "delivery_period": (1, 1, 0, 0, 0.91, (100, 0, 0)),
    "get_invoice": (1, 0, 0, 1, 0.8, (0, 0, 100)),
    "track_refund": (1, 0, 0, 1, 0.7, (0, 0, 100)),
}


def _utc(moment: dt.datetime) -> float:
    return moment.replace(tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture()
def outcome_log(db_url: str) -> str:
    from bot.storage.handoffs_and_feedback import AnswerFeedback, HandoffRequest, Records

    by_conversation: dict[str, list] = {}
    for conversation, start, events in visits():
        by_conversation.setdefault(conversation, []).extend(visit(start, *events))
    for conversation, events in by_conversation.items():
        save(db_url, conversation, events)
    records = Records(db_url)  # creates the action server's tables
    with records.engine.begin() as connection:
        for conversation, created, reason in HANDOFF_REQUESTS:
            connection.execute(
                HandoffRequest.__table__.insert().values(
                    conversation_id=conversation, reason=reason, status="open", created_at=created
                )
            )
        for rows, helpful in ((NOT_HELPFUL, False), (HELPFUL, True)):
            for conversation, created in rows:
                connection.execute(
                    AnswerFeedback.__table__.insert().values(
                        conversation_id=conversation,
                        answer_source="transcript:t-9",
                        helpful=helpful,
                        created_at=created,
                    )
                )
    records.engine.dispose()
    return db_url


@pytest.fixture()
def engine(outcome_log: str):
    from bot.storage.database import open_database

    engine = open_database(outcome_log)
    yield engine
    engine.dispose()


# ---------------------------------------------------------------- the classification


def test_each_session_is_classified_as_defined(engine):
    from bot.review_app.stats.outcome_figures import session_outcomes

    found = sorted(
        (o.conversation_id, o.started_at, o.outcome, o.reason, o.intent)
        for o in session_outcomes(engine, DAY, NEXT_DAY)
    )
    expected = sorted((c, _utc(start), o, r, i) for c, start, o, r, i in EXPECTED)
    assert found == expected


def test_the_range_counts_sessions_by_the_day_they_started(engine):
    from bot.review_app.stats.outcome_figures import session_outcomes

    only_next_day = session_outcomes(engine, NEXT_DAY, NEXT_DAY)
    assert sorted((o.conversation_id, o.outcome) for o in only_next_day) == [
        ("came-back-late", "resolved"),
        ("came-back-overnight", "resolved"),
    ]
    # The range's last sessions still look past its end for a customer coming back.
    first_day = [
        (o.conversation_id, o.outcome, o.reason) for o in session_outcomes(engine, DAY, DAY)
    ]
    assert len(first_day) == len(EXPECTED) - 2
    assert ("came-back-overnight", "abandoned", "came_back") in first_day
    assert ("came-back-late", "resolved", None) in first_day
    before = session_outcomes(engine, DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=1))
    # before-midnight's first session (23:30) counts on its own day; long-ago does not.
    assert [(o.conversation_id, o.started_at) for o in before] == [
        ("before-midnight", _utc(when(-0.5)))
    ]


def test_summary_shares_add_up_to_100(engine):
    from bot.review_app.stats.outcome_figures import outcome_summary

    summary = outcome_summary(engine, DAY, NEXT_DAY)
    assert summary.counts == {"resolved": 9, "handed_off": 5, "abandoned": 11}
    assert summary.sessions == 25 == len(EXPECTED)
    assert summary.shares == {"resolved": 36, "handed_off": 20, "abandoned": 44}
    assert summary.resolution_rate == pytest.approx(9 / 25)
    assert summary.handoff_reasons == (
        ("asked_for_human", 1),
        ("nothing_found", 1),
        ("repeated_fallback", 0),
        ("complaint", 2),
        ("frustration", 0),
        ("other_language", 0),
        ("unrecorded", 1),
    )
    assert dict(summary.abandoned_reasons) == {
        "no_answer": 3,
        "rephrase": 1,
        "declined": 2,
        "left_question": 2,
        "not_helpful": 1,
        "came_back": 2,
    }


def test_per_intent_table(engine):
    from bot.review_app.stats.outcome_figures import outcome_summary

    rows = outcome_summary(engine, DAY, NEXT_DAY).intents
    assert [row.intent for row in rows] == list(INTENT_TABLE)  # most sessions first, then name
    for row in rows:
        sessions, resolved, handed, abandoned, confidence, percents = INTENT_TABLE[row.intent]
        assert (row.sessions, row.resolved, row.handed_off, row.abandoned) == (
            sessions,
            resolved,
            handed,
            abandoned,
        ), row.intent
        assert row.mean_confidence == pytest.approx(confidence), row.intent
        assert row.shares == percents and sum(row.shares) == 100, row.intent


def test_no_sessions_no_figures(engine):
    from bot.review_app.stats.outcome_figures import outcome_summary

    empty = outcome_summary(engine, dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    assert empty.sessions == 0 and empty.resolution_rate is None and empty.intents == ()
    assert empty.shares == {"resolved": 0, "handed_off": 0, "abandoned": 0}


def test_session_gap_is_rasas():
    from bot.review_app.stats.outcomes import SESSION_GAP_SECONDS

    domain = yaml.safe_load(Path(PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert SESSION_GAP_SECONDS == 60 * domain["session_config"]["session_expiration_time"]


@pytest.mark.parametrize(
    "counts, expected",
    [
        ((1, 1, 1), (34, 33, 33)),
        ((2, 1, 0), (67, 33, 0)),
        ((8, 5, 10), (35, 22, 43)),
        ((0, 0, 0), (0, 0, 0)),
        ((0, 7, 0), (0, 100, 0)),
    ],
)
def test_shares_are_whole_percents_adding_up_to_100(counts, expected):
    from bot.review_app.stats.outcomes import shares

    assert shares(counts) == expected


def test_the_rules_on_single_sessions():
    """The precedence of the rules, where the log fixture has no case of its own."""
    from bot.review_app.stats.outcomes import Message, Session, classify

    def m(at, intent, kind=None, confidence=0.9):
        return Message(int(at), float(at), intent, intent, confidence, kind)

    answered = Session("c", (m(0, "get_refund", "template"),))
    assert classify(answered).outcome == "resolved"
    # A handoff wins over anything after it, even a resolving answer.
    later_answer = Session("c", (m(0, "complaint", "handoff"), m(5, "get_refund", "template")))
    assert (classify(later_answer).outcome, classify(later_answer).reason) == (
        "handed_off",
        "unrecorded",
    )
    # "Not helpful" only counts after the last answer.
    earlier = Session("c", (m(0, "x", "retrieval"), m(50, "get_refund", "template")), (), (10.0,))
    assert classify(earlier).outcome == "resolved"
    after = Session("c", (m(0, "x", "retrieval"), m(50, "get_refund", "template")), (), (60.0,))
    assert classify(after).reason == "not_helpful"
    # "thanks" after the answer asks nothing; a question after it that got no answer does.
    ok = Session("c", (m(0, "get_refund", "template"), m(5, "thank_you")))
    assert classify(ok).outcome == "resolved"
    ignored = Session("c", (m(0, "get_refund", "template"), m(5, "get_invoice")))
    assert (classify(ignored).reason, classify(ignored).intent) == ("no_answer", "get_invoice")
    # An answer kind this code does not know is not taken for a resolution.
    assert classify(Session("c", (m(0, "x", "brand_new_kind"),))).reason == "declined"
    # Coming back exactly 24 hours later still counts; a second later it does not.
    later = Session("c", (m(86_400, "get_refund", "template"),))
    assert classify(answered, later).reason == "came_back"
    too_late = Session("c", (m(86_401, "get_refund", "template"),))
    assert classify(answered, too_late).outcome == "resolved"


# ------------------------------------------------------------------ the dashboard


@pytest.fixture()
def ana(outcome_log: str) -> Browser:
    from bot.review_app import create_app
    from bot.review_app.settings import ReviewAppSettings
    from bot.storage.staff import StaffAccounts

    accounts = StaffAccounts(outcome_log)
    accounts.create("ana", PASSWORD)
    accounts.engine.dispose()
    app = serve_in_tests(create_app(ReviewAppSettings(db_url=outcome_log)))
    return Browser(app, "ana")


def card(page: str, name: str) -> tuple[str, str]:
    """A card's figure and its line of counts (tags removed)."""
    found = re.search(rf'id="card-{name}"><strong>([^<]*)</strong><span>(.*?)</span>', page)
    return found[1], html.unescape(re.sub(r"<[^>]+>", "", found[2]))


def links(fragment: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a href="([^"]+)"', fragment)]


def listed(browser: Browser, url: str) -> set[str]:
    response = browser.get(url)
    assert response.status == 200, (url, response.text[:500])
    found = re.findall(r'class="conversation-link">([^<]*)</a>', response.text)
    assert len(found) == len(set(found))
    count = re.search(r'<span class="count">(\d+)</span>', response.text)[1]
    assert int(count) == len(found)  # fewer than a page of them
    return {html.unescape(conversation) for conversation in found}


def conversations_of(outcome: str | None = None, reason=None, intent=None) -> set[str]:
    return {
        c
        for c, _, o, r, i in EXPECTED
        if outcome in (None, o) and reason in (None, r) and intent in (None, i)
    }


def test_dashboard_shows_outcomes_with_their_definitions(ana):
    page = ana.get(f"/dashboard?{RANGE}").text
    assert card(page, "resolved") == ("36%", "automated resolution · 9 of 25 sessions")
    assert card(page, "handed-off") == ("20%", "handed off · 5 of 25 sessions")
    assert card(page, "abandoned") == ("44%", "abandoned · 11 of 25 sessions")
    section = page[
        page.index('id="outcomes"') : page.index("</section>", page.index('id="outcomes"'))
    ]
    for definition in (
        "until the customer is away for more than 60 minutes",
        "did not come back with the same question within 24 hours",
        "the bot handed the session to a person",
        "the last answer asked the customer to rephrase",
        "The shares of a row add up to 100%",
    ):
        assert definition in html.unescape(section), definition
    # The existing figures now carry their definitions too.
    assert "answered as <code>nlu_fallback</code>, of all sent in the range" in page
    assert "among the feedback buttons pressed under retrieved answers" in html.unescape(page)

    reasons = re.search(r'id="table-handoff-reasons">(.*?)</table>', page, re.S)[1]
    rows = re.findall(r'data-reason="([a-z_]+)">.*?<a href="[^"]+">(\d+)</a>', reasons)
    assert rows == [
        ("asked_for_human", "1"),
        ("nothing_found", "1"),
        ("repeated_fallback", "0"),
        ("complaint", "2"),
        ("frustration", "0"),
        ("other_language", "0"),
        ("unrecorded", "1"),
    ]
    table = re.search(r'id="table-intent-outcomes">(.*?)</table>', page, re.S)[1]
    shown = {}
    for intent, cells in re.findall(r'<tr data-intent="([^"]*)">(.*?)</tr>', table, re.S):
        text = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
        ]
        shown[intent] = text
    assert list(shown) == list(INTENT_TABLE)
    assert shown["get_refund"] == ["6", "67% (4)", "0% (0)", "33% (2)", "74%"]
    assert shown["nlu_fallback"] == ["4", "25% (1)", "25% (1)", "50% (2)", "32%"]
    assert shown["contact_human_agent"] == ["2", "0% (0)", "100% (2)", "0% (0)", "91%"]


def test_every_link_lists_exactly_the_conversations_counted(ana):
    page = ana.get(f"/dashboard?{RANGE}").text
    checked = 0
    for name, outcome in (
        ("resolved", "resolved"),
        ("handed-off", "handed_off"),
        ("abandoned", "abandoned"),
    ):
        (url,) = links(re.search(rf'id="card-{name}">(.*?)</div>', page, re.S)[1])
        assert listed(ana, url) == conversations_of(outcome)
        checked += 1
    sessions_link = html.unescape(re.search(r'<a href="([^"]+)" id="sessions-link">', page)[1])
    assert listed(ana, sessions_link) == conversations_of()
    checked += 1
    for table, outcome in (
        ("table-handoff-reasons", "handed_off"),
        ("table-abandoned-reasons", "abandoned"),
    ):
        body = re.search(rf'id="{table}">(.*?)</table>', page, re.S)[1]
        for reason, row in re.findall(r'data-reason="([a-z_]+)">(.*?)</tr>', body, re.S):
            (url,) = links(row)
            assert listed(ana, url) == conversations_of(outcome, reason), url
            checked += 1
    table = re.search(r'id="table-intent-outcomes">(.*?)</table>', page, re.S)[1]
    for intent, cells in re.findall(r'<tr data-intent="([^"]*)">(.*?)</tr>', table, re.S):
        for outcome, cell in re.findall(r'<td data-outcome="([a-z_]+)">(.*?)</td>', cells, re.S):
            if outcome == "confidence":
                continue
            (url,) = links(cell)
            wanted = conversations_of(None if outcome == "any" else outcome, intent=intent)
            assert listed(ana, url) == wanted, url
            checked += 1
    assert checked == 3 + 1 + 7 + 6 + 4 * len(INTENT_TABLE)  # 7 handoff reasons


def test_the_intent_of_a_link_is_the_sessions_question(ana):
    # asked-for-person and unanswered also said something about a refund, but their sessions'
    # questions were a person and an invoice: the plain intent filter lists them, not the link.
    plain = listed(ana, f"/conversations?{RANGE}&intent=get_refund")
    assert {"asked-for-person", "unanswered", "before-midnight"} <= plain
    linked = listed(ana, f"/conversations?{RANGE}&intent=get_refund&outcome=any")
    assert linked == {"came-back", "came-back-late", "came-back-overnight"}
    assert listed(ana, f"/conversations?{RANGE}&intent=get_refund&outcome=abandoned") == {
        "came-back",
        "came-back-overnight",
    }
    # The list's other filters narrow further.
    assert listed(ana, f"/conversations?{RANGE}&outcome=resolved&q=linen") == {"retrieved-helpful"}


def test_outcome_filter_input(ana):
    response = ana.get("/conversations?outcome=abandoned&reason=came_back")
    assert response.status == 200
    # Without dates: the dashboard's last 30 days, shown in the form.
    today = dt.datetime.now(dt.timezone.utc).date()
    assert f'name="since" value="{today - dt.timedelta(days=29)}"' in response.text
    assert f'name="until" value="{today}"' in response.text
    found = re.findall(r'class="conversation-link">([^<]*)</a>', response.text)
    assert found == ["came-back-overnight", "came-back"]  # newest first
    assert 'id="outcome-note"' in response.text
    for query, message in (
        ("outcome=solved", "outcome must be one of"),
        ("reason=complaint", "a reason needs an outcome"),
        ("outcome=resolved&reason=complaint", "not a reason a session is resolved"),
        ("outcome=abandoned&reason=complaint", "not a reason a session is abandoned"),
        ("outcome=any&since=2020-01-01&until=2026-01-01", "choose from 1 to 366 days"),
        ("outcome=any&since=2020-02-01&until=2020-01-01", "choose dates from 1970-01-01"),
        ("outcome=any&since=0001-01-01&until=0001-01-02", "choose dates from 1970-01-01"),
        ("outcome=any&since=9999-12-01&until=9999-12-30", "choose dates from 1970-01-01"),
    ):
        response = ana.get(f"/conversations?{query}")
        assert response.status == 400 and message in html.unescape(response.text), query


def test_outcome_links_need_a_login(ana):
    _, response = ana.app.test_client.get(
        f"/conversations?{RANGE}&outcome=resolved", allow_redirects=False
    )
    assert response.status == 302 and response.headers["location"].startswith("/login?next=")


def test_small_talk_names_only_intents_the_domain_has():
    """A renamed or missing intent would silently count its sessions as questions."""
    import yaml

    from bot.review_app.stats.outcomes import SMALL_TALK
    from tests.helpers.project import PROJECT_ROOT

    intents = set(yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"])
    assert SMALL_TALK <= intents, SMALL_TALK - intents
