"""Shared fixtures: a tiny randomly initialised BERT, Rasa's model storage, and the real bot
(`shopdesk up` on free ports with its own databases, started once for the whole session)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
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


# ------------------------------------------------- a conversation log on SQLite


@pytest.fixture()
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shopdesk.db'}"


@pytest.fixture()
def logged(db_url: str) -> str:
    """One conversation logged by the tracker store, with the action server's records."""
    from bot.records import Records
    from tests.logged_conversations import conversation_events, save

    save(db_url, "customer-1", conversation_events())
    records = Records(db_url)
    records.record_feedback("customer-1", "transcript:t-1", True, 14.2)
    records.request_handoff("customer-1", "asked_for_human", "actually I want a person")
    records.engine.dispose()
    return db_url


# ------------------------------------------------------------------ the real bot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(
    url: str, payload: object | None = None, raw: bytes | None = None
) -> tuple[int, object]:
    data = (
        raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    )
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class Bot:
    def __init__(self, base: str) -> None:
        self.base = base

    def parse(self, text: str) -> dict:
        status, body = request(f"{self.base}/model/parse", {"text": text})
        assert status == 200, body
        return body

    def replies(self, sender: str, message: str) -> list[dict]:
        status, body = request(
            f"{self.base}/webhooks/rest/webhook", {"sender": sender, "message": message}
        )
        assert status == 200, body
        return body

    def say(self, sender: str, message: str) -> list[str]:
        return [reply.get("text", "") for reply in self.replies(sender, message)]

    def tracker(self, sender: str) -> dict:
        status, body = request(f"{self.base}/conversations/{sender}/tracker")
        assert status == 200, body
        return body

    def sources(self, sender: str) -> list[dict]:
        """Why each bot message was said (answer_source metadata, from the action server)."""
        return [
            event["metadata"]["answer_source"]
            for event in self.tracker(sender)["events"]
            if event["event"] == "bot" and "answer_source" in (event.get("metadata") or {})
        ]


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> dict[str, str]:
    from bot.orders import create_sample_orders

    folder = tmp_path_factory.mktemp("live-dbs")
    urls = {
        "SHOPDESK_ORDERS_DB_URL": f"sqlite:///{folder / 'orders.db'}",
        "SHOPDESK_DB_URL": f"sqlite:///{folder / 'shopdesk.db'}",
    }
    create_sample_orders(urls["SHOPDESK_ORDERS_DB_URL"])
    return urls


@pytest.fixture(scope="session")
def bot(databases) -> Iterator[Bot]:
    port, actions_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "up",
            "--port",
            str(port),
            "--actions-port",
            str(actions_port),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", **databases},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 1500  # training from scratch takes minutes on 2 cores
    for line in process.stdout:
        lines.append(line)
        if "shopdesk is running." in line:
            break
        if time.monotonic() > deadline:
            break
    assert "shopdesk is running." in "".join(lines), "".join(lines[-50:])
    # Keep draining output so the child never blocks on a full pipe.
    drain = subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
    try:
        yield Bot(f"http://localhost:{port}")
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        drain.wait(timeout=10)
        for used in (port, actions_port):  # both servers are gone
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", used)) != 0
