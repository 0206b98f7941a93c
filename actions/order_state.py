"""Which order, if any, an answer is about: answers that use the order's state (issue 17).

`requires: [order_number]` answers (track_order, cancel_order, ...) are always about an order;
the order form asks for its number. `uses_order: optional` answers (get_refund,
check_cancellation_fee, change_shipping_address) answer from the order's state only when the
customer named an order, and in general otherwise, without asking for a number.

A number in the question sends it through the order form (data/rules.yml), so the order's
e-mail is asked exactly as for track_order; a number from earlier in the conversation is used
only when that order was shown to be the customer's already (or the shop's signed token vouches
for it). A general question therefore never starts an e-mail check, nor counts a failed one.
"""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.form_turns import ORDER_FORM
from actions.ownership import vouched_for
from bot.answers.faq import FaqAnswer


def after_order_form(tracker: Tracker) -> bool:
    """Whether the order form has just collected the number (and e-mail) for this answer."""
    previous_action = next(
        (e.get("name") for e in reversed(tracker.events) if e.get("event") == "action"), None
    )
    return previous_action == ORDER_FORM


def order_to_check(tracker: Tracker, answer: FaqAnswer) -> str | None:
    """The order number whose ownership must be checked before answering, or None to answer
    without an order (the template's `order is none` branch)."""
    number = tracker.get_slot("order_number")
    if not number:
        return None
    number = str(number)
    if "order_number" in answer.requires:
        return number
    if answer.uses_order and (after_order_form(tracker) or vouched_for(tracker, number)):
        return number
    return None
