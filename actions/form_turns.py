"""Where the order form stands in the conversation: a fresh answer, or back from a digression.

The form's validation and its questions run both right after the customer's message and
after another action answered a question in the middle of the form (a digression). Only the
first is an answer to the form's question; after the second the form just asks again, with
"Back to your order".
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

ORDER_FORM = "order_form"
# Actions that run between a message and the form's handling of it without answering it.
FORM_MACHINERY = {"action_listen", "action_extract_slots", ORDER_FORM, "validate_order_form"}


def events_since_message(tracker: Tracker) -> list[dict[str, Any]]:
    """The events after the customer's latest message."""
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            return events[index + 1 :]
    return events


def resumed_after_digression(tracker: Tracker) -> bool:
    """Whether another action answered the latest message before the form got its turn."""
    return any(
        event.get("event") == "action" and event.get("name") not in FORM_MACHINERY
        for event in events_since_message(tracker)
    )


def repaired_since_message(tracker: Tracker) -> bool:
    """Whether the bot already helped with the order number since the latest message."""
    return any(is_repair(event) for event in events_since_message(tracker))


def is_repair(event: dict[str, Any]) -> bool:
    """A bot message that helped the customer with the order number (see order_number_repair)."""
    if event.get("event") != "bot":
        return False
    source = (event.get("metadata") or {}).get("answer_source") or {}
    return source.get("kind") == "ask" and source.get("repair") not in (None, "offer_person")


def repairs_in_this_form(tracker: Tracker) -> int:
    """How many times the bot helped with the order number since the form last started."""
    count = 0
    for event in reversed(list(tracker.events)):
        if event.get("event") == "active_loop" and event.get("name") == ORDER_FORM:
            break
        count += is_repair(event)
    return count
