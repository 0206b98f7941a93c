"""The conversation log on a real SQLite database written by Rasa's own SQLTrackerStore:
schema and migrations, reading conversations back, and review state."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import inspect

from tests.helpers.logged_conversations import conversation_events, save


def test_our_events_table_is_rasas(db_url):
    from rasa.core.tracker_store import SQLTrackerStore

    from bot.storage.conversation_log import EVENTS

    ours = {column.name: type(column.type) for column in EVENTS.columns}
    rasas = {
        column.name: type(column.type) for column in SQLTrackerStore.SQLEvent.__table__.columns
    }
    assert ours == rasas


def test_migrations_build_exactly_the_models_schema(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.answers.order_lookups  # noqa: F401
    import bot.storage.conversation_index  # noqa: F401
    import bot.storage.handoffs_and_feedback  # noqa: F401
    import bot.storage.new_intents  # noqa: F401
    import bot.storage.reviews  # noqa: F401
    import bot.storage.staff  # noqa: F401
    from bot.storage.database import (
        VERSION_TABLE,
        Base,
        current_revision,
        head_revision,
        open_database,
    )

    engine = open_database(db_url)
    open_database(db_url)  # a second start changes nothing
    assert current_revision(engine) == head_revision() == "0006"
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, Base.metadata) == []
    assert VERSION_TABLE in inspect(engine).get_table_names()


def test_tracker_store_logs_into_shopdesks_database(logged):
    from bot.storage.database import engine_for

    tables = set(inspect(engine_for(logged)).get_table_names())
    assert {"events", "handoff_requests", "message_reviews"} <= tables


def test_a_conversation_reads_back_turn_by_turn(logged):
    from bot.storage.conversation_log import BotTurn, ConversationLog, StatusTurn, UserTurn

    conversation = ConversationLog(logged).read("customer-1")
    assert conversation.channel == "rest"
    assert conversation.paused is True
    kinds = [turn.kind for turn in conversation.turns]
    assert kinds == ["user", "bot", "user", "bot", "bot", "user", "user", "bot", "status", "user"]

    first = conversation.turns[0]
    assert isinstance(first, UserTurn)
    assert first.text.startswith("hi, where is my order 482913?")
    assert (first.intent, first.confidence) == ("track_order", 0.96)
    assert [g.name for g in first.ranking] == ["track_order", "change_order", "cancel_order"]
    assert {e["entity"]: e["value"] for e in first.entities} == {
        "order_number": "482913",
        "email": "tom.baker@example.com",
    }
    assert conversation.answers_to(first)[0].source == {"kind": "template", "id": "faq:track_order"}

    unsure = conversation.user_turns[1]
    assert unsure.intent == "nlu_fallback"
    assert unsure.classifier_intent.name == "delivery_options"  # what BERT itself thought
    retrieved = conversation.answers_to(unsure)[0]
    assert isinstance(retrieved, BotTurn)
    assert retrieved.source["kind"] == "retrieval" and retrieved.feedback is True
    assert isinstance(conversation.turns[8], StatusTurn)
    assert [(h.reason, h.status) for h in conversation.handoffs] == [("asked_for_human", "open")]
    assert conversation.started_at <= first.at <= conversation.ended_at


def test_listing_is_newest_first_and_paginated(db_url):
    from bot.storage.conversation_log import ConversationLog

    for number in range(3):
        save(db_url, f"customer-{number}", conversation_events(order=f"60473{number}"))
        time.sleep(0.01)
    log = ConversationLog(db_url)
    assert [s.id for s in log.list()] == ["customer-2", "customer-1", "customer-0"]
    assert [s.id for s in log.list(limit=1, offset=1)] == ["customer-1"]
    assert all(s.user_messages == 5 for s in log.list())
    future = dt.datetime.utcnow() + dt.timedelta(days=1)
    assert log.list(since=future) == []
    assert len(log.list(until=future)) == 3
    assert log.read("nobody") is None


def test_an_empty_database_has_no_conversations(db_url):
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog(db_url)
    assert log.list() == [] and log.ids() == [] and log.read("x") is None


def test_review_state_survives_a_restart(logged):
    from bot.runtime.models import domain_intents
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.reviews import ReviewError, ReviewStore

    conversation = ConversationLog(logged).read("customer-1")
    unsure = conversation.user_turns[1]
    store = ReviewStore(logged, intents=domain_intents())
    with pytest.raises(ReviewError, match="not an intent"):
        store.review_message(unsure.event_id, "customer-1", "ana", corrected_intent="wash_linen")
    store.review_message(
        unsure.event_id, "customer-1", "ana", corrected_intent="out_of_scope", answer_approved=True
    )
    store.review_message(conversation.user_turns[4].event_id, "customer-1", "ana", excluded=True)
    store.add_tag("customer-1", "Product care", "ana")
    store.add_tag("customer-1", "product care ", "ben")  # the same tag once
    store.add_note("customer-1", "Add a care FAQ entry?", "ana")
    store.review_conversation("customer-1", "ben", reviewed=True, export_as_story=True)
    with pytest.raises(ReviewError):
        store.add_note("customer-1", "   ", "ana")
    store.engine.dispose()

    reopened = ReviewStore(logged)
    reviews = reopened.message_reviews("customer-1")
    assert reviews[unsure.event_id].corrected_intent == "out_of_scope"
    assert reviews[unsure.event_id].answer_approved is True
    assert reviews[unsure.event_id].reviewed_by == "ana"
    assert reviews[conversation.user_turns[4].event_id].excluded is True
    review = reopened.conversation_review("customer-1")
    assert review.reviewed and review.export_as_story
    assert review.tags == ("product care",)
    assert [(text, who) for text, who, _ in review.notes] == [("Add a care FAQ entry?", "ana")]
    assert review.updated_by == "ben"
    assert reopened.conversations_for_stories() == ["customer-1"]


def test_a_group_review_is_stored_whole_or_not_at_all(logged):
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.reviews import ReviewError, ReviewStore

    turns = ConversationLog(logged).read("customer-1").user_turns
    store = ReviewStore(logged)
    store.review_message(turns[0].event_id, "customer-1", "ana")
    # The second message is named with the wrong conversation: the whole group is refused.
    group = {turns[1].event_id: "customer-1", turns[0].event_id: "customer-2"}
    with pytest.raises(ReviewError, match="belongs to conversation"):
        store.review_messages(group, "ben", corrected_intent="out_of_scope")
    assert set(store.message_reviews("customer-1")) == {turns[0].event_id}
    assert store.message_reviews()[turns[0].event_id].reviewed_by == "ana"

    reviews = store.review_messages(
        {turns[1].event_id: "customer-1", turns[2].event_id: "customer-1"}, "ben", excluded=True
    )
    assert [r.excluded for r in reviews] == [True, True]
