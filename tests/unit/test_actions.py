"""The answering actions, run with rasa-sdk's own Tracker and CollectingDispatcher."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.helpers.action_calls import JONAS, run


def user_event(text: str, intent: str, confidence: float = 0.95) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": []},
    }


def tracker(
    text: str,
    intent: str,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    sender: str = "customer-1",
) -> Tracker:
    latest = user_event(text, intent)
    return Tracker(
        sender_id=sender,
        slots=slots or {},
        latest_message=latest["parse_data"] | {"text": text},
        events=(events or []) + [latest],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_template_answer_records_its_source(shared):
    from actions.answers import ActionAnswer

    messages, events = run(ActionAnswer(), tracker("what can I pay with", "check_payment_methods"))
    assert "PayPal" in messages[0]["text"]
    assert messages[0]["answer_source"] == {
        "kind": "template",
        "id": "faq:check_payment_methods",
        "intent": "check_payment_methods",
    }
    assert events == []


# The e-mail addresses of the sample orders (bot/answers/orders.py): an order is told only to
# whoever
# gives its e-mail (tests/unit/test_order_ownership.py has the rest of that).
ANNA = {"order_email": "anna.berg@example.org"}  # 482913


def test_order_answer_uses_the_orders_real_state(shared):
    from actions.answers import ActionAnswer

    shipped = shared.orders.find("482913")
    messages, _ = run(
        ActionAnswer(),
        tracker("cancel 482913", "cancel_order", {"order_number": "482913", **ANNA}),
    )
    assert "can't be cancelled" in messages[0]["text"] and shipped.carrier in messages[0]["text"]
    messages, _ = run(
        ActionAnswer(),
        tracker("where is 604731", "track_order", {"order_number": "604731", **JONAS}),
    )
    assert "being packed" in messages[0]["text"]


def test_unknown_order_number_is_helpful_and_forgotten(shared):
    from actions.answers import ActionAnswer

    messages, events = run(
        ActionAnswer(),
        tracker("where is 000001", "track_order", {"order_number": "000001", **ANNA}, sender="u"),
    )
    # Helpful without saying whether the order exists: a wrong e-mail gets the same words.
    assert "couldn't match that e-mail address to order 000001" in messages[0]["text"]
    assert "confirmation e-mail" in messages[0]["text"]
    assert events == [
        {"event": "slot", "timestamp": None, "name": "order_number", "value": None},
        {"event": "slot", "timestamp": None, "name": "order_email", "value": None},
    ]


def test_missing_order_number_is_asked_for(shared):
    from actions.answers import ActionAnswer

    messages, _ = run(ActionAnswer(), tracker("where is my parcel", "track_order"))
    assert "order number" in messages[0]["text"]
    assert messages[0]["answer_source"] == {"kind": "ask", "slot": "order_number"}


def test_answer_after_the_form_uses_the_question_that_opened_it(shared):
    from actions.answers import ActionAnswer

    history = [
        user_event("I want to cancel my order", "cancel_order"),
        {"event": "action", "name": "order_form"},
        {"event": "active_loop", "name": "order_form"},
        {"event": "action", "name": "action_listen"},
    ]
    after = tracker("it's 604731", "nlu_fallback", {"order_number": "604731", **JONAS}, history)
    after.events += [
        {"event": "action", "name": "order_form"},
        {"event": "active_loop", "name": None},
    ]
    messages, _ = run(ActionAnswer(), after)
    assert "free of charge" in messages[0]["text"]  # the cancel answer, not a fallback
    assert messages[0]["answer_source"]["intent"] == "cancel_order"


def test_retrieval_answers_from_a_past_transcript_with_feedback_buttons(shared):
    from actions.answers import ActionRetrieveAnswer

    messages, _ = run(
        ActionRetrieveAnswer(),
        tracker("how do I wash the linen duvet cover without it shrinking", "nlu_fallback"),
    )
    source = messages[0]["answer_source"]
    assert source["kind"] == "retrieval" and source["id"].startswith("transcript:")
    assert source["score"] >= shared.search.threshold
    assert [b["payload"] for b in messages[1]["buttons"]] == ["/affirm", "/deny"]


def test_nothing_found_asks_to_rephrase_then_hands_off(shared):
    from actions.answers import ActionRetrieveAnswer

    first, _ = run(ActionRetrieveAnswer(), tracker("qwzx plmk", "nlu_fallback", sender="c-2"))
    assert first[0]["response"] == "utter_please_rephrase"
    history = [
        user_event("qwzx plmk", "nlu_fallback"),
        {
            "event": "bot",
            "text": "Sorry...",
            "metadata": {"answer_source": first[0]["answer_source"]},
        },
    ]
    second, events = run(
        ActionRetrieveAnswer(), tracker("vbnm tyui", "nlu_fallback", events=history, sender="c-2")
    )
    assert second[0]["answer_source"]["reason"] == "repeated_fallback"
    assert events[0]["event"] == "pause"
    assert [h.reason for h in shared.records.open_handoffs() if h.conversation_id == "c-2"] == [
        "repeated_fallback"
    ]


def test_off_topic_without_a_match_gets_the_out_of_scope_answer(shared):
    from actions.answers import ActionRetrieveAnswer

    messages, events = run(
        ActionRetrieveAnswer(), tracker("who won the chess olympiad", "out_of_scope")
    )
    assert messages[0]["response"] == "utter_out_of_scope" and events == []


def test_handoff_pauses_the_conversation_and_records_the_reason(shared):
    from actions.handoff import ActionHandoff

    messages, events = run(
        ActionHandoff(), tracker("I want a real person", "contact_human_agent", sender="c-3")
    )
    assert shared.faq.store["contact"]["chat_hours"] in messages[0]["text"]
    assert events[0]["event"] == "pause"
    [request] = [h for h in shared.records.open_handoffs() if h.conversation_id == "c-3"]
    assert request.reason == "asked_for_human" and request.last_message == "I want a real person"
    _, _ = run(ActionHandoff(), tracker("this is a disgrace", "complaint", sender="c-4"))
    assert [h.reason for h in shared.records.open_handoffs() if h.conversation_id == "c-4"] == [
        "complaint"
    ]


def test_feedback_is_stored_with_the_answer_it_is_about(shared):
    from actions.feedback import ActionRecordFeedback

    answered = {
        "event": "bot",
        "text": "Wash linen at 40°C...",
        "metadata": {
            "answer_source": {
                "kind": "retrieval",
                "id": "transcript:t-products-0001",
                "score": 12.5,
            }
        },
    }
    messages, events = run(
        ActionRecordFeedback(), tracker("/affirm", "affirm", events=[answered], sender="c-5")
    )
    assert events == [] and "Glad" in messages[0]["text"]
    messages, events = run(
        ActionRecordFeedback(), tracker("/deny", "deny", events=[answered], sender="c-5")
    )
    assert events[0]["event"] == "pause"
    assert shared.records.feedback_for("c-5") == [
        ("transcript:t-products-0001", True),
        ("transcript:t-products-0001", False),
    ]


def test_order_form_accepts_six_digits_only(shared):
    from actions.answers import ValidateOrderForm

    dispatcher = CollectingDispatcher()
    validate = ValidateOrderForm().validate_order_number
    assert validate("#482913", dispatcher, tracker("x", "track_order"), {}) == {
        "order_number": "482913"
    }
    assert validate("12345", dispatcher, tracker("x", "track_order"), {}) == {"order_number": None}
    assert "six digits" in dispatcher.messages[0]["text"]


def test_a_broken_faq_file_stops_the_action_server_with_its_name(shared, tmp_path, monkeypatch):
    import actions.shared as module

    broken = tmp_path / "project"
    (broken / "data").mkdir(parents=True)
    for name in ("domain.yml",):
        (broken / name).write_text((module.PROJECT_ROOT / name).read_text())
    for name in ("store.yml",):
        (broken / "data" / name).write_text((module.PROJECT_ROOT / "data" / name).read_text())
    (broken / "data" / "transcripts").mkdir()
    (broken / "data" / "faq.yml").write_text("answers:\n  track_order: {template: '{{ oops'}\n")
    monkeypatch.setattr(module, "PROJECT_ROOT", broken)
    module.resources.cache_clear()
    with pytest.raises(ImportError, match=r"faq\.yml: answers\.track_order"):
        module.resources()
    module.resources.cache_clear()


def test_an_order_with_an_empty_field_goes_to_a_person_not_to_the_customer_as_none(
    shared, monkeypatch
):
    """A shop's database may hold a dispatched order without its carrier: the template would
    say "on its way with None", so a person answers instead."""
    from dataclasses import replace

    from actions.answers import ActionAnswer
    from actions.shared import resources

    orders = resources().orders  # what the action uses (another test may have reloaded it)
    shipped = orders.find("482913")
    monkeypatch.setattr(orders, "find", lambda number: replace(shipped, carrier=None))
    shown = {"order_number": "482913", "verified_order": "482913"}  # checked before
    messages, events = run(
        ActionAnswer(), tracker("where is 482913", "track_order", shown, sender="c-none")
    )
    assert messages[0]["answer_source"]["kind"] == "handoff"
    assert messages[0]["answer_source"]["reason"] == "nothing_found"
    assert "None" not in messages[0]["text"]
    assert events == [{"event": "pause", "timestamp": None}]


# The order form's repairs (actions/order_number_repair.py): the events a form turn sees,
# with the form asking for the order number and the customer's reply last.
ASKING_NUMBER = {"requested_slot": "order_number"}


def form_turn(text: str, intent: str, earlier: list[dict[str, Any]] | None = None) -> Tracker:
    """The tracker the validation action gets right after the customer's reply."""
    opened = [{"event": "active_loop", "name": "order_form"}] + (earlier or [])
    turn = tracker(text, intent, dict(ASKING_NUMBER), events=opened)
    turn.events.append({"event": "action", "name": "order_form"})
    return turn


