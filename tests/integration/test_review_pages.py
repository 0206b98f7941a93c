"""The review app's NLU inbox, handoff queue and dashboard, through real HTTP requests.

Conversations are written by Rasa's own tracker store (tests/helpers/logged_conversations.py), staff
log in through the real login form, and every POST carries the CSRF token read from a page,
as a browser without JavaScript would send it. Giving a conversation back to the bot talks
to a small fake Rasa HTTP API on 127.0.0.1 that records what it receives.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import time
from collections.abc import Iterator

import pytest

from tests.helpers.http import free_port
from tests.helpers.logged_conversations import bot_says, conversation_events, save, user
from tests.helpers.review_app import (
    Browser,
    FakeRasa,
    add_staff,
    at,
    group_form,
    groups,
    review_app,
)

SCRIPT = "<script>alert(1)</script>"
ODD_ID = "web:ana/1 ?&x=<b>"  # needs quoting in links, escaping in HTML


# ------------------------------------------------------------------ the app, logged in


@pytest.fixture()
def make_app(db_url: str):
    """Builds the review app on the test database, with staff accounts ana and ben."""
    add_staff(db_url, ana="reviewer", ben="reviewer")

    def build(**settings):
        return review_app(db_url=db_url, **settings)

    return build


@pytest.fixture()
def app(make_app):
    return make_app()


@pytest.fixture()
def ana(app) -> Browser:
    return Browser(app, "ana")


def unsure(text: str, guess: str, confidence: float, fallback: bool = False, **kwargs):
    """A customer message the classifier was unsure about (or, above 0.6, not)."""
    ranking = [(guess, confidence), ("delivery_period", round(confidence / 2, 3))]
    if fallback:
        return user(text, "nlu_fallback", 0.5, ranking=[("nlu_fallback", 0.5), *ranking], **kwargs)
    return user(text, guess, confidence, ranking=ranking, **kwargs)


# ---------------------------------------------------------------------------- inbox


@pytest.fixture()
def inbox_log(db_url: str) -> str:
    save(
        db_url,
        "c-1",
        [
            unsure("Where is my parcel", "track_order", 0.3, fallback=True),
            user("hello", "greet", 0.99),
            unsure("how do I wash a linen duvet cover", "review", 0.31, fallback=True),
        ],
    )
    save(
        db_url,
        "c-2",
        [
            unsure("where is my PARCEL?", "track_order", 0.45),
            unsure("washing linen duvet covers", "delivery_options", 0.3),
            unsure("refund plz", "get_refund", 0.7),
        ],
    )
    save(
        db_url, "c-3", [unsure("parcel   where", "track_order", 0.5), unsure(SCRIPT, "review", 0.2)]
    )
    return db_url


def user_event_ids(db_url: str, conversation_id: str) -> dict[str, int]:
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog(db_url)
    ids = {turn.text: turn.event_id for turn in log.read(conversation_id).user_turns}
    log.engine.dispose()
    return ids


def stored_reviews(db_url: str) -> dict:
    from bot.storage.reviews import ReviewStore

    store = ReviewStore(db_url)
    reviews = store.message_reviews()
    store.engine.dispose()
    return reviews


def test_inbox_groups_similar_messages(inbox_log, ana):
    response = ana.get("/inbox")
    assert response.status == 200
    # Same terms after stemming and stop words: one group; confident messages stay out. The
    # groups' order is the review queue's (tests/integration/test_review_queue_app.py).
    assert sorted(groups(response.text)) == [
        (1, "1 alert script"),
        (2, "cover duvet linen wash"),
        (3, "parcel"),
    ]
    assert "hello" not in response.text and "refund plz" not in response.text
    assert "6 messages in 3 groups" in response.text
    # The classifier's guesses, averaged over the group, and pre-selected for labelling.
    parcel = response.text[response.text.index('class="group-key">parcel') :]
    parcel = parcel[: parcel.index("</section>")]
    assert re.search(r'class="guess">track_order 42%', parcel)
    assert "<option selected>track_order</option>" in parcel
    assert "Where is my parcel" in parcel and "where is my PARCEL?" in parcel


def test_inbox_threshold_is_a_validated_query_parameter(inbox_log, ana):
    wider = ana.get("/inbox?below=0.75")
    assert (1, "plz refund") in groups(wider.text)
    narrower = ana.get("/inbox?below=0.35")
    # Below 0.35, or answered by nlu_fallback whatever the confidence.
    assert sorted(groups(narrower.text)) == [
        (1, "1 alert script"),
        (1, "parcel"),
        (2, "cover duvet linen wash"),
    ]
    for bad in ("abc", "0", "1.5", "nan", "-0.2"):
        response = ana.get(f"/inbox?below={bad}")
        assert response.status == 400, bad
        assert "threshold must be a number above 0, at most 1" in response.text
    assert ana.get("/inbox?page=x").status == 400


def test_customer_text_is_escaped_in_the_inbox(inbox_log, ana):
    page = ana.get("/inbox").text
    assert SCRIPT not in page
    assert html.escape(SCRIPT, quote=False) in page


def test_labelling_a_group_reviews_every_message_and_empties_it(inbox_log, ana):
    page = ana.get("/inbox").text
    parcel = group_form(page, "parcel")
    ids = user_event_ids(inbox_log, "c-1") | user_event_ids(inbox_log, "c-2")
    assert ids["Where is my parcel"] in parcel and ids["where is my PARCEL?"] in parcel

    response = ana.post(
        "/inbox/label", {"event_id": parcel, "intent": "track_order", "action": "label"}
    )
    assert response.status == 302
    assert response.headers["location"] == "/inbox?below=0.6&page=1&done=labelled&count=3"

    reviews = stored_reviews(inbox_log)
    assert sorted(reviews) == sorted(parcel)
    assert {r.corrected_intent for r in reviews.values()} == {"track_order"}
    assert {r.reviewed_by for r in reviews.values()} == {"ana"}
    assert {r.excluded for r in reviews.values()} == {False}
    assert reviews[ids["where is my PARCEL?"]].conversation_id == "c-2"

    after = ana.get("/inbox?below=0.6&page=1&done=labelled&count=3")
    assert "3 messages labelled." in after.text
    assert sorted(groups(after.text)) == [(1, "1 alert script"), (2, "cover duvet linen wash")]


def test_excluding_a_group_keeps_it_out_of_training_and_the_inbox(inbox_log, ana):
    linen = group_form(ana.get("/inbox").text, "cover duvet linen wash")
    response = ana.post("/inbox/label", {"event_id": linen, "intent": "", "action": "exclude"})
    assert response.status == 302
    reviews = stored_reviews(inbox_log)
    assert sorted(reviews) == sorted(linen)
    assert all(r.excluded and r.corrected_intent is None for r in reviews.values())
    assert (2, "cover duvet linen wash") not in groups(ana.get("/inbox").text)


def test_bulk_labelling_refuses_bad_input_and_stores_nothing(inbox_log, ana):
    page = ana.get("/inbox").text
    parcel = group_form(page, "parcel")
    confident = user_event_ids(inbox_log, "c-1")["hello"]

    unknown = ana.post(
        "/inbox/label", {"event_id": parcel, "intent": "bake_cake", "action": "label"}
    )
    assert unknown.status == 400
    assert "&#39;bake_cake&#39; is not an intent of the domain" in unknown.text
    assert (3, "parcel") in groups(unknown.text)  # the inbox is still shown

    foreign = ana.post(
        "/inbox/label",
        {"event_id": [*parcel, confident], "intent": "track_order", "action": "label"},
    )
    assert foreign.status == 409
    assert "1 of these 4 messages are not in the inbox" in foreign.text
    assert "Nothing was stored" in foreign.text

    for data in (
        {"event_id": ["12x"], "intent": "track_order", "action": "label"},
        {"event_id": [], "intent": "track_order", "action": "label"},
        {"event_id": parcel, "intent": "track_order", "action": "delete"},
    ):
        assert ana.post("/inbox/label", data).status == 400
    assert stored_reviews(inbox_log) == {}

    # Labelled twice (a double click, or a colleague first): the second is refused.
    assert (
        ana.post(
            "/inbox/label", {"event_id": parcel, "intent": "track_order", "action": "label"}
        ).status
        == 302
    )
    again = ana.post(
        "/inbox/label", {"event_id": parcel, "intent": "get_refund", "action": "label"}
    )
    assert again.status == 409
    assert {r.corrected_intent for r in stored_reviews(inbox_log).values()} == {"track_order"}


# ------------------------------------------------------------------------- handoffs


@pytest.fixture()
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa()
    yield rasa
    rasa.close()


@pytest.fixture()
def handoffs(db_url: str) -> dict[str, int]:
    """Two conversations waiting for a person, the newer one with a hostile last message."""
    from bot.storage.handoffs_and_feedback import Records

    save(db_url, "c-1", [user("I want a person", "contact_human_agent", 0.9)])
    save(db_url, ODD_ID, [user(SCRIPT, "complaint", 0.8)])
    records = Records(db_url)
    first = records.request_handoff("c-1", "asked_for_human", "I want a person")
    time.sleep(0.01)
    second = records.request_handoff(ODD_ID, "complaint", SCRIPT)
    records.engine.dispose()
    return {"c-1": first, ODD_ID: second}


def waiting(db_url: str) -> dict[str, tuple[str, str | None]]:
    """conversation id -> (status, taken by) of the requests not yet released."""
    from sqlalchemy import select

    from bot.storage.database import engine_for
    from bot.storage.handoffs_and_feedback import RELEASED, HandoffRequest

    engine = engine_for(db_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                HandoffRequest.conversation_id, HandoffRequest.status, HandoffRequest.taken_by
            ).where(HandoffRequest.status != RELEASED)
        ).all()
    engine.dispose()
    return {conversation: (status, taken_by) for conversation, status, taken_by in rows}


def test_the_queue_lists_waiting_conversations_newest_first(handoffs, ana):
    page = ana.get("/handoffs")
    assert page.status == 200
    rows = re.findall(r'<tr id="handoff-(\d+)"', page.text)
    assert rows == [str(handoffs[ODD_ID]), str(handoffs["c-1"])]
    assert "2 waiting or taken" in page.text
    assert "asked for human" in page.text and "complaint" in page.text
    # Hostile text is escaped; the odd conversation id is quoted in the link.
    assert SCRIPT not in page.text and html.escape(SCRIPT, quote=False) in page.text
    assert '/conversation?id=web%3Aana%2F1%20%3F%26x%3D%3Cb%3E"' in page.text
    assert ana.get("/conversation?id=web%3Aana%2F1%20%3F%26x%3D%3Cb%3E").status == 200


def test_taking_a_request_marks_who_has_it(handoffs, app, ana, db_url):
    response = ana.post("/handoffs/take", {"request_id": handoffs["c-1"]})
    assert response.status == 302 and response.headers["location"] == "/handoffs?done=taken"
    assert waiting(db_url)["c-1"] == ("taken", "ana")
    page = ana.get("/handoffs?done=taken").text
    assert "taken by ana" in page and "You took the conversation" in page
    # Taking it again is harmless; a colleague cannot take it from under ana.
    assert ana.post("/handoffs/take", {"request_id": handoffs["c-1"]}).status == 302
    ben = Browser(app, "ben")
    refused = ben.post("/handoffs/take", {"request_id": handoffs["c-1"]})
    assert refused.status == 409
    assert "already taken by ana" in refused.text
    assert waiting(db_url)["c-1"] == ("taken", "ana")
    assert ben.post("/handoffs/take", {"request_id": 9999}).status == 409
    assert ben.post("/handoffs/take", {"request_id": "first"}).status == 400


def test_release_resumes_the_conversation_in_rasa_then_closes_it(
    handoffs, make_app, fake_rasa, db_url
):
    ana = Browser(make_app(rasa_url=fake_rasa.url, rasa_token="s3cret"), "ana")
    assert ana.post("/handoffs/take", {"request_id": handoffs["c-1"]}).status == 302

    response = ana.post("/handoffs/release", {"conversation_id": "c-1"})
    assert response.status == 302 and response.headers["location"] == "/handoffs?done=released"
    assert fake_rasa.calls == [
        (
            "/conversations/c-1/tracker/events?token=s3cret",
            [{"event": "resume"}, {"event": "action", "name": "action_listen"}],
        )
    ]
    assert waiting(db_url) == {ODD_ID: ("open", None)}
    page = ana.get("/handoffs?done=released").text
    assert "back with the bot" in page and "1 waiting or taken" in page


def test_release_of_an_id_rasa_cannot_address_keeps_the_request_open(
    handoffs, make_app, fake_rasa, db_url
):
    """Rasa 3.6 would resume "web%3Aana..." instead of the customer's conversation."""
    ana = Browser(make_app(rasa_url=fake_rasa.url, rasa_token="s3cret"), "ana")
    response = ana.post("/handoffs/release", {"conversation_id": ODD_ID})
    assert fake_rasa.calls[0][0].startswith("/conversations/web%3Aana%2F1%20%3F%26x%3D%3Cb%3E/")
    assert response.status == 502
    assert "cannot address conversation" in response.text
    assert "The request stays open" in response.text
    assert waiting(db_url)[ODD_ID] == ("open", None)


