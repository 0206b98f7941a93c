"""Handing a conversation to a person: tell the customer, record the request, go quiet."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from actions.shared import resources
from bot.storage.handoffs_and_feedback import (
    ASKED_FOR_HUMAN,
    COMPLAINT,
    FRUSTRATION,
    OTHER_LANGUAGE,
)


def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[dict[str, Any]]:
    """Record why, say a person takes over, and pause the bot until staff resume it."""
    shared = resources()
    request_id = shared.records.request_handoff(
        tracker.sender_id, reason, tracker.latest_message.get("text")
    )
    dispatcher.utter_message(
        text=shared.faq.handoff_text(),
        answer_source={"kind": "handoff", "reason": reason, "request_id": request_id},
    )
    if tracker.get_latest_input_channel() == "socketio":
        # The web chat shows a "a person has taken over" banner. Rasa's socket.io channel
        # emits a custom message's `data` as the event payload; other channels never see it.
        dispatcher.utter_message(json_message={"data": {"handoff": True}})
    # Rasa's own pause: messages are still logged, but no action is predicted until a
    # ConversationResumed event (`shopdesk handoff release`, or the HTTP API).
    return [ConversationPaused()]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return hand_off(dispatcher, tracker, handoff_reason(tracker))


def handoff_reason(tracker: Tracker) -> str:
    """Why the customer asked for a person: a complaint, or the offer the bot just made."""
    if (tracker.latest_message.get("intent") or {}).get("name") == "complaint":
        return COMPLAINT
    offered_for = _last_bot_source_kind(tracker)
    if offered_for == "frustration":
        return FRUSTRATION
    if offered_for == "other_language":
        return OTHER_LANGUAGE
    return ASKED_FOR_HUMAN


def _last_bot_source_kind(tracker: Tracker) -> str | None:
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return ((event.get("metadata") or {}).get("answer_source") or {}).get("kind")
    return None
