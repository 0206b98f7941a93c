"""Shop questions the classifier has no intent for, answered from the shop's profile.

Gift cards, customs, discounts, sizes, product care and what the shop sells are out_of_scope
for the classifier (data/intents/out_of_scope.yml), yet the store profile knows the answer. A
declined or unsure message that names such a topic (data/store.yml `topics:`) gets the topic's
answer from data/faq.yml, and one that names a payment method gets the payment answer for it,
before past transcripts are searched.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.question import asked_facts, entity_values
from actions.shared import resources

PAYMENT_INTENT = "check_payment_methods"


def answer_named_topic(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Answer from a topic or the payment answer; False when the message names neither."""
    shared = resources()
    message = tracker.latest_message or {}
    asked = asked_facts(tracker)
    topic = shared.store_entities.store_topic(entity_values(message, "store_topic"))
    text = shared.faq.topic_text(topic, asked) if topic else None
    if text:
        dispatcher.utter_message(
            text=text, answer_source={"kind": "template", "id": f"faq:topics.{topic}"}
        )
        return True
    payment = shared.faq.answer_for(PAYMENT_INTENT)
    if asked["payment_method"] is not None and payment is not None:
        dispatcher.utter_message(
            text=shared.faq.render(payment, tracker.current_slot_values(), asked=asked),
            answer_source={"kind": "template", "id": payment.source_id, "intent": PAYMENT_INTENT},
        )
        return True
    return False
