"""A randomly initialised 2-layer BERT with a WordPiece vocabulary of a few shop words: the
classifier's tests train it offline in seconds; and the component built on it."""

from __future__ import annotations

from pathlib import Path

from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.bert_intent_classifier import BertIntentClassifier
from bot.nlu.training import TrainingSettings

TOY_EXAMPLES = {
    "track_order": [
        "where is my order",
        "where is my parcel",
        "track my order please",
        "has my parcel shipped yet",
        "my order has not arrived",
        "status of my order",
        "when does my parcel arrive",
        "track parcel",
    ],
    "get_refund": [
        "i want my money back",
        "refund please",
        "give me a refund",
        "i want a refund for the boots",
        "money back for my return",
        "how do i get a refund",
        "refund the jacket",
        "send my money back",
    ],
    "greet": [
        "hello",
        "hi there",
        "good morning",
        "hey",
        "hello there",
        "hi",
        "good evening",
        "hey there",
    ],
}


TINY_VOCAB_WORDS = sorted(
    {word for texts in TOY_EXAMPLES.values() for text in texts for word in text.split()}
    | {"cancel", "invoice", "account", "?", "!", ".", ","}
)


def write_tiny_bert(directory: Path, hidden_size: int = 32) -> Path:
    """Save a randomly initialised 2-layer BERT and its WordPiece tokenizer to `directory`."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_VOCAB_WORDS]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory, safe_serialization=True)
    return directory


RESOURCE = Resource("bert_intent_classifier")


def tiny_config(tiny_bert_dir: Path, **overrides) -> dict:
    """Settings that make the tiny BERT learn the toy intents in seconds on the CPU."""
    config = {
        "model_name_or_path": str(tiny_bert_dir),
        "epochs": 40,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "warmup_ratio": 0.0,
        "show_progress_bar": False,
        "device": "cpu",
    }
    return {**config, **overrides}


def train_component(
    tiny_bert_dir, model_storage, execution_context, training_data, **overrides
) -> BertIntentClassifier:
    component = BertIntentClassifier.create(
        {**BertIntentClassifier.get_default_config(), **tiny_config(tiny_bert_dir, **overrides)},
        model_storage,
        RESOURCE,
        execution_context,
    )
    component.train(training_data)
    return component


def load_component(model_storage, execution_context, tiny_bert_dir, **overrides):
    return BertIntentClassifier.load(
        {**BertIntentClassifier.get_default_config(), **tiny_config(tiny_bert_dir, **overrides)},
        model_storage,
        RESOURCE,
        execution_context,
    )


def parse(component: BertIntentClassifier, text: str) -> Message:
    """One message through the component, as Rasa's pipeline passes it."""
    message = Message(data={"text": text})
    component.process([message])
    return message


def training_settings(**overrides) -> TrainingSettings:
    """Settings for calling the training loop directly: no hold-out, no progress bar."""
    values = dict(
        epochs=2,
        batch_size=4,
        learning_rate=1e-3,
        weight_decay=0.01,
        warmup_ratio=0.0,
        max_seq_length=16,
        validation_fraction=0.0,
        min_examples_for_validation=200,
        early_stopping_patience=0,
        random_seed=0,
        mixed_precision=False,
        show_progress_bar=False,
    )
    return TrainingSettings(**{**values, **overrides})
