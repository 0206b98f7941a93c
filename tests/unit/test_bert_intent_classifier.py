"""Unit tests of BertIntentClassifier on a tiny randomly initialised BERT (seconds, not minutes)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.augmentation import augment, noisy_copy
from bot.nlu.base_model import fingerprint_directory, packaged_minilm_path, resolve_base_model
from bot.nlu.bert_intent_classifier import (
    LABELS_FILE,
    BertIntentClassifier,
    InvalidModelArchiveError,
)
from bot.nlu.device import autocast_dtype, choose_device
from bot.nlu.sentence_model import SentenceClassifier
from bot.nlu.training import epochs_for, initialise_prototypes, stratified_split
from tests.helpers.tiny_bert import (
    RESOURCE,
    TOY_EXAMPLES,
    load_component,
    parse,
    train_component,
    training_settings,
    write_tiny_bert,
)


@pytest.fixture()
def trained(tiny_bert_dir, model_storage, execution_context, toy_training_data):
    return train_component(tiny_bert_dir, model_storage, execution_context, toy_training_data)


def test_learns_the_training_data(trained):
    for intent, texts in TOY_EXAMPLES.items():
        for text in texts:
            assert parse(trained, text).get("intent")["name"] == intent, text


def test_prediction_has_rasas_shape_and_softmax_confidences(trained):
    message = parse(trained, "where is my parcel")
    intent = message.get("intent")
    ranking = message.get("intent_ranking")
    assert set(intent) == {"name", "confidence"}
    assert all(set(entry) == {"name", "confidence"} for entry in ranking)
    confidences = [entry["confidence"] for entry in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert sum(confidences) == pytest.approx(1.0, abs=1e-5)  # all 3 intents are ranked
    assert ranking[0] == intent
    assert all(isinstance(c, float) for c in confidences)  # JSON-serialisable, not numpy


def test_intent_reaches_the_parse_output(trained):
    """`add_to_output=True`: otherwise the intent vanishes from /model/parse."""
    output = parse(trained, "refund please").as_dict(only_output_properties=True)
    assert output["intent"]["name"] == "get_refund"
    assert len(output["intent_ranking"]) == 3


def test_ranking_length_from_user_config(
    tiny_bert_dir, model_storage, execution_context, toy_training_data
):
    component = train_component(
        tiny_bert_dir, model_storage, execution_context, toy_training_data, ranking_length=2
    )
    assert len(parse(component, "hello").get("intent_ranking")) == 2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \t\n ",
        "where is my order " * 1200,  # ~20,000 characters
        "😡😡😡 📦❓",
        "我的订单在哪里",
        "أين طلبي؟",
        "<script>alert(1)</script>'; DROP TABLE events;--",
        "\x00\x07 control \u202e characters",
    ],
)
def test_any_text_gets_a_valid_prediction(trained, text):
    message = parse(trained, text)
    assert message.get("intent")["name"] in TOY_EXAMPLES
    assert 0.0 <= message.get("intent")["confidence"] <= 1.0


def test_batched_process_matches_one_by_one(trained):
    texts = ["where is my order", "hello", "refund please", "", "我的订单"]
    batch = [Message(data={"text": text}) for text in texts]
    trained.process(batch)
    for message, text in zip(batch, texts, strict=True):
        single = parse(trained, text)
        assert message.get("intent")["name"] == single.get("intent")["name"]
        assert message.get("intent")["confidence"] == pytest.approx(
            single.get("intent")["confidence"], abs=1e-5
        )


def test_messages_without_text_are_left_alone(trained):
    message = Message(data={"action_name": "utter_greet"})
    trained.process([message])
    assert message.get("intent") is None


def test_persist_and_load_give_the_same_predictions(
    trained, model_storage, execution_context, tiny_bert_dir
):
    loaded = load_component(model_storage, execution_context, tiny_bert_dir, cpu_quantization=False)
    assert loaded.labels == trained.labels
    texts = ["where is my parcel", "hello", "give me a refund", "cancel"]
    np.testing.assert_allclose(loaded.predict_proba(texts), trained.predict_proba(texts), atol=1e-6)


def test_the_cpu_serves_an_int8_copy_that_agrees_with_float32(
    trained, model_storage, execution_context, tiny_bert_dir
):
    import torch

    served = load_component(model_storage, execution_context, tiny_bert_dir)
    linear_types = {
        type(m).__module__ for m in served.model.modules() if "Linear" in type(m).__name__
    }
    assert linear_types and all("quantized" in module for module in linear_types)
    assert not any(type(m) is torch.nn.Linear for m in served.model.modules())
    texts = [text for examples in TOY_EXAMPLES.values() for text in examples]
    int8, fp32 = served.predict_proba(texts), trained.predict_proba(texts)
    assert (int8.argmax(axis=1) == fp32.argmax(axis=1)).all()
    np.testing.assert_allclose(int8, fp32, atol=0.05)
    # The archive itself stays float32: quantising is only how the CPU serves it.
    with model_storage.read_from(RESOURCE) as directory:
        assert "float32" in (directory / "config.json").read_text()


def test_finetuning_loads_the_float32_weights(trained, model_storage, tiny_bert_dir):
    from rasa.engine.graph import ExecutionContext, GraphSchema

    finetuning = ExecutionContext(GraphSchema({}), "test-model", is_finetuning=True)
    loaded = load_component(model_storage, finetuning, tiny_bert_dir)
    assert any(type(m) is torch.nn.Linear for m in loaded.model.modules())


def test_archive_holds_safetensors_tokenizer_and_label_map(trained, model_storage):
    with model_storage.read_from(RESOURCE) as directory:
        names = {path.name for path in directory.iterdir()}
        labels = json.loads((directory / LABELS_FILE).read_text())["labels"]
    assert {"model.safetensors", "config.json", LABELS_FILE, "tokenizer.json"} <= names
    assert not any(name.endswith(".bin") for name in names)
    assert labels == sorted(TOY_EXAMPLES)


def test_load_refuses_a_label_map_that_does_not_match_the_weights(
    trained, model_storage, execution_context, tiny_bert_dir
):
    with model_storage.read_from(RESOURCE) as directory:
        (directory / LABELS_FILE).write_text(json.dumps({"labels": ["a", "b", "c", "d"]}))
    with pytest.raises(InvalidModelArchiveError, match="does not match"):
        load_component(model_storage, execution_context, tiny_bert_dir)


def test_load_refuses_weights_whose_head_has_another_size(
    trained, model_storage, execution_context, tiny_bert_dir
):
    """Label map and config agree on 4 intents, but the saved head has 3 outputs."""
    with model_storage.read_from(RESOURCE) as directory:
        labels = ["a", "b", "c", "d"]
        label_file = json.loads((directory / LABELS_FILE).read_text())
        (directory / LABELS_FILE).write_text(json.dumps({**label_file, "labels": labels}))
        config = json.loads((directory / "config.json").read_text())
        config["id2label"] = {str(i): label for i, label in enumerate(labels)}
        config["label2id"] = {label: i for i, label in enumerate(labels)}
        (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidModelArchiveError, match="cannot load weights"):
        load_component(model_storage, execution_context, tiny_bert_dir)


def test_load_refuses_an_archive_without_label_map(
    trained, model_storage, execution_context, tiny_bert_dir
):
    with model_storage.read_from(RESOURCE) as directory:
        (directory / LABELS_FILE).unlink()
    with pytest.raises(InvalidModelArchiveError, match="missing"):
        load_component(model_storage, execution_context, tiny_bert_dir)


def test_untrained_component_loads_and_predicts_nothing(
    model_storage, execution_context, tiny_bert_dir
):
    component = load_component(model_storage, execution_context, tiny_bert_dir)
    message = parse(component, "hello")
    assert component.model is None
    assert message.get("intent") is None


def test_training_on_cpu_is_reproducible(
    tiny_bert_dir, tmp_path, execution_context, toy_training_data
):
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    texts = ["where is my order", "hello there", "refund the boots", "cancel"]
    probabilities = []
    for run in range(2):
        (tmp_path / f"run-{run}").mkdir()
        storage = LocalModelStorage(tmp_path / f"run-{run}")
        component = train_component(
            tiny_bert_dir, storage, execution_context, toy_training_data, epochs=5
        )
        probabilities.append(component.predict_proba(texts))
    np.testing.assert_array_equal(probabilities[0], probabilities[1])


def test_finetuning_continues_from_the_persisted_weights(
    trained, model_storage, tiny_bert_dir, toy_training_data
):
    finetune_context = ExecutionContext(GraphSchema({}), "finetune", is_finetuning=True)
    loaded = load_component(model_storage, finetune_context, tiny_bert_dir, epochs=1)
    before = loaded.predict_proba(["where is my order"])
    loaded.train(toy_training_data)
    # One epoch from the trained weights: still right, and it did train (weights moved).
    assert loaded.training_report.epochs_run == 1
    assert loaded.training_report.losses[0] < 0.5
    assert parse(loaded, "where is my order").get("intent")["name"] == "track_order"
    assert not np.array_equal(before, loaded.predict_proba(["where is my order"]))


def test_finetuning_with_new_intents_is_a_clear_error(
    trained, model_storage, tiny_bert_dir, toy_training_data
):
    finetune_context = ExecutionContext(GraphSchema({}), "finetune", is_finetuning=True)
    loaded = load_component(model_storage, finetune_context, tiny_bert_dir, epochs=1)
    with_new_intent = TrainingData(
        [
            *toy_training_data.training_examples,
            Message(data={"text": "cancel my order", "intent": "cancel_order"}),
        ]
    )
    with pytest.raises(InvalidConfigException, match="added: \\['cancel_order'\\]"):
        loaded.train(with_new_intent)


def test_early_stopping_uses_a_stratified_held_out_split(
    tiny_bert_dir, model_storage, execution_context, toy_training_data
):
    component = train_component(
        tiny_bert_dir,
        model_storage,
        execution_context,
        toy_training_data,
        validation_fraction=0.25,
        min_examples_for_validation=10,
        early_stopping_patience=2,
    )
    report = component.training_report
    assert report.validation_examples == 6
    assert report.train_examples == 18
    assert report.best_validation_accuracy is not None
    assert report.epochs_run < 40  # stopped early: validation accuracy stops improving


def test_stratified_split_keeps_every_intent_in_validation():
    labels = [0] * 30 + [1] * 10 + [2] * 5
    train_idx, validation_idx = stratified_split(labels, 0.2, min_examples=20, seed=1)
    assert sorted(train_idx + validation_idx) == list(range(len(labels)))
    assert {labels[i] for i in validation_idx} == {0, 1, 2}
    # Too little data, or an intent with a single example: no split.
    assert stratified_split(labels, 0.2, min_examples=100, seed=1)[1] == []
    assert stratified_split([0, 0, 0, 1], 0.5, min_examples=1, seed=1)[1] == []


def test_invalid_config_is_refused(model_storage, execution_context):
    with pytest.raises(InvalidConfigException, match="device"):
        BertIntentClassifier.create(
            {**BertIntentClassifier.get_default_config(), "device": "tpu"},
            model_storage,
            RESOURCE,
            execution_context,
        )
    with pytest.raises(InvalidConfigException, match="epochs"):
        BertIntentClassifier.create(
            {**BertIntentClassifier.get_default_config(), "epochs": 0},
            model_storage,
            RESOURCE,
            execution_context,
        )


def test_device_choice_follows_the_hardware():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert choose_device("auto").type == expected
    assert choose_device("cpu").type == "cpu"
    if torch.cuda.is_available():
        assert choose_device("cuda").type == "cuda"
        assert autocast_dtype(torch.device("cuda"), True) in (torch.bfloat16, torch.float16)
    else:
        with pytest.raises(InvalidConfigException, match="no CUDA GPU"):
            choose_device("cuda")
    assert autocast_dtype(torch.device("cpu"), True) is None


def test_default_base_model_is_the_packaged_minilm():
    path = Path(resolve_base_model(None))
    assert path == packaged_minilm_path()
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (path / "model.safetensors").is_file()


def test_unknown_hub_name_is_a_clear_error_offline():
    with pytest.raises(InvalidConfigException, match="huggingface-cli download"):
        resolve_base_model("no-such-org/no-such-model-shopdesk")


def test_fingerprint_changes_when_the_base_model_changes(tmp_path):
    base = write_tiny_bert(tmp_path / "base")
    config = {"model_name_or_path": str(base)}
    before = BertIntentClassifier.fingerprint_addon(config)
    assert before == BertIntentClassifier.fingerprint_addon(config)
    write_tiny_bert(base, hidden_size=16)  # same path, other weights
    assert BertIntentClassifier.fingerprint_addon(config) != before
    assert fingerprint_directory(str(base)) == BertIntentClassifier.fingerprint_addon(config)


# ------------------------------------------------ the few-shot method and old archives


def test_default_network_is_mean_pooling_with_a_prototype_per_intent(trained, model_storage):
    assert isinstance(trained.model, SentenceClassifier)
    assert tuple(trained.model.prototypes.shape) == (3, 32)
    with model_storage.read_from(RESOURCE) as directory:
        assert json.loads((directory / LABELS_FILE).read_text())["architecture"] == (
            "mean_pooling_cosine"
        )
        assert (directory / "intent_head.safetensors").is_file()


def test_prototypes_start_at_the_mean_embedding_of_each_intent(tiny_bert_dir):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    model = SentenceClassifier(AutoModel.from_pretrained(tiny_bert_dir), num_labels=2)
    texts = ["where is my order", "where is my parcel", "hello", "hi there"]
    labels = [0, 0, 1, 1]
    initialise_prototypes(model, tokenizer, texts, labels, 32, torch.device("cpu"))
    with torch.no_grad():
        embeddings = model.embed(**tokenizer(texts, padding=True, return_tensors="pt"))
    expected = torch.nn.functional.normalize(
        torch.stack([embeddings[:2].mean(0), embeddings[2:].mean(0)]), dim=-1
    )
    torch.testing.assert_close(model.prototypes.data, expected, atol=1e-5, rtol=1e-5)
    # Before any training, each text is closest to its own intent's prototype.
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    assert logits.argmax(dim=-1).tolist() == labels


def test_archives_of_the_linear_head_without_architecture_entry_still_load(
    tiny_bert_dir, model_storage, execution_context, toy_training_data
):
    """Model archives written before the prototype head existed name no architecture."""
    trained = train_component(
        tiny_bert_dir,
        model_storage,
        execution_context,
        toy_training_data,
        architecture="cls_linear",
    )
    with model_storage.read_from(RESOURCE) as directory:
        (directory / LABELS_FILE).write_text(json.dumps({"labels": trained.labels}))
    loaded = load_component(model_storage, execution_context, tiny_bert_dir, cpu_quantization=False)
    assert not isinstance(loaded.model, SentenceClassifier)
    texts = ["where is my parcel", "hello", "give me a refund"]
    np.testing.assert_allclose(loaded.predict_proba(texts), trained.predict_proba(texts), atol=1e-6)


def test_unknown_architecture_is_refused(trained, model_storage, execution_context, tiny_bert_dir):
    with pytest.raises(InvalidConfigException, match="architecture"):
        load_component(model_storage, execution_context, tiny_bert_dir, architecture="lstm")
    with model_storage.read_from(RESOURCE) as directory:
        label_file = json.loads((directory / LABELS_FILE).read_text())
        (directory / LABELS_FILE).write_text(json.dumps({**label_file, "architecture": "lstm"}))
    with pytest.raises(InvalidModelArchiveError, match="unknown architecture"):
        load_component(model_storage, execution_context, tiny_bert_dir)


@pytest.mark.parametrize(
    ("examples", "expected"), [(100, 15), (385, 15), (770, 8), (1540, 4), (3000, 2), (50_000, 2)]
)
def test_epochs_follow_the_size_of_the_data(examples, expected):
    settings = training_settings(
        epochs=15,
        batch_size=16,
        learning_rate=1e-4,
        weight_decay=0.0,
        max_seq_length=32,
        epochs_by_data_size=True,
        example_budget=6_000,
        min_epochs=2,
    )
    assert epochs_for(examples, settings) == expected
    settings.epochs = 3  # the ceiling, e.g. after `rasa train --finetune --epoch-fraction`
    assert epochs_for(examples, settings) == min(3, expected)
    settings.epochs_by_data_size = False
    assert epochs_for(examples, settings) == 3


def test_noise_keeps_texts_recognisable_and_is_repeatable():
    text = "Hello, where is my parcel? I ordered the linen shirt."
    first = [noisy_copy(text, random.Random(seed)) for seed in range(50)]
    second = [noisy_copy(text, random.Random(seed)) for seed in range(50)]
    assert first == second  # seeded: training stays reproducible
    assert sum(copy != text for copy in first) >= 40
    for copy in first:
        # At most three edits plus an opener: most of the words survive.
        assert len(set(copy.lower().split()) & set(text.lower().split())) >= 3
    assert augment([text] * 20, 0.0, random.Random(0)) == [text] * 20
    assert augment([text] * 20, 1.0, random.Random(0)) != [text] * 20


def test_a_second_question_in_the_message_reaches_the_parse_output(
    trained, model_storage, execution_context, tiny_bert_dir
):
    """Each clause is classified too; one confidently about another intent is kept."""
    output = parse(trained, "where is my parcel? and i want my money back").as_dict(
        only_output_properties=True
    )
    assert output["intent"]["name"] == "track_order"
    assert [q["intent"] for q in output["other_questions"]] == ["get_refund"]
    assert output["other_questions"][0]["text"] == "i want my money back"
    assert parse(trained, "where is my parcel").get("other_questions") == []
    off = load_component(
        model_storage, execution_context, tiny_bert_dir, other_question_threshold=None
    )
    assert parse(off, "where is my parcel? and i want my money back").get("other_questions") is None
    with pytest.raises(InvalidConfigException, match="other_question_threshold"):
        BertIntentClassifier.create(
            {**BertIntentClassifier.get_default_config(), "other_question_threshold": 1.5},
            model_storage,
            RESOURCE,
            execution_context,
        )
