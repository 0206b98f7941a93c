"""Frustration and other languages in the actions: an apology and a person, not a loop."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.frustration import frustration_due, is_frustrated

FRUSTRATED = {"frustrated": True, "score": 0.9, "compound": -0.8}
CALM = {"frustrated": False, "score": 0.05, "compound": 0.0}


def user(text: str, intent: str, sentiment: dict[str, Any] | None = None, **extra: Any):
    parse_data = {"intent": {"name": intent, "confidence": 0.9}, "entities": [], **extra}
    if sentiment is not None:
        parse_data["sentiment"] = sentiment
    return {"event": "user", "text": text, "parse_data": parse_data}


def bot(text: str, kind: str) -> dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"answer_source": {"kind": kind}}}


def tracker_of(events: list[dict[str, Any]]) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender_id="angry-1",
        slots={},
        latest_message=latest["parse_data"] | {"text": latest["text"]},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def test_messages_without_a_signal_are_not_frustrated():
    assert not is_frustrated(user("where is my order", "track_order"))
    assert not is_frustrated(user("where is my order", "track_order", CALM))
    assert is_frustrated(user("WHERE IS MY ORDER", "track_order", FRUSTRATED))
    assert is_frustrated({"sentiment": FRUSTRATED})  # tracker.latest_message


def test_one_angry_question_is_answered_as_usual():
    events = [user("I want a refund NOW for order 482913", "get_refund", FRUSTRATED)]
    assert not frustration_due(tracker_of(events))


def test_the_second_frustrated_message_is_due():
    events = [
        user("this is taking forever!!", "track_order", FRUSTRATED),
        bot("Your order is on its way.", "template"),
        user("where is it, calm question", "track_order", CALM),
        bot("Your order is on its way.", "template"),
        user("I am SO fed up with this", "complaint", FRUSTRATED),
    ]
    assert frustration_due(tracker_of(events))


def test_frustrated_right_after_not_understood_is_due():
    events = [
        user("blorp the thing", "nlu_fallback", CALM),
        bot("Could you say it in other words?", "rephrase"),
        user("are you kidding me", "nlu_fallback", FRUSTRATED),
    ]
    assert frustration_due(tracker_of(events))


def test_a_calm_message_after_not_understood_is_not_due():
    events = [
        user("blorp", "nlu_fallback", CALM),
        bot("Could you say it in other words?", "rephrase"),
        user("I mean the delivery time", "delivery_period", CALM),
    ]
    assert not frustration_due(tracker_of(events))


def test_counting_starts_again_after_an_offer_and_in_a_new_session():
    offered = [
        user("useless!!", "insult", FRUSTRATED),
        bot("I'm sorry ...", "frustration"),
        user("WHERE IS MY PARCEL", "track_order", FRUSTRATED),
    ]
    assert not frustration_due(tracker_of(offered))
    new_session = [
        user("this is a joke", "complaint", FRUSTRATED),
        {"event": "session_started"},
        user("ugh, where is my order!!", "track_order", FRUSTRATED),
    ]
    assert not frustration_due(tracker_of(new_session))


def test_an_insult_the_bot_cannot_place_is_not_a_rephrase_request(shared):
    from actions.answers import ActionRetrieveAnswer

    messages, _ = run(
        ActionRetrieveAnswer(),
        tracker_of([user("you are a useless heap", "nlu_fallback", FRUSTRATED)]),
    )
    assert [m["response"] for m in messages] == ["utter_sorry_offer_person"]
    assert messages[0]["buttons"][0]["payload"] == "/contact_human_agent"
    calm, _ = run(ActionRetrieveAnswer(), tracker_of([user("zzqx vrrp", "nlu_fallback", CALM)]))
    assert calm[0]["response"] == "utter_please_rephrase"


def test_the_insult_action_apologises_and_offers_a_person():
    from actions.frustration import ActionFrustration

    messages, events = run(ActionFrustration(), tracker_of([user("stupid bot", "insult")]))
    assert messages[0]["response"] == "utter_sorry_offer_person"
    assert messages[0]["answer_source"] == {"kind": "frustration"}
    assert events == []


def test_taking_the_offer_records_why(shared):
    from actions.handoff import ActionHandoff

    for kind, reason in (
        ("frustration", "frustration"),
        ("other_language", "other_language"),
        ("template", "asked_for_human"),
    ):
        events = [
            user("...", "insult"),
            bot("offer", kind),
            user("/contact_human_agent", "contact_human_agent"),
        ]
        messages, result = run(ActionHandoff(), tracker_of(events))
        assert messages[0]["answer_source"]["reason"] == reason
        assert result[0]["event"] == "pause"
    complaint = [bot("offer", "frustration"), user("I want to complain", "complaint")]
    messages, _ = run(ActionHandoff(), tracker_of(complaint))
    assert messages[0]["answer_source"]["reason"] == "complaint"


def test_another_language_is_named_in_english_with_a_person_offered():
    from actions.other_language import ActionOtherLanguage

    german = user(
        "Wo ist meine Bestellung?",
        "other_language",
        language={"code": "de", "score": 0.99, "supported": False},
    )
    messages, _ = run(ActionOtherLanguage(), tracker_of([german]))
    assert messages[0]["response"] == "utter_other_language"
    assert messages[0]["language"] == "German"
    assert messages[0]["answer_source"] == {"kind": "other_language", "language": "de"}
    assert messages[0]["buttons"][0]["payload"] == "/contact_human_agent"
    unknown = user("...", "other_language", language={"code": "xx", "supported": False})
    messages, _ = run(ActionOtherLanguage(), tracker_of([unknown]))
    assert messages[0]["response"] == "utter_other_language_unnamed"
