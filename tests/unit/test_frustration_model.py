"""The learned half of the frustration signal, with a tiny random BERT: fit, persist, load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.frustration_detector import FrustrationDetector
from bot.nlu.frustration_model import (
    FrustrationExamplesError,
    FrustrationModel,
    SentenceEncoder,
    load_examples,
)

EXAMPLES = {
    "frustrated": ["you are useless", "I am so fed up with this", "ANSWER ME", "great, just great"],
    "not_frustrated": ["where is my order", "thanks a lot", "can I pay by card", "hello"],
}


def write_examples(path: Path, data: object = EXAMPLES) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_examples_are_read_as_texts_and_labels(tmp_path):
    texts, labels = load_examples(write_examples(tmp_path / "f.yml"))
    assert texts[:4] == EXAMPLES["frustrated"] and labels == [True] * 4 + [False] * 4


@pytest.mark.parametrize(
    "data", [{"frustrated": ["x"]}, {"frustrated": [], "not_frustrated": ["y"]}, ["a list"], None]
)
def test_an_unusable_examples_file_is_a_clear_error(tmp_path, data):
    with pytest.raises(FrustrationExamplesError, match="frustrated"):
        load_examples(write_examples(tmp_path / "f.yml", data))
    with pytest.raises(FrustrationExamplesError, match="no such file"):
        load_examples(tmp_path / "missing.yml")


def test_the_model_fits_and_loads_back_the_same(tmp_path, tiny_bert_dir):
    encoder = SentenceEncoder(str(tiny_bert_dir))
    texts, labels = load_examples(write_examples(tmp_path / "f.yml"))
    model = FrustrationModel.fit(encoder, texts, labels, c=4.0)
    model.save(tmp_path)
    loaded = FrustrationModel.load(tmp_path, encoder)
    probabilities = model.probabilities(["you are useless", "where is my order"])
    assert np.allclose(
        loaded.probabilities(["you are useless", "where is my order"]), probabilities
    )
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert model.probabilities([]).shape == (0,)


def test_the_detector_trains_persists_and_loads_as_a_pair(
    tmp_path, tiny_bert_dir, model_storage, execution_context
):
    config = {
        "examples": str(write_examples(tmp_path / "f.yml")),
        "model_name_or_path": str(tiny_bert_dir),
    }
    resource = Resource("frustration")
    detector = FrustrationDetector.create(
        {**FrustrationDetector.get_default_config(), **config},
        model_storage,
        resource,
        execution_context,
    )
    intents = TrainingData(
        [Message(data={"text": "hi there", "intent": "greet"}),
         Message(data={"text": "this bot is useless", "intent": "insult"})]
    )  # fmt: skip
    detector.train(intents)
    loaded = FrustrationDetector.load(
        {**FrustrationDetector.get_default_config(), **config},
        model_storage,
        resource,
        execution_context,
    )
    [message] = loaded.process([Message(data={"text": "ANSWER ME NOW you useless bot"})])
    sentiment = message.get("sentiment")
    assert sentiment["frustrated"] is True and set(sentiment) >= {"cues", "model", "score"}
    assert sentiment["score"] == max(sentiment["cues"], sentiment["model"])


def test_intent_examples_count_as_calm_except_angry_intents_and_angry_words():
    detector = FrustrationDetector({"examples": None})
    data = TrainingData(
        [
            Message(data={"text": "where is my parcel", "intent": "track_order"}),
            Message(data={"text": "you are useless", "intent": "insult"}),
            Message(data={"text": "I want to complain", "intent": "complaint"}),
            Message(
                data={"text": "this is ridiculous, cancel it NOW!!!", "intent": "cancel_order"}
            ),
        ]
    )
    assert detector.calm_intent_examples(data) == ["where is my parcel"]


def test_without_examples_the_cues_decide_alone(model_storage, execution_context):
    config = {**FrustrationDetector.get_default_config(), "examples": None}
    resource = Resource("cues-only")
    detector = FrustrationDetector.create(config, model_storage, resource, execution_context)
    detector.train(TrainingData([]))
    loaded = FrustrationDetector.load(config, model_storage, resource, execution_context)
    assert loaded.model is None
    [message] = loaded.process([Message(data={"text": "you are useless"})])
    assert message.get("sentiment")["frustrated"] is True and "model" not in message.get(
        "sentiment"
    )


def test_a_missing_examples_file_stops_training_with_its_name(
    tmp_path, model_storage, execution_context
):
    config = {**FrustrationDetector.get_default_config(), "examples": str(tmp_path / "nope.yml")}
    detector = FrustrationDetector.create(config, model_storage, Resource("x"), execution_context)
    with pytest.raises(InvalidConfigException, match="nope.yml"):
        detector.train(TrainingData([]))


def test_changed_examples_change_the_fingerprint(tmp_path):
    path = write_examples(tmp_path / "f.yml")
    before = FrustrationDetector.fingerprint_addon({"examples": str(path)})
    assert before == FrustrationDetector.fingerprint_addon({"examples": str(path)})
    write_examples(path, {**EXAMPLES, "not_frustrated": [*EXAMPLES["not_frustrated"], "ok"]})
    assert FrustrationDetector.fingerprint_addon({"examples": str(path)}) != before
    assert FrustrationDetector.fingerprint_addon({"examples": None}) is None