@pytest.mark.parametrize("rasa", ["unreachable", "failing"])
def test_release_keeps_the_request_open_when_rasa_cannot_resume(rasa, handoffs, make_app, db_url):
    server = FakeRasa(status=500) if rasa == "failing" else None
    url = server.url if server else f"http://127.0.0.1:{free_port()}"
    try:
        ana = Browser(make_app(rasa_url=url), "ana")
        response = ana.post("/handoffs/release", {"conversation_id": "c-1"})
    finally:
        if server:
            server.close()
    assert response.status == 502
    assert f"The Rasa server at {url} could not resume the conversation" in response.text
    assert "The request stays open" in response.text
    assert ("HTTP 500" in response.text) == (rasa == "failing")
    assert waiting(db_url)["c-1"] == ("open", None)
    assert f'<tr id="handoff-{handoffs["c-1"]}"' in response.text


def test_release_without_an_open_request_is_refused(handoffs, make_app, fake_rasa):
    ana = Browser(make_app(rasa_url=fake_rasa.url), "ana")
    response = ana.post("/handoffs/release", {"conversation_id": "nobody"})
    assert response.status == 409
    assert "no open handoff request" in response.text
    assert fake_rasa.calls == []


# ------------------------------------------------------------------------ dashboard


@pytest.fixture()
def dashboard_log(db_url: str) -> str:
    """Today: customer-1 (5 messages, 1 fallback, a handoff) and c-2 (3 messages, 1
    fallback); 60 days ago: one more conversation, outside the default range."""
    from bot.storage.handoffs_and_feedback import Records

    save(db_url, "customer-1", conversation_events())
    save(
        db_url,
        "c-2",
        [
            user("refund for the boots", "get_refund", 0.55),
            bot_says("Refunds take 5 days.", kind="template", id="faq:get_refund"),
            user(
                "zzz", "nlu_fallback", 0.5, ranking=[("nlu_fallback", 0.5), ("track_refund", 0.12)]
            ),
            user("yo", "greet", 0.05),
        ],
    )
    long_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=60)
    save(db_url, "old", [at(user("old question", "nlu_fallback", 0.2), long_ago)])
    records = Records(db_url)
    for helpful in (True, True, True, False):
        records.record_feedback("customer-1", "transcript:t-1", helpful, 14.2)
    records.request_handoff("customer-1", "asked_for_human", "actually I want a person")
    records.engine.dispose()
    return db_url


