"""When a customer is frustrated: an apology and the offer of a person, not another loop.

Every customer message carries a frustration signal from the NLU pipeline
(bot/nlu/frustration_detector.py: `parse_data["sentiment"]["frustrated"]`). One angry message
about an order is answered as usual; the second frustrated message in a session, or a
frustrated message right after the bot did not understand, gets an apology and a "Talk to a
person" button first. An insult (intent `insult`) is never taken for a request to rephrase.
If the customer takes the offer, the handoff records the reason `frustration`
(actions/handoff.py reads the offer's answer source).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.ownership import PERSON_BUTTON

# Bot answers that mean "I did not understand you" (actions/answers.py's answer sources).
NOT_UNDERSTOOD = frozenset({"rephrase", "out_of_scope"})
FRUSTRATION_SOURCE = {"kind": "frustration"}


def is_frustrated(event_or_message: dict[str, Any]) -> bool:
    """Whether a user event's (or the latest message's) parse data says frustrated."""
    parse_data = event_or_message.get("parse_data", event_or_message) or {}
    return bool((parse_data.get("sentiment") or {}).get("frustrated"))


def _turns_since_last_offer(tracker: Tracker) -> list[dict[str, Any]]:
    """This session's events after the latest frustration offer (older ones are answered)."""
    turns: list[dict[str, Any]] = []
    for event in reversed(list(tracker.events)):
        if event.get("event") == "session_started":
            break
        source = (event.get("metadata") or {}).get("answer_source") or {}
        if event.get("event") == "bot" and source.get("kind") == FRUSTRATION_SOURCE["kind"]:
            break
        turns.append(event)
    turns.reverse()
    return turns


def frustration_due(tracker: Tracker) -> bool:
    """The latest message is frustrated, and it is the second, or it follows a "not understood"."""
    if not is_frustrated(tracker.latest_message or {}):
        return False
    turns = _turns_since_last_offer(tracker)
    user_turns = [event for event in turns if event.get("event") == "user"]
    if sum(is_frustrated(event) for event in user_turns) >= 2:
        return True
    if not user_turns:
        return False
    bot_before_latest: dict[str, Any] = {}
    for event in turns:
        if event is user_turns[-1]:
            break
        if event.get("event") == "bot":
            bot_before_latest = event
    source = (bot_before_latest.get("metadata") or {}).get("answer_source") or {}
    return source.get("kind") in NOT_UNDERSTOOD


def apologise_and_offer_person(dispatcher: CollectingDispatcher) -> None:
    """One apology with the "Talk to a person" button; the customer may also carry on."""
    dispatcher.utter_message(
        response="utter_sorry_offer_person",
        buttons=[PERSON_BUTTON],
        answer_source=dict(FRUSTRATION_SOURCE),
    )


class ActionFrustration(Action):
    """An insult or an angry message with no request: apologise and offer a person."""

    def name(self) -> str:
        return "action_frustration"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        apologise_and_offer_person(dispatcher)
        return []
