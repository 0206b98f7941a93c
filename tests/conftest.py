"""Shared fixtures: a tiny randomly initialised BERT and Rasa's model storage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A small store vocabulary: the tiny model learns from these words in seconds.
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


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture()
def model_storage(tmp_path: Path):
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    (tmp_path / "model-storage").mkdir()
    return LocalModelStorage(tmp_path / "model-storage")


@pytest.fixture()
def execution_context():
    from rasa.engine.graph import ExecutionContext, GraphSchema

    return ExecutionContext(GraphSchema({}), "test-model", node_name="bert_intent_classifier")


@pytest.fixture()
def toy_training_data():
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    return TrainingData(
        [
            Message(data={"text": text, "intent": intent})
            for intent, texts in TOY_EXAMPLES.items()
            for text in texts
        ]
    )