def card(page: str, name: str) -> str:
    return re.search(rf'id="card-{name}"><strong>([^<]*)</strong>', page)[1]


def test_dashboard_figures_match_the_log(dashboard_log, ana):
    response = ana.get("/dashboard")
    assert response.status == 200
    page = response.text
    assert card(page, "conversations") == "2"
    assert card(page, "messages") == "8"
    assert card(page, "fallback-rate") == "25%"  # 2 of 8 customer messages
    assert "2 of 8 messages" in page
    assert card(page, "handoff-rate") == "50%"  # customer-1 of the two
    assert card(page, "helpful") == "75%"
    assert "3 helpful, 1 not helpful" in page

    today = dt.datetime.now(dt.timezone.utc).date()
    row = re.search(rf"<tr><th scope=\"row\">{today}</th>(.*?)</tr>", page)[1]
    assert re.findall(r"<td>([^<]*)</td>", row) == ["2", "1", "50%", "8", "2", "25%"]
    intents = dict(re.findall(r'<tr><th scope="row">([a-z_]+)</th><td>(\d+)</td></tr>', page))
    assert intents["nlu_fallback"] == "2" and intents["greet"] == "2"
    assert intents["track_order"] == "1" and "affirm" in intents
    confidence = re.search(r'id="table-confidence">(.*?)</table>', page, re.S)[1]
    bins = [int(n) for n in re.findall(r"%</th><td>(\d+)</td>", confidence)]
    # 0.96, 0.31 (fallback's best guess), 1.0, 0.93, 0.7; 0.55, 0.12, 0.05
    assert bins == [1, 1, 0, 1, 0, 1, 0, 1, 0, 3]


