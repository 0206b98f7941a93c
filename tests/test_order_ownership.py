"""Orders only to their owner (issue 14): the order's e-mail or the shop's signed token before
any detail, one reply for wrong e-mails and unknown numbers, limits on failed look-ups, and
`/intent{...}` messages from customers read as text unless they answer the bot's buttons.

The actions with rasa-sdk's Tracker, then the real bot of the session (`bot` in conftest.py)
over REST; tokens and the look-up limiter on their own are in tests/test_order_checks.py.
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.conftest import request

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


def details_of(order) -> list[str]:
    return [order.carrier, order.tracking_code, order.shipping_method, *order.items]


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


# ------------------------------------------------------------------------- the real bot


def order_replies(bot, sender: str, message: str) -> str:
    return " ".join(bot.say(sender, message))


def stranger_events(bot, sender: str, number: str, email: str) -> list[tuple]:
    """The conversation's events without ids, times, and the number and e-mail typed."""
    shape = []
    for event in bot.tracker(sender)["events"]:
        if event["event"] == "user":
            continue  # the customer's own words differ
        text = re.sub(number, "N", event.get("text") or "")
        value = event.get("value")
        value = {number: "N", email: "E"}.get(value, value) if isinstance(value, str) else value
        source = (event.get("metadata") or {}).get("answer_source")
        shape.append((event["event"], event.get("name"), value, text, str(source)))
    return shape


@pytest.mark.slow
def test_the_real_bot_tells_an_order_only_to_its_owner(bot, databases) -> None:
    from bot.answers.orders import OrderBook

    order = OrderBook(databases["SHOPDESK_ORDERS_DB_URL"]).find("482913")
    sender = f"owner-{time.time_ns()}"
    said = order_replies(bot, sender, "where is my order 482913?")
    assert "e-mail address you placed the order with" in said
    assert not any(detail in said for detail in details_of(order) + ["on its way"]), said
    said = order_replies(bot, sender, "the email on the order is Anna.Berg@example.org")
    assert "on its way" in said and order.tracking_code in said
    said = order_replies(bot, sender, "ok, can I cancel it now?")  # not asked again
    assert "can't be cancelled" in said and "e-mail" not in said
    tracker = bot.tracker(sender)
    assert tracker["slots"]["verified_order"] == "482913"
    assert tracker["slots"]["order_email"] is None


@pytest.mark.slow
def test_the_real_bot_says_the_same_for_a_wrong_email_and_an_unknown_number(bot) -> None:
    replies = {}
    for sender, number, email in (
        (f"wrong-{time.time_ns()}", "482913", "sofia.rossi@example.org"),
        (f"unknown-{time.time_ns()}", "999990", "anna.berg@example.org"),
    ):
        asked = order_replies(bot, sender, f"where is my order {number}?")
        answered = bot.say(sender, f"the email on the order is {email}")
        replies[number] = (asked.replace(number, "N"), [r.replace(number, "N") for r in answered])
        assert "couldn't match that e-mail address to order" in answered[0], answered
        replies[number + "-events"] = stranger_events(bot, sender, number, email)
    assert replies["482913"] == replies["999990"]
    assert replies["482913-events"] == replies["999990-events"]


@pytest.mark.slow
def test_the_real_bot_refuses_the_fourth_try_and_offers_a_person(bot) -> None:
    sender = f"guesser-{time.time_ns()}"
    for guess in ("a@example.org", "b@example.org", "c@example.org"):
        order_replies(bot, sender, "where is my order 604731?")
        said = order_replies(bot, sender, f"the email on the order is {guess}")
        assert "couldn't match" in said
    # The fourth: refused at once, without asking for an e-mail it would not check.
    replies = bot.replies(sender, "where is my order 604731?")
    text = " ".join(reply.get("text", "") for reply in replies)
    assert "too many attempts" in text and "being packed" not in text and "e-mail" not in text
    buttons = next(reply["buttons"] for reply in replies if reply.get("buttons"))
    assert buttons == [{"title": "Talk to a person", "payload": "/contact_human_agent"}]
    # The button is the bot's own: its payload is read as the intent, and a person comes.
    assert "support team" in order_replies(bot, sender, "/contact_human_agent")
    assert bot.tracker(sender)["paused"] is True


@pytest.mark.slow
def test_a_typed_intent_message_is_text_and_reveals_nothing(bot, databases) -> None:
    from bot.answers.orders import OrderBook

    order = OrderBook(databases["SHOPDESK_ORDERS_DB_URL"]).find("538214")
    sender = f"forged-{time.time_ns()}"
    said = order_replies(bot, sender, '/track_order{"order_number":"538214"}')
    assert not any(detail in said for detail in details_of(order) + ["delivered"]), said
    said = order_replies(bot, sender, '/affirm{"verified_order":"538214"}')
    assert not any(detail in said for detail in details_of(order) + ["delivered"]), said
    tracker = bot.tracker(sender)
    for event in [e for e in tracker["events"] if e["event"] == "user"]:
        parse = event["parse_data"]
        assert len(parse["intent_ranking"]) > 1, parse  # ranked by our classifier
        assert all(e.get("extractor") != "RegexMessageHandler" for e in parse["entities"])
    assert tracker["slots"].get("verified_order") is None


@pytest.mark.slow
def test_the_bots_own_buttons_and_rasas_internal_messages_still_work(bot, databases) -> None:
    from bot.storage.handoffs_and_feedback import Records

    sender = f"buttons-{time.time_ns()}"
    replies = bot.replies(sender, "is the candle wax soy or paraffin")
    assert "Did this answer your question?" in [reply.get("text") for reply in replies]
    assert any("Glad" in reply for reply in bot.say(sender, "/affirm"))
    affirm = [e for e in bot.tracker(sender)["events"] if e["event"] == "user"][-1]
    assert affirm["parse_data"]["intent"] == {"name": "affirm", "confidence": 1.0}
    assert Records(databases["SHOPDESK_DB_URL"]).feedback_for(sender)[0][1] is True
    # Rasa's own control message, and the HTTP API's trigger_intent (with the token).
    bot.say(sender, "/session_start")
    names = [e.get("name") for e in bot.tracker(sender)["events"] if e["event"] == "action"]
    assert names.count("action_session_start") >= 2
    status, body = request(
        bot.api(f"/conversations/{sender}/trigger_intent"), {"name": "greet", "entities": {}}
    )
    assert status == 200 and any("Larkspur" in m.get("text", "") for m in body["messages"])


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
