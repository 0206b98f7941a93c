"""The customer's answer to "Did this answer your question?" after a retrieved answer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import hand_off
from actions.question import last_bot_source
from actions.shared import resources
from bot.storage.handoffs_and_feedback import NOTHING_FOUND


class ActionRecordFeedback(Action):
    def name(self) -> str:
        return "action_record_feedback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        helpful = (tracker.latest_message.get("intent") or {}).get("name") == "affirm"
        source = last_bot_source(tracker, kind="retrieval")
        if source:
            resources().records.record_feedback(
                tracker.sender_id, source["id"], helpful, source.get("score")
            )
        if not helpful:
            return hand_off(dispatcher, tracker, NOTHING_FOUND)
        dispatcher.utter_message(
            text="Glad that helped! Is there anything else I can do for you?",
            answer_source={"kind": "feedback_thanks", "for": source.get("id")},
        )
        return []