def test_dashboard_charts_are_svg_images_with_alt_text(dashboard_log, ana):
    page = ana.get("/dashboard").text
    images = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', page)
    assert len(images) == 5
    for data, alt in images:
        svg = base64.b64decode(data).decode()
        assert "<svg" in svg and "<script" not in svg
        assert len(alt) > 40
    assert "<script" not in page.split("</head>", 1)[1]  # no chart library, no inline script


def test_dashboard_date_range(dashboard_log, ana):
    since = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=70)).isoformat()
    wide = ana.get(f"/dashboard?since={since}").text
    assert card(wide, "conversations") == "3"
    assert card(wide, "fallback-rate") == "33%"  # 3 of 9
    empty = ana.get("/dashboard?since=2020-01-01&until=2020-01-31").text
    assert card(empty, "conversations") == "0" and card(empty, "fallback-rate") == "–"
    for query, message in (
        ("since=2026-13-01", "From must be a date"),
        ("since=2026-02-01&until=2026-01-01", "From must not be after To"),
        ("since=2020-01-01&until=2026-01-01", "at most 366 days"),
    ):
        response = ana.get(f"/dashboard?{query}")
        assert response.status == 400 and message in response.text


# ---------------------------------------------------------------------- staff only


@pytest.mark.parametrize("path", ["/inbox", "/handoffs", "/dashboard"])
def test_pages_need_a_login(app, path):
    _, response = app.test_client.get(path, allow_redirects=False)
    assert response.status == 302
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "path, data",
    [
        ("/inbox/label", {"event_id": "1", "intent": "greet", "action": "label"}),
        ("/handoffs/take", {"request_id": "1"}),
        ("/handoffs/release", {"conversation_id": "c-1"}),
    ],
)
def test_changes_need_the_csrf_token(ana, path, data):
    _, response = ana.app.test_client.post(
        path, data=data, cookies=ana.cookies, allow_redirects=False
    )
    assert response.status == 403
