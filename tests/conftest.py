"""Fixtures every level uses: a tiny randomly initialised BERT, Rasa's model storage, the action
server's resources and a conversation log on SQLite, and a headless browser. The real bot is in
tests/e2e/conftest.py, PostgreSQL in tests/integration/conftest.py; plain helpers are in
tests/helpers/ (imported from there, never from a conftest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.tiny_bert import TOY_EXAMPLES, write_tiny_bert

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# `slow` follows measured cost, not a list kept by hand: every end-to-end test waits for the
# running bot (training and start-up take minutes on 2 cores), Chromium or the production stack,
# while no unit or integration test took over a minute in a measured run (README, "Two
# commands"). `pytest -m "not slow"` is the quick loop: tests/unit and tests/integration.
END_TO_END = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(END_TO_END):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """What the actions answer from (`actions.shared.resources`): the real project files,
    with the orders and shopdesk databases in a temporary folder."""

    from bot.answers.orders import create_sample_orders

    folder = tmp_path_factory.mktemp("action-dbs")
    os.environ["SHOPDESK_ORDERS_DB_URL"] = f"sqlite:///{folder / 'orders.db'}"
    os.environ["SHOPDESK_DB_URL"] = f"sqlite:///{folder / 'shopdesk.db'}"
    create_sample_orders(os.environ["SHOPDESK_ORDERS_DB_URL"], count=30)
    from actions.shared import resources

    resources.cache_clear()
    yield resources()
    resources.cache_clear()
    del os.environ["SHOPDESK_ORDERS_DB_URL"], os.environ["SHOPDESK_DB_URL"]


@pytest.fixture()
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shopdesk.db'}"


@pytest.fixture()
def logged(db_url: str) -> str:
    """One conversation logged by the tracker store, with the action server's records."""
    from bot.storage.handoffs_and_feedback import Records
    from tests.helpers.logged_conversations import conversation_events, save

    save(db_url, "customer-1", conversation_events())
    records = Records(db_url)
    records.record_feedback("customer-1", "transcript:t-1", True, 14.2)
    records.request_handoff("customer-1", "asked_for_human", "actually I want a person")
    records.engine.dispose()
    return db_url


# ------------------------------------------------------------------ a real browser

CHROMIUM = "/usr/bin/chromium"  # Debian's; scripts/test.sh installs it
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Headless chromium driven by Playwright (no browser download: Debian's binary).

    Module-scoped: Playwright's sync API keeps an event loop running in this thread while
    the browser is open, and other tests call `asyncio.run` (Rasa's tracker store).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
