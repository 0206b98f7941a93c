"""Answers from the FAQ templates, with order look-ups, and the BM25 fallback."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.form_turns import repaired_since_message, resumed_after_digression
from actions.frustration import apologise_and_offer_person, frustration_due, is_frustrated
from actions.handoff import hand_off
from actions.order_number_repair import extract_order_number
from actions.order_state import order_to_check
from actions.ownership import ORDER_EMAIL, check_ownership, needs_email, say_refusal
from actions.question import asked_facts, last_bot_source, question_intent, question_message
from actions.shared import resources
from actions.store_topics import answer_named_topic
from actions.transcript_addition import add_fitting_transcript
from bot.answers.faq import FaqRenderError
from bot.nlu.question_split import OTHER_QUESTIONS
from bot.storage.handoffs_and_feedback import NOTHING_FOUND, REPEATED_FALLBACK

logger = logging.getLogger(__name__)

HELPFUL_BUTTONS = [
    {"title": "Yes, that helped", "payload": "/affirm"},
    {"title": "No, it didn't", "payload": "/deny"},
]


class ActionAnswer(Action):
    """Answer the customer's question from its FAQ template."""

    def name(self) -> str:
        return "action_answer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        shared = resources()
        intent = question_intent(tracker)
        answer = shared.faq.answer_for(intent) if intent else None
        if answer is None:
            return retrieve_answer(dispatcher, tracker)
        slots = tracker.current_slot_values()
        missing = shared.faq.missing_slot(answer, slots)
        if missing:
            dispatcher.utter_message(
                text=shared.faq.asks[missing], answer_source={"kind": "ask", "slot": missing}
            )
            return []
        if frustration_due(tracker):
            # Answer, but first the apology and the way to a person (actions/frustration.py).
            apologise_and_offer_person(dispatcher)
        order, events = None, []
        number = order_to_check(tracker, answer)  # required, or optional and named
        if number is not None:
            # Nothing about an order before the customer showed it is theirs.
            ownership = check_ownership(tracker, number)
            if ownership.order is None:
                return say_refusal(dispatcher, tracker, ownership)
            order, events = ownership.order, ownership.events
        try:
            text = shared.faq.render(answer, slots, order, asked=asked_facts(tracker))
        except FaqRenderError as error:
            logger.warning("Template not used, a person takes over: %s", error)
            return hand_off(dispatcher, tracker, NOTHING_FOUND)
        dispatcher.utter_message(
            text=text,
            answer_source={"kind": "template", "id": answer.source_id, "intent": intent},
        )
        add_fitting_transcript(dispatcher, tracker)
        offer_other_question(dispatcher, tracker)
        return events


def offer_other_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """A second question in the same message (bot/nlu/question_split.py), offered as a button
    that asks it: one click, and the bot answers it as if it had come alone."""
    faq = resources().faq
    others = question_message(tracker).get(OTHER_QUESTIONS) or []
    other = next((q for q in others if faq.answer_for(str(q.get("intent")))), None)
    if other is None:
        return
    words = " ".join(str(other["text"]).split())
    title = words if len(words) <= 60 else words[:59].rstrip() + "…"
    dispatcher.utter_message(
        text="You also asked:",
        buttons=[{"title": title, "payload": f"/{other['intent']}"}],
        answer_source={"kind": "other_question", "intent": other["intent"]},
    )


