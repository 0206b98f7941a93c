"""Realistic conversations written through Rasa's SQLTrackerStore, for the log and export
tests (the live-bot tests write theirs by talking to the bot)."""

from __future__ import annotations

import asyncio

from tests.helpers.project import PROJECT_ROOT


def user(text: str, intent: str, confidence: float, ranking=(), entities=(), **kwargs):
    from rasa.shared.core.events import UserUttered

    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [
            {"name": n, "confidence": c} for n, c in (ranking or [(intent, confidence)])
        ],
        "entities": list(entities),
    }
    return UserUttered(
        text,
        parse["intent"],
        entities=list(entities),
        parse_data=parse,
        input_channel=kwargs.get("channel", "rest"),
        message_id=kwargs.get("message_id"),
    )


def bot_says(text: str, **source):
    from rasa.shared.core.events import BotUttered

    return BotUttered(text, metadata={"answer_source": source} if source else {})


def conversation_events(order: str = "482913") -> list:
    """A customer tracks an order, gets a retrieved answer, then asks for a person."""
    from rasa.shared.core.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet

    text = f"hi, where is my order {order}? it's for Tom Baker, tom.baker@example.com"
    start = text.index(order)
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        user(
            text,
            "track_order",
            0.96,
            ranking=[("track_order", 0.96), ("change_order", 0.02), ("cancel_order", 0.01)],
            entities=[
                {"entity": "order_number", "value": order, "start": start, "end": start + 6},
                {
                    "entity": "email",
                    "value": "tom.baker@example.com",
                    "start": text.index("tom.baker"),
                    "end": len(text),
                },
            ],
            message_id="m-1",
        ),
        SlotSet("order_number", order),
        SlotSet("email", "tom.baker@example.com"),
        ActionExecuted("action_answer"),
        bot_says(f"Order {order} is on its way with DHL.", kind="template", id="faq:track_order"),
        ActionExecuted("action_listen"),
        user(
            "how do I wash a linen duvet cover",
            "nlu_fallback",
            0.31,
            ranking=[("nlu_fallback", 0.4), ("delivery_options", 0.31), ("review", 0.2)],
            message_id="m-2",
        ),
        ActionExecuted("action_retrieve_answer"),
        bot_says("Wash linen at 40 degrees.", kind="retrieval", id="transcript:t-1", score=14.2),
        bot_says("Did this answer your question?", kind="feedback_request"),
        ActionExecuted("action_listen"),
        user("/affirm", "affirm", 1.0, message_id="m-3"),
        ActionExecuted("action_record_feedback"),
        ActionExecuted("action_listen"),
        user("actually I want a person", "contact_human_agent", 0.93, message_id="m-4"),
        ActionExecuted("action_handoff"),
        bot_says("A person will take over.", kind="handoff", reason="asked_for_human"),
        ConversationPaused(),
        ActionExecuted("action_listen"),
        user("hello?", "greet", 0.7, message_id="m-5"),
    ]


def save(url: str, sender: str, events: list) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.storage.tracker_store import ShopdeskTrackerStore

    domain = Domain.load(PROJECT_ROOT / "domain.yml")
    store = ShopdeskTrackerStore(domain, host=url)
    tracker = DialogueStateTracker.from_events(sender, events, domain.slots)
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def stored_events(db_url: str, sender: str) -> list[dict]:
    """Rasa's events for `sender` as the tracker store wrote them, in order (a fresh engine:
    the database may have restarted since the last call)."""
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog(db_url)
    try:
        return [event for _, event in log.raw_events(sender)]
    finally:
        log.engine.dispose()
