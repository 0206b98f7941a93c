"""The language and frustration signals: on Rasa messages directly, and inside a real Rasa
pipeline (`train_nlu` on the tiny random BERT, then `Agent` parsing)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.frustration_detector import FrustrationDetector
from bot.nlu.language_detector import LanguageDetector
from tests.helpers.tiny_bert import TOY_EXAMPLES

RANKING = [
    {"name": "track_order", "confidence": 0.7},
    {"name": "get_refund", "confidence": 0.2},
    {"name": "greet", "confidence": 0.1},
]


def classified(text: str) -> Message:
    """A message as the classifier and FallbackClassifier leave it."""
    message = Message(data={"text": text})
    message.set("intent", dict(RANKING[0]), add_to_output=True)
    message.set("intent_ranking", [dict(entry) for entry in RANKING], add_to_output=True)
    return message


@pytest.fixture(scope="module")
def language() -> LanguageDetector:
    return LanguageDetector({})


@pytest.fixture(scope="module")
def frustration() -> FrustrationDetector:
    return FrustrationDetector({})


# ------------------------------------------------------------------ language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hallo, wo ist meine Bestellung? Ich warte seit zwei Wochen", "de"),
        ("Bonjour, je voudrais retourner ma robe, elle est trop petite", "fr"),
        ("hola quiero devolver unas botas que me quedan pequeñas", "es"),
    ],
)
def test_other_languages_become_other_language_with_the_ranking_kept(language, text, code):
    message = classified(text)
    language.process([message])

    assert message.get("language")["code"] == code
    assert message.get("language")["supported"] is False
    assert message.get("intent")["name"] == "other_language"
    assert message.get("intent")["confidence"] == message.get("language")["score"] >= 0.5
    ranking = message.get("intent_ranking")
    assert ranking[0] == message.get("intent")
    assert ranking[1:] == RANKING  # the classifier's ranking, untouched, after it
    output = message.as_dict(only_output_properties=True)  # what Rasa returns as parse data
    assert output["language"]["code"] == code and output["intent"]["name"] == "other_language"


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "hmm",
        "thx",
        "482913",
        "PayPal?",
        "merci",
        "danke",
        "anna.berg@example.org",
        "👍",
        "Can I exchange currencies?",  # py3langid alone says Spanish at 0.96
        "do u deliver to germany",  # Spanish before the shop's words were English markers
        "is the Larkspur linen duvet in stock",
        "where is my order 482913",
    ],
)
def test_short_and_english_messages_are_left_alone(language, text):
    message = classified(text)
    language.process([message])

    assert message.get("language")["code"] == "en"
    assert message.get("language")["supported"] is True
    assert message.get("intent") == RANKING[0]
    assert message.get("intent_ranking") == RANKING
    assert "language" in message.as_dict(only_output_properties=True)


def test_a_message_without_classifier_output_still_gets_the_intent(language):
    message = Message(data={"text": "Dzień dobry, gdzie jest moje zamówienie?"})
    language.process([message])
    assert message.get("intent")["name"] == "other_language"
    assert message.get("intent_ranking") == [message.get("intent")]


def test_a_message_without_text_is_skipped(language):
    message = Message(data={"intent": dict(RANKING[0])})
    language.process([message])
    assert message.get("language") is None
    assert message.get("intent") == RANKING[0]


def test_language_config_overrides(language):
    german = "Hallo, wo ist meine Bestellung? Ich warte seit zwei Wochen"

    both = LanguageDetector({"supported_languages": ["en", "de"]})
    message = classified(german)
    both.process([message])
    assert message.get("language") == {**message.get("language"), "code": "de", "supported": True}
    assert message.get("intent") == RANKING[0]

    strict = LanguageDetector({"min_words": 20, "intent_name": "not_english"})
    assert strict.detect(german)["supported"] is True
    renamed = LanguageDetector({"intent_name": "not_english"})
    message = classified(german)
    renamed.process([message])
    assert message.get("intent")["name"] == "not_english"

    everything = LanguageDetector({"candidate_languages": None})
    assert len(everything.identifier.nb_classes) > len(language.identifier.nb_classes)
    with pytest.raises(InvalidConfigException):
        LanguageDetector({"candidate_languages": ["en", "klingon"]})
    with pytest.raises(InvalidConfigException):
        LanguageDetector({"min_confidence": 1.5})


# --------------------------------------------------------------- frustration


@pytest.mark.parametrize(
    "text",
    [
        "you are useless",
        "this bot is stupid",
        "WHERE IS MY ORDER",
        "refund me NOW",
        "this is the third time I ask about my parcel",
        "ridiculous, worst shop ever",
        "wtf is going on with my order",
        "I will do a chargeback if I dont get my money",
        "never ordering from larkspur again",
    ],
)
def test_angry_messages_are_frustrated(frustration, text):
    message = classified(text)
    frustration.process([message])
    sentiment = message.get("sentiment")
    assert sentiment["frustrated"] is True, sentiment
    assert 0.5 <= sentiment["score"] <= 1
    assert message.get("intent") == RANKING[0] and message.get("intent_ranking") == RANKING
    assert "sentiment" in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    "text",
    [
        "my parcel arrived damaged",
        "I was charged twice",
        "the zipper broke",
        "I'm not happy with the quality of the towels",
        "I hate to bother you but has my refund gone through",
        "where is my order",
        "Thanks!! that was quick",
        "OK THANKS",
        "do you ship to the UK",
    ],
)
def test_calm_messages_and_problem_reports_are_not(frustration, text):
    message = classified(text)
    frustration.process([message])
    sentiment = message.get("sentiment")
    assert sentiment["frustrated"] is False, sentiment
    assert 0 <= sentiment["score"] < 0.5
    assert -1 <= sentiment["compound"] <= 1


def test_frustration_config_overrides(frustration):
    assert frustration.score("my parcel arrived damaged")["compound"] < 0
    assert FrustrationDetector({"threshold": 0.1}).score("my parcel arrived damaged")["frustrated"]
    no_insults = FrustrationDetector({"cue_weights": {"insult": 0.0}, "vader_weight": 0.0})
    assert no_insults.component_config["cue_weights"]["swearing"] == 0.75  # others kept
    assert not no_insults.score("this bot is stupid")["frustrated"]
    with pytest.raises(InvalidConfigException):
        FrustrationDetector({"cue_weights": {"sarcasm_detector": 0.5}})
    with pytest.raises(InvalidConfigException):
        FrustrationDetector({"threshold": 0})


def test_training_data_pass_through_unchanged(language, frustration):
    messages = [Message(data={"text": "Wo ist meine Bestellung bitte", "intent": "track_order"})]
    data = TrainingData(messages)
    before = [dict(message.data) for message in data.training_examples]
    for component in (language, frustration):
        assert component.process_training_data(data) is data
    assert [dict(message.data) for message in data.training_examples] == before


# ------------------------------------------------------ inside a Rasa pipeline


def test_both_components_in_a_trained_rasa_pipeline(tmp_path: Path, tiny_bert_dir, monkeypatch):
    import rasa.model_training
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage

    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "cache"))
    config = {
        "recipe": "default.v1",
        "language": "en",
        "assistant_id": "tiny-signals",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {
                "name": "bot.nlu.bert_intent_classifier.BertIntentClassifier",
                "model_name_or_path": str(tiny_bert_dir),
                "epochs": 2,
                "show_progress_bar": False,
            },
            {"name": "FallbackClassifier", "threshold": 0.0, "ambiguity_threshold": 0.0},
            {"name": "bot.nlu.language_detector.LanguageDetector"},
            {
                "name": "bot.nlu.frustration_detector.FrustrationDetector",
                "model_name_or_path": str(tiny_bert_dir),
                "examples": str(tmp_path / "frustration.yml"),
            },
        ],
        "policies": [],
    }
    (tmp_path / "frustration.yml").write_text(
        yaml.safe_dump(
            {
                "frustrated": ["you are useless", "I am so fed up", "ANSWER ME"],
                "not_frustrated": ["where is my order", "thanks a lot", "can I pay by card"],
            }
        )
    )
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config))
    nlu = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
            for intent, texts in TOY_EXAMPLES.items()
        ],
    }
    (tmp_path / "nlu.yml").write_text(yaml.safe_dump(nlu, sort_keys=False))
    model = rasa.model_training.train_nlu(
        str(tmp_path / "config.yml"), str(tmp_path / "nlu.yml"), str(tmp_path / "models")
    )
    processor = Agent.load(model).processor

    def parse(text: str) -> dict:
        return asyncio.run(processor.parse_message(UserMessage(text)))

    german = parse("Hallo, wo ist meine Bestellung? Ich warte seit zwei Wochen")
    assert german["language"] == {**german["language"], "code": "de", "supported": False}
    assert german["intent"]["name"] == "other_language"
    assert german["intent_ranking"][0]["name"] == "other_language"
    assert {entry["name"] for entry in german["intent_ranking"][1:]} <= set(TOY_EXAMPLES)
    # A tiny random encoder's vote means nothing; the cues find nothing in a calm question.
    assert german["sentiment"]["cues"] < 0.5

    angry = parse("where is my order, you are useless")
    assert angry["language"]["supported"] is True
    assert angry["intent"]["name"] in TOY_EXAMPLES  # the classifier's, not changed
    assert angry["sentiment"]["frustrated"] is True
    assert 0.0 <= angry["sentiment"]["model"] <= 1.0  # the learned model was trained and loaded