def retrieve_answer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The best past agent reply above the threshold; else rephrase, then a person."""
    shared = resources()
    if frustration_due(tracker):
        apologise_and_offer_person(dispatcher)
        return []
    if answer_named_topic(dispatcher, tracker):
        return []
    text = tracker.latest_message.get("text") or ""
    hit = shared.search.best(text)
    if hit is not None:
        dispatcher.utter_message(
            text=hit.transcript.answer,
            answer_source={
                "kind": "retrieval",
                "id": f"transcript:{hit.transcript.id}",
                "score": round(hit.score, 3),
            },
        )
        dispatcher.utter_message(
            text="Did this answer your question?",
            buttons=HELPFUL_BUTTONS,
            answer_source={"kind": "feedback_request"},
        )
        return []
    if is_frustrated(tracker.latest_message or {}):
        # An angry message the bot cannot place is no request to rephrase.
        apologise_and_offer_person(dispatcher)
        return []
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "out_of_scope":
        dispatcher.utter_message(
            response="utter_out_of_scope", answer_source={"kind": "out_of_scope"}
        )
        return []
    if last_bot_source(tracker).get("kind") == "rephrase":
        return hand_off(dispatcher, tracker, REPEATED_FALLBACK)
    dispatcher.utter_message(response="utter_please_rephrase", answer_source={"kind": "rephrase"})
    return []


class ActionRetrieveAnswer(Action):
    """The classifier was unsure, or the question is off our intents: search past answers."""

    def name(self) -> str:
        return "action_retrieve_answer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return retrieve_answer(dispatcher, tracker)


class AskForSlot:
    """One of the order form's questions, worded in data/faq.yml like every other answer.

    A mixin, not an Action: rasa-sdk registers every Action subclass under its name.
    """

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if self.slot == "order_number" and repaired_since_message(tracker):
            return []  # the repair's answer ended with the question already
        ask_again(dispatcher, tracker, self.slot)
        return []


class ActionAskOrderNumber(AskForSlot, Action):
    """The order form's first question: the six-digit order number."""

    slot = "order_number"


class ActionAskOrderEmail(AskForSlot, Action):
    """The order form's second question: the e-mail the order was placed with."""

    slot = ORDER_EMAIL


def ask_again(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> None:
    """The form's question; after a digression one short sentence that leads back to it."""
    source = {"kind": "ask", "slot": slot}
    if resumed_after_digression(tracker):
        dispatcher.utter_message(response=f"utter_back_to_{slot}", answer_source=source)
        return
    say_before_asking(dispatcher, tracker, slot)
    dispatcher.utter_message(text=resources().faq.asks[slot], answer_source=source)


def say_before_asking(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> None:
    """The general answer an order question gets while its order number is asked for ("how
    long do refunds take?" -> the rule, then "what's your order number?"): its `before_asking`
    in data/faq.yml, said only in reply to the question itself."""
    faq = resources().faq
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    answer = faq.answer_for(intent) if intent else None
    if slot != "order_number" or answer is None or answer.before_asking is None:
        return
    text = faq.before_asking_text(answer, tracker.current_slot_values(), asked_facts(tracker))
    dispatcher.utter_message(
        text=text, answer_source={"kind": "template", "id": f"{answer.source_id}#before_asking"}
    )


class ValidateOrderForm(FormValidationAction):
    """The order number, then (unless already shown) the order's e-mail address.

    Neither is looked up here: whether they belong together is checked once, by
    ActionAnswer, so the form behaves the same for orders that exist and ones that do not.
    """

    def name(self) -> str:
        return "validate_order_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        number = tracker.get_slot("order_number")
        if number and not needs_email(tracker, str(number)):
            return [slot for slot in domain_slots if slot != ORDER_EMAIL]
        return domain_slots

    def validate_order_email(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        email = str(value or "").strip()
        if 3 <= len(email) <= 254 and "@" in email.strip("@"):
            return {ORDER_EMAIL: email}
        dispatcher.utter_message(
            text="That doesn't look like an e-mail address, like ana@example.org."
        )
        return {ORDER_EMAIL: None}

    def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Read the reply to the number question: wrong length, several numbers, "482 913",
        "I don't know it" each get their answer (actions/order_number_repair.py)."""
        return extract_order_number(dispatcher, tracker)

    def validate_order_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if value is None:  # emptied by the extraction, which said why
            return {"order_number": None}
        number = "".join(ch for ch in str(value or "") if ch.isdigit())
        if len(number) == 6:
            return {"order_number": number}
        dispatcher.utter_message(text="Order numbers have six digits, like 482913.")
        return {"order_number": None}
