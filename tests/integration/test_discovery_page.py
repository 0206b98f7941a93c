"""The review app's discovery page through real HTTP requests: groups of messages no intent
covers, labelled as an existing intent, excluded, or named as a new intent.

Identical texts have identical embeddings under any encoder, so with a tiny distance
threshold the groups are exactly the repeated texts, whatever the tiny random BERT makes of
them; the clustering itself is tested in tests/unit/test_discovery.py.
"""

from __future__ import annotations

import html
import re

import pytest

from tests.helpers.http import serve_in_tests
from tests.helpers.logged_conversations import save, user
from tests.helpers.review_app import PASSWORD, Browser

LOYALTY = "how do loyalty points work"
WRAPPING = "can you gift wrap it"


@pytest.fixture()
def discovery_log(db_url: str) -> str:
    save(db_url, "d-1", [user(LOYALTY, "nlu_fallback", 0.3), user(WRAPPING, "out_of_scope", 0.7)])
    save(
        db_url,
        "d-2",
        [user(LOYALTY, "out_of_scope", 0.6), user("where is my order", "track_order", 0.97)],
    )
    save(db_url, "d-3", [user(LOYALTY, "nlu_fallback", 0.2), user(WRAPPING, "out_of_scope", 0.8)])
    save(db_url, "d-4", [user(LOYALTY, "nlu_fallback", 0.35), user(WRAPPING, "nlu_fallback", 0.3)])
    save(db_url, "d-5", [user("what is the capital of peru", "out_of_scope", 0.9)])
    return db_url


@pytest.fixture()
def ana(discovery_log: str, tiny_bert_dir, tmp_path) -> Browser:
    from bot.learning.export import ExportPaths
    from bot.review_app import create_app
    from bot.review_app.settings import ReviewAppSettings
    from bot.storage.staff import StaffAccounts

    StaffAccounts(discovery_log).create("ana", PASSWORD)
    nlu = tmp_path / "project" / "data" / "nlu"
    nlu.mkdir(parents=True)
    (nlu / "toy.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: track_order\n  examples: |\n    - where is my order\n'
        "    - track my parcel\n- intent: greet\n  examples: |\n    - hello\n    - hi there\n"
    )
    settings = ReviewAppSettings(
        db_url=discovery_log,
        export_paths=ExportPaths.under(tmp_path / "project"),
        discovery_encoder=tiny_bert_dir,
        discovery_distance=1e-4,
    )
    return Browser(serve_in_tests(create_app(settings)), "ana")


def groups(page: str) -> list[tuple[int, str, list[int]]]:
    """(size, heading, ticked event ids) of each group, in page order."""
    found = []
    for section in page.split('<section class="inbox-group discovery-group"')[1:]:
        size, key = re.search(
            r'class="group-count">(\d+) ×</span> <bdi><span class="group-key">([^<]*)<', section
        ).groups()
        ids = [int(i) for i in re.findall(r'name="event_id" value="(\d+)" checked', section)]
        found.append((int(size), html.unescape(key), ids))
    return found


def reviews(db_url: str) -> dict:
    from bot.storage.reviews import ReviewStore

    return ReviewStore(db_url).message_reviews()


def test_groups_are_shown_largest_first_with_their_messages(ana):
    page = ana.get("/discover")
    assert page.status == 200
    found = groups(page.text)
    assert [(size, key, len(ids)) for size, key, ids in found] == [
        (4, LOYALTY, 4),
        (3, WRAPPING, 3),
    ]
    assert (
        "Nearest intent" in page.text and 'id="discovery-total">2 groups in 8 messages' in page.text
    )
    assert "1 more message stands alone" in page.text


