"""What one logged customer message puts into the review app's index: its own row, and how it
changes its conversation's row.

Kept apart from `bot/storage/conversation_index.py`, which decides which events to apply and writes
them, so that reading a message (intent, confidence, frustration, language) is plain data in,
plain values out, the same for a new event and for a rebuild from the whole log.
"""

from __future__ import annotations

from typing import Any

from bot.nlu.message_signals import is_other_language, signals_of
from bot.nlu.text import normalise
from bot.storage.conversation_log import FALLBACK_INTENT, PIPELINE_INTENTS


def _classifier_guess(parse: dict[str, Any]) -> tuple[str | None, float | None]:
    for entry in parse.get("intent_ranking") or []:
        if entry.get("name") and entry.get("name") not in PIPELINE_INTENTS:
            return entry["name"], float(entry.get("confidence") or 0.0)
    intent = parse.get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def message_values(event_id: int, sender: str, data: dict[str, Any]) -> dict[str, Any]:
    """The `message_index` row of a user event (Rasa's event dict)."""
    parse = data.get("parse_data") or {}
    classifier_intent, confidence = _classifier_guess(parse)
    text = data.get("text") or ""
    signals = signals_of(parse)
    return {
        "event_id": event_id,
        "conversation_id": sender,
        "at": float(data.get("timestamp") or 0.0),
        "channel": data.get("input_channel"),
        "text": text,
        "text_folded": normalise(text),
        "intent": (parse.get("intent") or {}).get("name"),
        "classifier_intent": classifier_intent,
        "confidence": confidence,
        "frustrated": signals.frustrated,
        "language": signals.language,
    }


def _counts(message: dict[str, Any]) -> dict[str, int]:
    """What the message adds to its conversation's counters."""
    return {
        "fallbacks": int(message["intent"] == FALLBACK_INTENT),
        "frustrated_messages": int(bool(message["frustrated"])),
        "other_language_messages": int(is_other_language(message["language"])),
    }


def new_conversation(message: dict[str, Any]) -> dict[str, Any]:
    """The `conversation_index` row of a conversation whose first indexed message this is."""
    return {
        "conversation_id": message["conversation_id"],
        "channel": message["channel"],
        "started_at": message["at"],
        "ended_at": message["at"],
        "user_messages": 1,
        "retrievals": 0,
        "handoffs": 0,
        "min_confidence": message["confidence"],
        **_counts(message),
    }


def updated_conversation(row: Any, message: dict[str, Any]) -> dict[str, Any]:
    """The changes one more message makes to its conversation's row `row`."""
    lowest, confidence = row.min_confidence, message["confidence"]
    if confidence is not None:
        lowest = confidence if lowest is None else min(lowest, confidence)
    counts = _counts(message)
    return {
        "channel": row.channel or message["channel"],
        "started_at": min(row.started_at, message["at"]),  # a late commit may come earlier
        "ended_at": max(row.ended_at, message["at"]),
        "user_messages": row.user_messages + 1,
        "min_confidence": lowest,
        **{name: (getattr(row, name) or 0) + added for name, added in counts.items()},
    }