def repair_turn(repair: str) -> list[dict[str, Any]]:
    """An earlier failed try: the customer's reply and the repair's answer."""
    return [
        user_event("x", "out_of_scope"),
        {"event": "bot", "metadata": {"answer_source": {"kind": "ask", "repair": repair}}},
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("482913", ["482913"]),
        ("482 913", ["482913"]),
        ("it's 482-913", ["482913"]),
        ("482913 604731", ["482913", "604731"]),
        ("482913 or 604731", ["482913", "604731"]),
        ("123", ["123"]),
        ("anna1984@example.org", []),
        ("2 shirts, order 482913", ["2", "482913"]),
    ],
)
def test_number_candidates_join_spaces_and_dashes_and_skip_emails(text, expected):
    from actions.order_number_repair import number_candidates

    assert number_candidates(text) == expected


@pytest.mark.parametrize(
    ("text", "intent", "number", "repair"),
    [
        ("482 913", "out_of_scope", "482913", None),
        ("it's 482-913", "out_of_scope", "482913", None),
        ("2 shirts, order 482913", "track_order", "482913", None),
        ("123", "goodbye", None, "wrong_length"),
        ("48291", "out_of_scope", None, "wrong_length"),
        ("482913 or 604731", "out_of_scope", None, "several"),
        ("482913 and again 482913", "out_of_scope", "482913", None),
        ("I don't know it", "dont_know_order_number", None, "dont_know"),
        ("look it up by my email", "lookup_order_by_email", None, "by_email"),
        ("how long does delivery take", "delivery_period", None, None),
        ("never mind", "stop_form", None, None),
    ],
)
def test_read_order_number(text, intent, number, repair):
    from actions.order_number_repair import Reading, read_order_number

    assert read_order_number(text, intent) == Reading(number=number, repair=repair)


