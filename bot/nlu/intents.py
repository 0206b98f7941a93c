"""Intents that are no store question, in one place: the FAQ, the outcomes and the data checks
all need to tell them from the questions a template answers."""

from __future__ import annotations

# Messages that ask nothing of the shop: greetings, thanks, yes/no, "ok", "never mind", a bare
# order number or e-mail, an insult. Answered by the dialogue, never by a template.
SMALL_TALK = frozenset(
    {
        "greet",
        "goodbye",
        "thank_you",
        "affirm",
        "deny",
        "bot_challenge",
        "acknowledge",
        "stop_form",
        "inform",
        "insult",
    }
)
# What a customer says when the order form's number question can't be answered
# (actions/order_number_repair.py).
ORDER_NUMBER_REPAIRS = frozenset({"dont_know_order_number", "lookup_order_by_email"})
# Rasa's FallbackClassifier's intent for a message the classifier was unsure about.
FALLBACK_INTENT = "nlu_fallback"
# Set by a pipeline component, never by the classifier (bot/nlu/language_detector.py).
DETECTED = frozenset({"other_language"})
