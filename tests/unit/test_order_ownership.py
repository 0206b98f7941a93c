"""Orders only to their owner (issue 14): the order's e-mail or the shop's signed token before
any detail, one reply for wrong e-mails and unknown numbers, limits on failed look-ups, and
`/intent{...}` messages from customers read as text unless they answer the bot's buttons.

The actions with rasa-sdk's Tracker, then the real bot of the session (`bot` in conftest.py)
over REST; tokens and the look-up limiter on their own are in tests/unit/test_order_checks.py.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.helpers.action_calls import details_of

SECRET = b"order-token-secret-for-tests"


# ------------------------------------------------------------------------- the actions


def order_tracker(
    sender: str, slots: dict[str, Any], metadata: dict[str, Any] | None = None
) -> Tracker:
    latest = {
        "text": "where is my order",
        "intent": {"name": "track_order", "confidence": 0.97},
        "entities": [],
        "metadata": metadata or {},
    }
    return Tracker(
        sender_id=sender,
        slots=slots,
        latest_message=latest,
        events=[{"event": "user", "text": latest["text"], "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def answer(sender: str, slots: dict[str, Any], metadata: dict[str, Any] | None = None):
    from actions.answers import ActionAnswer

    dispatcher = CollectingDispatcher()
    events = ActionAnswer().run(dispatcher, order_tracker(sender, slots, metadata), {})
    return dispatcher.messages, events


def test_no_detail_before_the_email_and_all_of_them_after(shared) -> None:
    order = shared.orders.find("482913")
    messages, events = answer("own-1", {"order_number": "482913"})
    assert messages[0]["answer_source"] == {"kind": "ask", "slot": "order_email"}
    assert events == []
    said = " ".join(message["text"] for message in messages)
    assert not any(detail in said for detail in details_of(order) + ["on its way"])

    messages, events = answer(
        "own-1", {"order_number": "482913", "order_email": "  Anna.Berg@EXAMPLE.org "}
    )
    assert order.tracking_code in messages[0]["text"] and "on its way" in messages[0]["text"]
    assert messages[0]["answer_source"]["kind"] == "template"
    assert {event["name"]: event["value"] for event in events} == {
        "verified_order": "482913",
        "order_email": None,  # used once, not kept
    }


def test_a_wrong_email_and_an_unknown_number_get_the_same_reply(shared) -> None:
    wrong, wrong_events = answer(
        "own-2", {"order_number": "482913", "order_email": "jonas.weber@example.org"}
    )
    assert shared.orders.find("000001") is None
    unknown, unknown_events = answer(
        "own-3", {"order_number": "000001", "order_email": "anna.berg@example.org"}
    )
    assert "couldn't match that e-mail address to order 482913" in wrong[0]["text"]
    same = [dict(m, text=m["text"].replace("000001", "482913")) for m in unknown]
    assert same == wrong and unknown_events == wrong_events
    assert {event["name"]: event["value"] for event in wrong_events} == {
        "order_number": None,
        "order_email": None,
    }
    assert wrong[0]["answer_source"] == {"kind": "order_check", "result": "not_matched"}


def test_the_fourth_try_in_a_conversation_is_refused_even_with_the_right_email(shared) -> None:
    for guess in ("a@example.org", "b@example.org", "c@example.org"):
        messages, _ = answer("own-4", {"order_number": "604731", "order_email": guess})
        assert messages[0]["answer_source"]["result"] == "not_matched"
    right = {"order_number": "604731", "order_email": "jonas.weber@example.org"}
    messages, events = answer("own-4", right)
    assert messages[0]["answer_source"] == {"kind": "order_check", "result": "too_many_tries"}
    assert "15 minutes" in messages[0]["text"] and "being packed" not in messages[0]["text"]
    assert messages[0]["buttons"] == [
        {"title": "Talk to a person", "payload": "/contact_human_agent"}
    ]
    assert {event["name"] for event in events} == {"order_number", "order_email"}
    assert answer("own-5", right)[0][0]["answer_source"]["kind"] == "template"  # others go on


def test_the_limit_per_client_address_spans_conversations(shared) -> None:
    address = {"client_address": "198.51.100.23"}
    for index in range(10):
        answer(f"addr-{index}", {"order_number": "538214", "order_email": "x@y.zz"}, address)
    right = {"order_number": "538214", "order_email": "sofia.rossi@example.org"}
    refused, _ = answer("addr-new", right, address)
    assert refused[0]["answer_source"]["result"] == "too_many_tries"
    allowed, _ = answer("addr-new", right, {"client_address": "198.51.100.24"})
    assert "delivered" in allowed[0]["text"]


def test_a_checked_order_is_not_asked_about_again_and_another_one_is(shared) -> None:
    from actions.answers import ValidateOrderForm

    messages, _ = answer("own-6", {"order_number": "338920", "verified_order": "338920"})
    assert messages[0]["answer_source"]["kind"] == "template"
    messages, _ = answer("own-6", {"order_number": "447129", "verified_order": "338920"})
    assert messages[0]["answer_source"] == {"kind": "ask", "slot": "order_email"}

    import asyncio

    form = ValidateOrderForm()
    slots = ["order_number", "order_email"]

    def required(values: dict[str, Any]) -> list[str]:
        tracker = order_tracker("own-6", values)
        return asyncio.run(form.required_slots(slots, CollectingDispatcher(), tracker, {}))

    assert required({}) == slots
    assert required({"order_number": "447129", "verified_order": "338920"}) == slots
    assert required({"order_number": "338920", "verified_order": "338920"}) == ["order_number"]


def test_the_shops_token_skips_the_question_and_a_bad_one_is_ignored(shared, monkeypatch):
    from bot.answers.order_tokens import SECRET_VARIABLE, mint

    monkeypatch.setenv(SECRET_VARIABLE, SECRET.decode())
    good = {"order_token": mint("604731", ttl_seconds=60)}
    messages, events = answer("tok-1", {"order_number": "604731"}, good)
    assert "being packed" in messages[0]["text"]
    assert {event["name"]: event["value"] for event in events}["verified_order"] == "604731"
    for bad in (
        mint("604731", ttl_seconds=60, now=time.time() - 3600),  # expired
        mint("482913", ttl_seconds=60),  # another order's
        mint("604731", ttl_seconds=60, secret=b"not the shop's"),
        "604731",
    ):
        messages, _ = answer("tok-2", {"order_number": "604731"}, {"order_token": bad})
        assert messages[0]["answer_source"] == {"kind": "ask", "slot": "order_email"}, bad
    monkeypatch.delenv(SECRET_VARIABLE)
    messages, _ = answer("tok-3", {"order_number": "604731"}, good)
    assert messages[0]["answer_source"] == {"kind": "ask", "slot": "order_email"}


def test_the_form_takes_an_email_and_refuses_what_is_not_one(shared) -> None:
    from actions.answers import ActionAskOrderEmail, ValidateOrderForm

    dispatcher = CollectingDispatcher()
    validate = ValidateOrderForm().validate_order_email
    tracker = order_tracker("form-1", {})
    assert validate(" ana@example.org ", dispatcher, tracker, {}) == {
        "order_email": "ana@example.org"
    }
    assert validate("@", dispatcher, tracker, {}) == {"order_email": None}
    assert "e-mail address" in dispatcher.messages[0]["text"]
    asked = CollectingDispatcher()
    ActionAskOrderEmail().run(asked, tracker, {})
    assert asked.messages[0]["answer_source"] == {"kind": "ask", "slot": "order_email"}


def test_only_the_bots_own_button_payloads_are_read_as_intents() -> None:
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.runtime.rasa_patches import takes_intent_message

    buttons = {"buttons": [{"title": "Yes", "payload": "/affirm"}]}
    offered = DialogueStateTracker.from_events(
        "c", [UserUttered("hi"), BotUttered("Did this help?", data=buttons)]
    )
    plain = DialogueStateTracker.from_events("c", [UserUttered("hi"), BotUttered("Hello")])

    def message(text: str, channel: str | None = "rest") -> Any:
        return SimpleNamespace(text=text, input_channel=channel)

    assert takes_intent_message(message(" /affirm "), offered)
    assert not takes_intent_message(message("/affirm"), plain)
    assert not takes_intent_message(message('/affirm{"order_number": "1"}'), offered)
    assert not takes_intent_message(message('/track_order{"order_number":"538214"}'), offered)
    assert takes_intent_message(message("/session_start"), plain)
    assert takes_intent_message(message("/affirm", channel=None), plain)  # HTTP API, token
    assert takes_intent_message(message("where is my order"), plain)