def test_a_wrong_length_number_is_explained_not_a_goodbye(shared):
    from actions.answers import ValidateOrderForm

    dispatcher = CollectingDispatcher()
    form = ValidateOrderForm()
    assert form.extract_order_number(dispatcher, form_turn("123", "goodbye"), {}) == {
        "order_number": None
    }
    assert [m["response"] for m in dispatcher.messages] == ["utter_order_number_wrong_length"]
    assert dispatcher.messages[0]["answer_source"]["repair"] == "wrong_length"
    # the form then asks again; its question is not repeated after the repair's answer
    assert form.validate_order_number(None, dispatcher, form_turn("123", "goodbye"), {}) == {
        "order_number": None
    }
    assert len(dispatcher.messages) == 1


def test_each_repair_has_its_answer(shared):
    from actions.answers import ValidateOrderForm

    cases = {
        ("482913 or 604731", "out_of_scope"): "utter_order_number_several",
        ("I don't have the number", "dont_know_order_number"): "utter_order_number_where",
        ("find it by my email", "lookup_order_by_email"): "utter_order_number_no_email_lookup",
    }
    for (text, intent), response in cases.items():
        dispatcher = CollectingDispatcher()
        events = ValidateOrderForm().extract_order_number(dispatcher, form_turn(text, intent), {})
        assert events == {"order_number": None}
        assert [m["response"] for m in dispatcher.messages] == [response]
        assert "buttons" not in dispatcher.messages[0] or not dispatcher.messages[0]["buttons"]


def test_a_spaced_or_dashed_number_is_taken_as_six_digits(shared):
    from actions.answers import ValidateOrderForm

    dispatcher = CollectingDispatcher()
    form = ValidateOrderForm()
    assert form.extract_order_number(dispatcher, form_turn("482 913", "out_of_scope"), {}) == {
        "order_number": "482913"
    }
    dashed = form.validate_order_number("482-913", dispatcher, form_turn("x", "out_of_scope"), {})
    assert dashed == {"order_number": "482913"}
    assert dispatcher.messages == []


def test_the_second_failed_try_offers_a_person(shared):
    from actions.answers import ValidateOrderForm
    from actions.ownership import PERSON_BUTTON

    dispatcher = CollectingDispatcher()
    turn = form_turn("48291", "out_of_scope", earlier=repair_turn("wrong_length"))
    ValidateOrderForm().extract_order_number(dispatcher, turn, {})
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_order_number_wrong_length",
        "utter_order_number_offer_person",
    ]
    assert dispatcher.messages[1]["buttons"] == [PERSON_BUTTON]
    assert PERSON_BUTTON["payload"] == "/contact_human_agent"


