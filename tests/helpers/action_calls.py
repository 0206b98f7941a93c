"""Calling our custom actions as Rasa does: a rasa-sdk Tracker and dispatcher in-process, or the
JSON body Rasa 3.6 posts to the action server's /webhook."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def run(action, tracker_: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker_, {})
    return dispatcher.messages, events


JONAS = {"order_email": "jonas.weber@example.org"}  # 604731


def message(text: str, intent: str, entities: dict[str, str] | None = None) -> dict[str, Any]:
    """A user event whose parse data names `entities` (entity -> the words as typed)."""
    found = [
        {"entity": name, "value": value, "start": text.lower().find(value.lower())}
        for name, value in (entities or {}).items()
    ]
    assert all(e["start"] >= 0 for e in found), "the entity must be in the text"
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": found, "text": text}
    return {"event": "user", "text": text, "parse_data": parse}


def tracker_after(
    *events: dict[str, Any], slots: dict[str, Any] | None = None, active_loop: str | None = None
) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender_id="customer-facts",
        slots=slots or {},
        latest_message=latest["parse_data"],
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def answer(*events: dict[str, Any], slots: dict[str, Any] | None = None) -> list[dict]:
    from actions.answers import ActionAnswer

    messages, _ = run(ActionAnswer(), tracker_after(*events, slots=slots))
    return messages


def action_call(
    action: str,
    text: str,
    intent: str,
    confidence: float,
    message_id: str,
    sender: str = "customer-1",
) -> dict[str, Any]:
    """An action call as Rasa 3.6 posts it to the action server's /webhook."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "message_id": message_id,
    }
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": latest,
            "events": [{"event": "user", "text": text, "parse_data": latest}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_input_channel": "rest",
        },
    }


def details_of(order) -> list[str]:
    """What only the owner of `order` may be told."""
    return [order.carrier, order.tracking_code, order.shipping_method, *order.items]
