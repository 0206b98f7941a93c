"""Help for a customer who cannot give the order number the order form asks for.

The form asks for a six-digit number; customers answer with a number of the wrong length,
several numbers, one written "482 913", "I don't know it" or "look it up by my e-mail".
Each gets its own answer instead of a goodbye or a generic fallback, and from the second
failed try on, the offer of a person. Orders are never looked up by e-mail here: the number
and its e-mail together are the ownership check (actions/ownership.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.form_turns import repairs_in_this_form, resumed_after_digression
from actions.ownership import PERSON_BUTTON

ORDER_NUMBER = "order_number"
ORDER_NUMBER_LENGTH = 6
# Shorter digit runs ("2 shirts") are not meant as an order number.
SHORTEST_ATTEMPT = 3
DONT_KNOW, BY_EMAIL = "dont_know_order_number", "lookup_order_by_email"
# Why the number was not taken: the repair's name and the domain.yml response saying so.
REPAIR_RESPONSES = {
    "wrong_length": "utter_order_number_wrong_length",
    "several": "utter_order_number_several",
    "dont_know": "utter_order_number_where",
    "by_email": "utter_order_number_no_email_lookup",
}
# From this failed try on, a person is offered as well.
OFFER_PERSON_AFTER = 2

_EMAIL = re.compile(r"\S+@\S+")
_DIGIT_RUN = re.compile(r"\d+(?:[ -]\d+)*")


@dataclass(frozen=True)
class Reading:
    """What the customer's message says about the order number: one, or why not."""

    number: str | None = None
    repair: str | None = None


def number_candidates(text: str) -> list[str]:
    """The digit groups meant as numbers: "482 913" and "482-913" are one, "482913 604731"
    two; digits inside e-mail addresses are not counted."""
    found: list[str] = []
    for run in _DIGIT_RUN.findall(_EMAIL.sub(" ", text)):
        digits = re.sub(r"\D", "", run)
        parts = re.split(r"[ -]", run)
        found.extend([digits] if len(digits) == ORDER_NUMBER_LENGTH or len(parts) == 1 else parts)
    return found


def read_order_number(text: str, intent: str | None) -> Reading:
    """The order number in `text`, or which repair the message needs (none: not about it)."""
    candidates = number_candidates(text)
    valid = sorted(set(c for c in candidates if len(c) == ORDER_NUMBER_LENGTH))
    if len(valid) == 1:
        return Reading(number=valid[0])
    if len(valid) > 1:
        return Reading(repair="several")
    if any(len(c) >= SHORTEST_ATTEMPT for c in candidates):
        return Reading(repair="wrong_length")
    if intent == DONT_KNOW:
        return Reading(repair="dont_know")
    if intent == BY_EMAIL:
        return Reading(repair="by_email")
    return Reading()


def answers_order_number_question(tracker: Tracker) -> bool:
    """The latest message is the customer's reply to the form's order-number question."""
    return tracker.get_slot("requested_slot") == ORDER_NUMBER and not resumed_after_digression(
        tracker
    )


def extract_order_number(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """The form's extraction: the number, or the repair said and the slot left empty.

    An empty result lets the form reject the message, so a question asked instead of the
    number is answered by the digression rules (data/rules.yml).
    """
    if not answers_order_number_question(tracker):
        return {}
    message = tracker.latest_message or {}
    reading = read_order_number(
        str(message.get("text") or ""), (message.get("intent") or {}).get("name")
    )
    if reading.number:
        return {ORDER_NUMBER: reading.number}
    if reading.repair is None:
        return {}
    say_repair(dispatcher, reading.repair, tries=repairs_in_this_form(tracker) + 1)
    return {ORDER_NUMBER: None}


def say_repair(dispatcher: CollectingDispatcher, repair: str, tries: int) -> None:
    """The repair's answer; from the second failed try on, with the offer of a person."""
    source = {"kind": "ask", "slot": ORDER_NUMBER, "repair": repair, "try": tries}
    dispatcher.utter_message(response=REPAIR_RESPONSES[repair], answer_source=source)
    if tries >= OFFER_PERSON_AFTER:
        dispatcher.utter_message(
            response="utter_order_number_offer_person",
            buttons=[PERSON_BUTTON],
            answer_source={"kind": "ask", "slot": ORDER_NUMBER, "repair": "offer_person"},
        )