def test_tries_of_an_earlier_form_do_not_count(shared):
    from actions.answers import ValidateOrderForm

    dispatcher = CollectingDispatcher()
    earlier = repair_turn("wrong_length") + [{"event": "active_loop", "name": "order_form"}]
    turn = form_turn("123", "out_of_scope")
    turn.events[:0] = earlier
    ValidateOrderForm().extract_order_number(dispatcher, turn, {})
    assert len(dispatcher.messages) == 1


def test_a_question_in_the_form_is_left_to_the_digression_rules(shared):
    """Nothing extracted: the form rejects the message and a rule answers the question."""
    from actions.answers import ValidateOrderForm

    dispatcher = CollectingDispatcher()
    turn = form_turn("how long does delivery to Austria take", "delivery_period")
    assert ValidateOrderForm().extract_order_number(dispatcher, turn, {}) == {}
    assert dispatcher.messages == []


def test_back_from_a_digression_the_form_asks_again_in_one_sentence(shared):
    from actions.answers import ActionAskOrderEmail, ActionAskOrderNumber, ValidateOrderForm

    answered = [{"event": "action", "name": "action_answer"}, {"event": "bot", "text": "..."}]
    turn = form_turn("what can I pay with", "check_payment_methods")
    turn.events[-1:-1] = answered  # the answer came before the form's turn
    dispatcher = CollectingDispatcher()
    # the form's validation runs again on the way back: it must not read the question again
    assert ValidateOrderForm().extract_order_number(dispatcher, turn, {}) == {}
    messages, _ = run(ActionAskOrderNumber(), turn)
    assert [m["response"] for m in messages] == ["utter_back_to_order_number"]
    messages, _ = run(ActionAskOrderEmail(), turn)
    assert [m["response"] for m in messages] == ["utter_back_to_order_email"]
    # a plain first question is the usual one, from data/faq.yml
    messages, _ = run(ActionAskOrderNumber(), tracker("where is my order", "track_order"))
    assert "six-digit order number" in messages[0]["text"]


def test_the_question_is_not_repeated_after_a_repair(shared):
    from actions.answers import ActionAskOrderNumber

    turn = form_turn("123", "out_of_scope")
    turn.events.append(repair_turn("wrong_length")[1])
    messages, _ = run(ActionAskOrderNumber(), turn)
    assert messages == []


@pytest.mark.parametrize(
    ("text", "in_form", "responses"),
    [
        ("ok", False, ["utter_acknowledged"]),
        ("👍", False, ["utter_acknowledged"]),
        ("hmm", False, ["utter_acknowledged"]),
        ("?", False, ["utter_still_here"]),
        ("are you there?", False, ["utter_still_here"]),
        ("hello?", True, ["utter_still_here_in_form"]),
        ("ok", True, []),
        ("🙂", True, []),
    ],
)
def test_small_talk_gets_a_short_reply_or_none_inside_the_form(text, in_form, responses):
    from actions.small_talk import ActionAcknowledge

    turn = tracker(text, "acknowledge")
    if in_form:
        turn.active_loop = {"name": "order_form"}
    messages, events = run(ActionAcknowledge(), turn)
    assert [m["response"] for m in messages] == responses
    assert events == []


def test_an_unfilled_answer_stub_is_never_said(shared, tmp_path, monkeypatch):
    """A new intent whose answer nobody has written yet (`unfilled: true`, added by the
    export) is answered as an unsure question: from past transcripts, here."""
    import dataclasses
    import shutil

    import actions.answers
    from actions.answers import ActionAnswer
    from bot.answers.faq import FaqBook
    from bot.learning.new_intent_files import add_faq_stubs, add_to_domain
    from bot.runtime.models import domain_intents
    from bot.settings import PROJECT_ROOT

    for name in ("domain.yml", "data/faq.yml", "data/store.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, tmp_path / name)
    add_to_domain(tmp_path / "domain.yml", ["candle_materials"])
    add_faq_stubs(tmp_path / "data" / "faq.yml", ["candle_materials"])
    book = FaqBook.load(
        tmp_path / "data" / "faq.yml", tmp_path / "data" / "store.yml", domain_intents(tmp_path)
    )
    monkeypatch.setattr(actions.answers, "resources", lambda: dataclasses.replace(shared, faq=book))

    messages, _ = run(
        ActionAnswer(), tracker("is the candle wax soy or paraffin", "candle_materials")
    )
    assert messages[0]["answer_source"]["kind"] == "retrieval"
    assert messages[0]["text"].strip()
