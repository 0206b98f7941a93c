"""Answers to what was asked (issue 16): the return case, the item problem, the days since
delivery, the shipping option and place a question names, follow-ups that name only a new fact,
and the general rule said while the order number is asked for. Real actions, real data/faq.yml
and data/store.yml, rasa-sdk's Tracker."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.action_calls import JONAS, answer, message, run, tracker_after


def bot_said(intent: str) -> dict[str, Any]:
    source = {"kind": "template", "id": f"faq:{intent}", "intent": intent}
    return {"event": "bot", "text": "...", "metadata": {"answer_source": source}}


@pytest.mark.parametrize(
    ("text", "intent", "entities", "says", "never"),
    [
        ("can I return shoes I wore once", "check_refund_policy", {"return_case": "wore"},
         "worn items can't be returned", "Yes"),
        ("I washed the jumper, can it go back", "get_refund", {"return_case": "washed"},
         "washed items can't be returned", "Yes"),
        ("can i return sale items", "check_refund_policy", {"return_case": "sale"},
         "sale and discounted items can be returned", "can't"),
        ("can I return a gift card", "check_refund_policy",
         {"return_case": "gift card"}, "gift cards", "Yes"),
        # An item problem comes before a return case: a faulty item is never "worn, no return".
        ("it fell apart the first time I wore it", "complaint",
         {"item_problem": "fell apart", "return_case": "wore"}, "warranty", "worn items"),
        ("you sent me the wrong item", "complaint", {"item_problem": "wrong item"},
         "replacement", "warranty"),
        ("whats your warranty on products", "check_refund_policy",
         {"return_case": "warranty"}, "2 years statutory warranty", "unworn"),
    ],
)  # fmt: skip
def test_the_case_a_return_question_names_is_answered(shared, text, intent, entities, says, never):
    messages = answer(message(text, intent, entities))
    assert says in messages[0]["text"] and never not in messages[0]["text"]
    assert messages[0]["answer_source"]["intent"] == intent


def test_days_since_delivery_say_whether_the_window_is_still_open(shared):
    window = shared.faq.store["returns"]["window_days"]
    inside = answer(message("got it 3 weeks ago, can i still return it", "check_refund_policy",
                            {"duration": "3 weeks"}))  # fmt: skip
    assert "Yes, you can still return it" in inside[0]["text"]
    assert f"about {window - 21} days are left" in inside[0]["text"]
    late = answer(message("it's been 5 weeks, too late?", "check_refund_policy",
                          {"duration": "5 weeks"}))  # fmt: skip
    assert "window has passed" in late[0]["text"] and "35 days" in late[0]["text"]


def test_a_shipping_option_to_a_city_is_answered_for_its_country(shared):
    yes = answer(message("next day delivery to Hamburg?", "delivery_options",
                         {"shipping_option": "next day", "country": "Hamburg"}))  # fmt: skip
    assert yes[0]["text"].startswith("Yes, Next-day goes to Germany")
    no = answer(message("click and collect in france?", "delivery_period",
                        {"shipping_option": "click and collect", "country": "france"}))  # fmt: skip
    assert "isn't available in France: only in Germany, Austria, the Netherlands" in no[0]["text"]
    assert "Standard" in no[0]["text"]  # what does go to France
    canada = answer(message("i live in toronto can i order", "delivery_options",
                            {"country": "toronto"}))  # fmt: skip
    assert "don't ship to Canada" in canada[0]["text"]


def test_a_follow_up_naming_a_country_answers_the_previous_question_for_it(shared):
    messages = answer(
        message("how long to germany", "delivery_period", {"country": "germany"}),
        bot_said("delivery_period"),
        message("and to the UK?", "inform", {"country": "UK"}),
    )
    assert "United Kingdom" in messages[0]["text"] and "3-6 working days" in messages[0]["text"]
    assert messages[0]["answer_source"]["intent"] == "delivery_period"


def test_a_follow_up_without_an_earlier_question_gets_the_facts_own_answer(shared):
    paypal = answer(bot_said("track_order"), message("what about venmo", "inform",
                                                      {"payment_method": "venmo"}))  # fmt: skip
    assert "we don't accept Venmo" in paypal[0]["text"]
    assert paypal[0]["answer_source"]["intent"] == "check_payment_methods"


def test_after_the_order_form_the_faulty_item_answer_names_the_order(shared):
    opener = message("the zip on my jacket broke", "complaint", {"item_problem": "broke"})
    events = [
        opener,
        {"event": "action", "name": "action_answer"},
        {"event": "action", "name": "order_form"},
        {"event": "active_loop", "name": "order_form"},
        message("604731", "inform"),
        {"event": "action", "name": "order_form"},
        {"event": "active_loop", "name": None},
    ]
    messages = answer(*events, slots={"order_number": "604731", **JONAS})
    text = messages[-1]["text"]
    assert "warranty" in text and "For order 604731" in text and '"Faulty"' in text


def test_the_general_rule_comes_before_the_order_number_question(shared):
    from actions.answers import ActionAskOrderNumber

    asked = tracker_after(message("how long do refunds take to reach my bank", "track_refund"))
    messages, _ = run(ActionAskOrderNumber(), asked)
    assert "working days" in messages[0]["text"] and messages[0]["answer_source"]["id"] == (
        "faq:track_refund#before_asking"
    )
    assert "order number" in messages[1]["text"]
    # Not when the form asks again after a reply that was no number.
    again = tracker_after(
        message("how long do refunds take", "track_refund"),
        message("hm not sure", "inform"),
        active_loop="order_form",
    )
    messages, _ = run(ActionAskOrderNumber(), again)
    assert len(messages) == 1 and "order number" in messages[0]["text"]


def test_a_past_answer_to_the_very_question_is_added_with_its_provenance(shared):
    text = "the sole of my boots came off after 4 months"
    messages = answer(message(text, "complaint", {"item_problem": "came off"}))
    assert "warranty" in messages[0]["text"]  # the template's answer first
    added = messages[1]
    assert added["answer_source"]["kind"] == "transcript_added"
    assert added["answer_source"]["id"].startswith("transcript:")
    assert added["answer_source"]["score"] >= 18.5 and "12 months" in added["text"]
    # A fact the transcript does not mention, or no fact named: the template alone.
    assert len(answer(message(text + " in Canada", "complaint",
                              {"item_problem": "came off", "country": "Canada"}))) == 1  # fmt: skip
    assert len(answer(message(text, "check_refund_policy"))) == 1


def retrieve(*events: dict[str, Any]) -> list[dict]:
    from actions.answers import ActionRetrieveAnswer

    messages, _ = run(ActionRetrieveAnswer(), tracker_after(*events))
    return messages


def test_a_declined_shop_question_naming_a_topic_is_answered_from_the_profile(shared):
    store = shared.faq.store
    cards = retrieve(message("can i buy a gift card for 300 euros", "out_of_scope",
                             {"store_topic": "gift card"}))  # fmt: skip
    assert store["gift_cards"]["values"] in cards[0]["text"]
    assert cards[0]["answer_source"] == {"kind": "template", "id": "faq:topics.gift_cards"}
    care = retrieve(message("how do i wash a linen shirt", "nlu_fallback", {"store_topic": "wash"}))
    assert store["product_care"]["linen"] in care[0]["text"]
    duties = retrieve(message("customs when ordering to england?", "out_of_scope",
                              {"store_topic": "customs", "country": "england"}))  # fmt: skip
    assert duties[0]["text"].startswith("To United Kingdom: duties and VAT prepaid")


def test_a_declined_message_naming_a_payment_method_gets_the_payment_answer(shared):
    venmo = retrieve(message("can i venmo you", "nlu_fallback", {"payment_method": "venmo"}))
    assert "we don't accept Venmo" in venmo[0]["text"]
    assert venmo[0]["answer_source"]["intent"] == "check_payment_methods"
    # Nothing named: the declined message is still declined.
    weather = retrieve(message("will it snow tomorrow", "out_of_scope"))
    assert weather[0]["answer_source"]["kind"] == "out_of_scope"


def test_an_unsure_message_naming_a_wrong_item_is_answered_as_a_complaint(shared):
    unsure = message("came with the wrong colour, I ordered sage", "nlu_fallback",
                     {"item_problem": "wrong colour"})  # fmt: skip
    messages = answer(unsure)
    assert "wrong item" in messages[0]["text"]
    assert messages[0]["answer_source"]["intent"] == "complaint"
