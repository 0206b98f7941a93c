"""Orders only to their owner: what the customer must show before any detail of an order.

An order's details (items, amount, carrier, tracking code, dates, refund) are told only to
someone who showed the order is theirs, in one of three ways:

- the e-mail address the order was placed with (slot `order_email`, asked by the order form;
  trimmed and case-folded, compared in constant time: `bot.answers.orders.same_email`);
- a token the shop signed for this order (`order_token` in the message metadata, minted by
  the shop's server for a logged-in customer: bot/answers/order_tokens.py);
- an earlier check in this conversation for the same number (slot `verified_order`), so a
  second question about the same order is not asked again; another number is.

An unknown number and a wrong e-mail get the same reply and the same events, so a reply
never says whether an order exists. Failed checks are counted per conversation and client
address (bot/answers/order_lookups.py); past the limit, look-ups are refused and a person offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.shared import resources
from bot.answers.order_tokens import METADATA_KEY, vouches_for
from bot.answers.orders import OrderView

VERIFIED_ORDER = "verified_order"
ORDER_EMAIL = "order_email"
# Why an order answer was not given; also the `result` of its answer_source.
ASK_EMAIL, NOT_MATCHED, TOO_MANY_TRIES = "ask_email", "not_matched", "too_many_tries"
PERSON_BUTTON = {"title": "Talk to a person", "payload": "/contact_human_agent"}


@dataclass(frozen=True)
class Ownership:
    """The check's outcome: the order when shown to be the customer's, else why not."""

    order: OrderView | None = None
    refusal: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def message_metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = (tracker.latest_message or {}).get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def client_address(tracker: Tracker) -> str | None:
    """The address the channel saw the message come from (server-set metadata), if any."""
    address = message_metadata(tracker).get("client_address")
    return address if isinstance(address, str) and address else None


def vouched_for(tracker: Tracker, number: str) -> bool:
    """Shown already: checked earlier in this conversation, or the shop's token says so."""
    if tracker.get_slot(VERIFIED_ORDER) == number:
        return True
    return vouches_for(message_metadata(tracker).get(METADATA_KEY), number)


def needs_email(tracker: Tracker, number: str) -> bool:
    """Whether the order form must ask for the order's e-mail address before answering.

    Not when the customer is vouched for, nor when look-ups are refused anyway (the answer
    then says so at once instead of asking for an e-mail it will not check).
    """
    if vouched_for(tracker, number):
        return False
    return not resources().lookups.refused(tracker.sender_id, client_address(tracker))


def check_ownership(tracker: Tracker, number: str) -> Ownership:
    """May the customer in this conversation see order `number`?"""
    shared = resources()
    if vouched_for(tracker, number):
        order = shared.orders.find(number)
        if order is None:  # vouched for, but gone since: nothing to tell, nothing to count
            return Ownership(refusal=NOT_MATCHED, events=forget_order())
        return Ownership(order, events=[SlotSet(VERIFIED_ORDER, number), SlotSet(ORDER_EMAIL)])
    address = client_address(tracker)
    if shared.lookups.refused(tracker.sender_id, address):
        return Ownership(refusal=TOO_MANY_TRIES, events=forget_order())
    email = tracker.get_slot(ORDER_EMAIL)
    if not email:
        return Ownership(refusal=ASK_EMAIL)
    order = shared.orders.find_owned(number, str(email))
    if order is None:  # unknown number or wrong e-mail: one answer for both
        shared.lookups.record_failure(tracker.sender_id, address)
        return Ownership(refusal=NOT_MATCHED, events=forget_order())
    return Ownership(order, events=[SlotSet(VERIFIED_ORDER, number), SlotSet(ORDER_EMAIL)])


def forget_order() -> list[dict[str, Any]]:
    """Clear what the customer gave, so the next try starts afresh (and asks again)."""
    return [SlotSet("order_number"), SlotSet(ORDER_EMAIL)]


def say_refusal(
    dispatcher: CollectingDispatcher, tracker: Tracker, ownership: Ownership
) -> list[dict[str, Any]]:
    """Tell the customer why there is no order answer; the same words for every cause."""
    faq = resources().faq
    if ownership.refusal == ASK_EMAIL:
        dispatcher.utter_message(
            text=faq.asks[ORDER_EMAIL], answer_source={"kind": "ask", "slot": ORDER_EMAIL}
        )
        return ownership.events
    slots = tracker.current_slot_values()
    wait = int(resources().lookups.limits.window.total_seconds() // 60)
    text = faq.order_check_text(str(ownership.refusal), slots, wait_minutes=max(1, wait))
    source = {"kind": "order_check", "result": ownership.refusal}
    if ownership.refusal == TOO_MANY_TRIES:
        dispatcher.utter_message(text=text, buttons=[PERSON_BUTTON], answer_source=source)
    else:
        dispatcher.utter_message(text=text, answer_source=source)
    return ownership.events
