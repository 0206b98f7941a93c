"""The question being answered: which message, which intent, and the facts it named.

Usually the latest message. Right after the order form, the message that opened the form (the
latest may only have been the order number). A follow-up that names only another country or
payment method ("and to the UK?", intent `inform`) is the previous question asked again for it.
An unsure message (`nlu_fallback`) that names a faulty or wrong item is a complaint about it.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

from actions.form_turns import ORDER_FORM
from actions.shared import resources
from bot.nlu.intents import FALLBACK_INTENT

# The intents whose answers branch on a country or a payment method (data/faq.yml `asked.`),
# first the one a follow-up without an earlier question gets.
COUNTRY_INTENTS = ("delivery_options", "delivery_period")
PAYMENT_INTENTS = ("check_payment_methods",)
FOLLOW_UP = "inform"
UNSURE = FALLBACK_INTENT
COMPLAINT = "complaint"

DAYS_PER_UNIT = {"day": 1, "week": 7, "month": 30, "year": 365}
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip


def intent_of(event: dict[str, Any]) -> str | None:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def last_bot_source(tracker: Tracker, kind: str | None = None) -> dict[str, Any]:
    """Why the bot's latest message (of `kind`, if given) was said: its `answer_source`."""
    for event in reversed(tracker.events):
        if event.get("event") != "bot":
            continue
        source = (event.get("metadata") or {}).get("answer_source") or {}
        if kind is None or source.get("kind") == kind:
            return source
    return {}


def question_message(tracker: Tracker) -> dict[str, Any]:
    """The parse data of the message being answered (see the module's docstring)."""
    events = tracker.events
    previous_action = next(
        (e.get("name") for e in reversed(events) if e.get("event") == "action"), None
    )
    if previous_action == ORDER_FORM:
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if event.get("event") == "active_loop" and event.get("name") == ORDER_FORM:
                opener = next(
                    (e for e in reversed(events[:index]) if e.get("event") == "user"), None
                )
                if opener is not None:
                    return opener.get("parse_data") or {}
                break
    return tracker.latest_message or {}


def entity_values(message: dict[str, Any], entity: str) -> list[str]:
    return [str(e.get("value")) for e in message.get("entities") or [] if e.get("entity") == entity]


def question_intent(tracker: Tracker) -> str | None:
    """The intent being answered; for a follow-up, the question it follows up."""
    message = question_message(tracker)
    intent = (message.get("intent") or {}).get("name")
    if intent == UNSURE and entity_values(message, "item_problem"):
        return COMPLAINT  # "came with the wrong colour", classifier unsure: the faulty-item path
    if intent != FOLLOW_UP:
        return intent
    previous = last_bot_source(tracker, "template").get("intent")
    if entity_values(message, "country"):
        return previous if previous in COUNTRY_INTENTS else COUNTRY_INTENTS[0]
    if entity_values(message, "payment_method"):
        return previous if previous in PAYMENT_INTENTS else PAYMENT_INTENTS[0]
    return intent


def days_named(texts: list[str]) -> int | None:
    """ "3 weeks" -> 21, "a month" -> 30: the first duration named, in days."""
    for text in texts:
        match = re.match(r"\s*(\w+)\s+(day|week|month|year)s?\b", text.lower())
        if match:
            count, unit = match.groups()
            number = int(count) if count.isdigit() else NUMBER_WORDS.get(count)
            if number is not None:
                return number * DAYS_PER_UNIT[unit]
    return None


def asked_facts(tracker: Tracker) -> dict[str, Any]:
    """What the question named, as the shop's profile has it: country, payment method, shipping
    option, and the return `case` (an item problem first, then a return case, then the days
    since delivery)."""
    shared = resources()
    entities = shared.store_entities
    message = question_message(tracker)
    country = next(iter(entity_values(message, "country")), None)
    method = next(iter(entity_values(message, "payment_method")), None)
    days = days_named(entity_values(message, "duration"))
    case = entities.item_problem(entity_values(message, "item_problem")) or entities.return_case(
        entity_values(message, "return_case")
    )
    if case is None and days is not None:
        window = int(shared.faq.store["returns"]["window_days"])
        case = "within_window" if days <= window else "past_window"
    country_facts = entities.country(country)
    option = next(iter(entity_values(message, "shipping_option")), None)
    return {
        "country": country_facts,
        "payment_method": entities.payment_method(method),
        "shipping_option": entities.shipping_option(option, country_facts),
        "case": case,
        "days": days,
    }