def test_naming_a_new_intent_labels_the_ticked_messages_only(ana, discovery_log):
    from bot.storage.database import engine_for
    from bot.storage.new_intents import new_intent_names

    [(_, _, loyalty), _] = groups(ana.get("/discover").text)
    ticked = loyalty[:3]  # one message was unticked
    response = ana.post(
        "/discover/label",
        {"event_id": [str(i) for i in ticked], "action": "new", "new_intent": "loyalty_points"},
    )
    assert response.status == 302 and "done=new&count=3" in response.headers["location"]

    stored = reviews(discovery_log)
    assert sorted(stored) == sorted(ticked)
    assert {r.corrected_intent for r in stored.values()} == {"loyalty_points"}
    assert new_intent_names(engine_for(discovery_log)) == ["loyalty_points"]
    page = ana.get("/discover?done=new&count=3").text
    assert "3 messages labelled as a new intent." in page
    assert "<code>loyalty_points</code>" in page
    # The unticked one is still unreviewed; alone, it no longer forms a group.
    assert [key for _, key, _ in groups(page)] == [WRAPPING]

    # The new intent is now one staff can choose like any other.
    [(_, _, wrapping)] = groups(page)
    response = ana.post(
        "/discover/label",
        {"event_id": [str(wrapping[0])], "action": "label", "intent": "loyalty_points"},
    )
    assert response.status == 302
    assert reviews(discovery_log)[wrapping[0]].corrected_intent == "loyalty_points"


def test_excluding_a_group_keeps_it_out_of_training(ana, discovery_log):
    [_, (_, _, wrapping)] = groups(ana.get("/discover").text)
    response = ana.post(
        "/discover/label", {"event_id": [str(i) for i in wrapping], "action": "exclude"}
    )
    assert response.status == 302
    assert all(r.excluded for r in reviews(discovery_log).values())
    assert sorted(reviews(discovery_log)) == sorted(wrapping)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "new", "new_intent": "Loyalty Points"}, "not a usable intent name"),
        ({"action": "new", "new_intent": "track_order"}, "already an intent of the domain"),
        ({"action": "new", "new_intent": "nlu_fallback"}, "a name Rasa or the pipeline uses"),
        ({"action": "new", "new_intent": ""}, "Give the new intent a name"),
        ({"action": "label", "intent": "no_such_intent"}, "Choose an intent from the list"),
        ({"action": "delete"}, "Press Label, Exclude or Name new intent"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_stored(ana, discovery_log, form, message):
    from bot.storage.database import engine_for
    from bot.storage.new_intents import new_intent_names

    [(_, _, loyalty), _] = groups(ana.get("/discover").text)
    response = ana.post("/discover/label", {"event_id": [str(i) for i in loyalty], **form})
    assert response.status == 400
    assert message in html.unescape(response.text)
    assert reviews(discovery_log) == {}
    assert new_intent_names(engine_for(discovery_log)) == []


def test_messages_reviewed_meanwhile_are_refused_as_a_whole(ana, discovery_log):
    from bot.storage.reviews import ReviewStore

    [(_, _, loyalty), _] = groups(ana.get("/discover").text)
    conversation = ReviewStore(discovery_log).message_reviews()  # nothing yet
    assert conversation == {}
    first = loyalty[0]
    from bot.storage.conversation_log import ConversationLog

    owner = next(
        s.id for s in ConversationLog(discovery_log).list(limit=10)
        if any(t.event_id == first for t in ConversationLog(discovery_log).read(s.id).user_turns)
    )  # fmt: skip
    ReviewStore(discovery_log).review_message(first, owner, "ben", excluded=True)

    response = ana.post(
        "/discover/label",
        {"event_id": [str(i) for i in loyalty], "action": "new", "new_intent": "loyalty_points"},
    )
    assert response.status == 409
    assert "Nothing was stored" in response.text
    assert sorted(reviews(discovery_log)) == [first]


def test_the_page_needs_a_login_and_the_form_a_csrf_token(ana):
    _, response = ana.app.test_client.get("/discover", allow_redirects=False)
    assert response.status in (302, 303) and "/login" in response.headers["location"]
    _, response = ana.app.test_client.post(
        "/discover/label",
        data={"action": "exclude", "event_id": "1"},
        cookies=ana.cookies,
        allow_redirects=False,
    )
    assert response.status == 403
