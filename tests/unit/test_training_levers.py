"""The optional training techniques (bot/nlu/training_levers.py), on the tiny random BERT."""

from __future__ import annotations

import pytest
import torch
from rasa.shared.exceptions import InvalidConfigException
from transformers import AutoModel

from bot.nlu.bert_intent_classifier import BertIntentClassifier
from bot.nlu.sentence_model import SentenceClassifier
from bot.nlu.training import _parameter_groups
from bot.nlu.training_levers import WeightAverage, layer_depth, r_drop_loss
from tests.helpers.tiny_bert import (
    RESOURCE,
    TOY_EXAMPLES,
    parse,
    train_component,
    training_settings,
)


def tiny_classifier(tiny_bert_dir) -> SentenceClassifier:
    torch.manual_seed(0)
    return SentenceClassifier(AutoModel.from_pretrained(tiny_bert_dir), num_labels=3)


def test_depth_counts_down_from_the_head_to_the_embeddings():
    assert layer_depth("prototypes", 2) == 0
    assert layer_depth("encoder.encoder.layer.1.attention.self.query.weight", 2) == 1
    assert layer_depth("encoder.encoder.layer.0.output.dense.bias", 2) == 2
    assert layer_depth("encoder.embeddings.word_embeddings.weight", 2) == 3


def test_layer_decay_slows_lower_layers_and_leaves_the_head_alone(tiny_bert_dir):
    model = tiny_classifier(tiny_bert_dir)
    settings = training_settings(layer_decay=0.5, head_learning_rate_multiplier=4)
    groups = _parameter_groups(model, settings)
    rate_of = {id(parameter): group["lr"] for group in groups for parameter in group["params"]}
    named = dict(model.named_parameters())
    assert rate_of[id(named["prototypes"])] == pytest.approx(4e-3)
    top = named["encoder.encoder.layer.1.attention.self.query.weight"]
    bottom = named["encoder.encoder.layer.0.attention.self.query.weight"]
    embeddings = named["encoder.embeddings.word_embeddings.weight"]
    assert rate_of[id(top)] == pytest.approx(5e-4)
    assert rate_of[id(bottom)] == pytest.approx(2.5e-4)
    assert rate_of[id(embeddings)] == pytest.approx(1.25e-4)
    # Off: one rate for the whole encoder.
    plain = _parameter_groups(model, training_settings())
    assert {group["lr"] for group in plain} == {1e-3}


def test_r_drop_adds_the_disagreement_of_two_dropout_passes(tiny_bert_dir):
    from transformers import AutoTokenizer

    model = tiny_classifier(tiny_bert_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    batch = dict(tokenizer(["refund please", "hello there"], padding=True, return_tensors="pt"))
    targets = torch.tensor([0, 1])
    loss_function = torch.nn.CrossEntropyLoss()

    model.eval()  # no dropout: both passes agree, the loss is plain cross-entropy
    with torch.no_grad():
        logits = model(**batch).logits.float()
        assert float(r_drop_loss(model, batch, logits, targets, loss_function, 5.0)) == (
            pytest.approx(float(loss_function(logits, targets)), rel=1e-5)
        )

    model.train()  # dropout: the same masks (seed) with alpha 0 and 1 differ by the KL term
    losses = []
    for alpha in (0.0, 1.0):
        torch.manual_seed(1)
        with torch.no_grad():
            logits = model(**batch).logits.float()
            losses.append(float(r_drop_loss(model, batch, logits, targets, loss_function, alpha)))
    assert losses[1] > losses[0]


def test_weight_average_is_the_mean_of_the_added_weights():
    layer = torch.nn.Linear(2, 1)
    average = WeightAverage()
    for value in (1.0, 2.0, 6.0):
        with torch.no_grad():
            layer.weight.fill_(value)
        average.add(layer)
    assert average.count == 3
    assert torch.allclose(average.state["weight"], torch.full((1, 2), 3.0))


def test_the_component_trains_with_every_lever_on(
    tiny_bert_dir, model_storage, execution_context, toy_training_data
):
    component = train_component(
        tiny_bert_dir,
        model_storage,
        execution_context,
        toy_training_data,
        layer_decay=0.9,
        r_drop_alpha=1.0,
        average_last_epochs=3,
    )
    for intent, texts in TOY_EXAMPLES.items():
        assert parse(component, texts[0]).get("intent")["name"] == intent


@pytest.mark.parametrize(
    "key, value",
    [("layer_decay", 0.0), ("layer_decay", 1.5), ("r_drop_alpha", -1), ("average_last_epochs", -2)],
)
def test_out_of_range_lever_settings_are_refused(model_storage, execution_context, key, value):
    with pytest.raises(InvalidConfigException, match=key):
        BertIntentClassifier.create(
            {**BertIntentClassifier.get_default_config(), key: value},
            model_storage,
            RESOURCE,
            execution_context,
        )


def test_fine_tuning_ends_on_the_average_of_the_last_epochs(tiny_bert_dir):
    """Same seed, same data: the averaged run must end on other weights than the plain one."""
    from transformers import AutoTokenizer

    from bot.nlu.training import fine_tune

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    texts = [text for texts in TOY_EXAMPLES.values() for text in texts]
    labels = [i for i, texts in enumerate(TOY_EXAMPLES.values()) for _ in texts]
    final = {}
    for last in (0, 2):
        model = tiny_classifier(tiny_bert_dir)
        settings = training_settings(epochs=3, average_last_epochs=last)
        fine_tune(model, tokenizer, texts, labels, settings, torch.device("cpu"))
        final[last] = model.prototypes.detach().clone()
    assert not torch.allclose(final[0], final[2])
