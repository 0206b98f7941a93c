"""Two questions in one message (bot/nlu/question_split.py): where a message is cut, which
clause counts as another question, and the button the answer offers for it."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.question_split import OTHER_QUESTIONS, clauses, other_questions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is my order and can I still change the address?",
         ["where is my order", "can I still change the address?"]),
        ("do you ship to canada? how much is it", ["do you ship to canada", "how much is it"]),
        ("I want to return the shoes. Can I also get the invoice?",
         ["I want to return the shoes", "Can I also get the invoice?"]),
        # One question: "and" joins what it asks for, or the rest is too short to be a question.
        ("cancel and refund my order please", ["cancel and refund my order please"]),
        ("where is my parcel and why", ["where is my parcel and why"]),
        ("how much is express? and you?", ["how much is express? and you?"]),
    ],
)  # fmt: skip
def test_a_message_is_cut_where_a_new_question_starts(text, expected):
    assert clauses(text) == expected


LABELS = ["track_order", "change_shipping_address", "greet"]


def fake_classifier(scores: dict[str, list[float]]):
    def predict_proba(texts: list[str]) -> np.ndarray:
        return np.array([scores[text] for text in texts])

    return predict_proba


def test_a_confident_clause_about_another_intent_is_another_question():
    predict = fake_classifier(
        {"where is my order": [0.9, 0.05, 0.05], "can I change the address?": [0.1, 0.85, 0.05]}
    )
    text = "where is my order and can I change the address?"
    found = other_questions(text, "track_order", predict, LABELS, 0.8)
    assert found == [
        {"text": "can I change the address?", "intent": "change_shipping_address",
         "confidence": pytest.approx(0.85)}
    ]  # fmt: skip
    # Unsure about the clause, or the same intent as the whole message: nothing to offer.
    assert other_questions(text, "track_order", predict, LABELS, 0.9) == []
    assert other_questions(text, "change_shipping_address", predict, LABELS, 0.8) == [
        {"text": "where is my order", "intent": "track_order", "confidence": pytest.approx(0.9)}
    ]
    assert other_questions("where is my order", "track_order", predict, LABELS, 0.5) == []


def test_the_answer_offers_the_other_question_as_a_button(shared):
    from tests.helpers.action_calls import answer, message

    opener = message("how much is express and can I pay with klarna", "delivery_options")
    opener["parse_data"][OTHER_QUESTIONS] = [
        {"text": "can I pay with klarna", "intent": "check_payment_methods", "confidence": 0.93}
    ]
    messages = answer(opener)
    assert "Express" in messages[0]["text"]
    assert messages[1]["buttons"] == [
        {"title": "can I pay with klarna", "payload": "/check_payment_methods"}
    ]
    assert messages[1]["answer_source"] == {
        "kind": "other_question",
        "intent": "check_payment_methods",
    }
    # An intent without an answer of its own (small talk) is not offered.
    opener["parse_data"][OTHER_QUESTIONS] = [
        {"text": "how are you today", "intent": "greet", "confidence": 0.99}
    ]
    assert len(answer(opener)) == 1
