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


# Fixtures that start real servers or databases: a test using one is slow whether or not it
# says so, so the `slow` marker follows from them (`pytest -m "not slow"` is the quick loop).
SLOW_FIXTURES = frozenset({"bot", "production", "stores", "local_postgres", "served_model"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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


# --------------------------------------------------------- Sanic apps in-process


def serve_in_tests(app):
    """sanic-testing's client on `app`, waiting up to 60 s for an answer (httpx's default of
    5 s is too short for a first chart drawing on a busy 2-core CI machine)."""
    from sanic_testing import TestManager
    from sanic_testing.testing import SanicTestClient

    class PatientClient(SanicTestClient):
        def get_new_session(self, **kwargs):
            kwargs.setdefault("timeout", 60)
            return super().get_new_session(**kwargs)

    TestManager(app).test_client = PatientClient(app)  # what `app.test_client` returns
    return app


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
    from tests.logged_conversations import conversation_events, save

    save(db_url, "customer-1", conversation_events())
    records = Records(db_url)
    records.record_feedback("customer-1", "transcript:t-1", True, 14.2)
    records.request_handoff("customer-1", "asked_for_human", "actually I want a person")
    records.engine.dispose()
    return db_url


# ------------------------------------------------------------------ the real bot


def stored_events(db_url: str, sender: str) -> list[dict]:
    """Rasa's events for `sender` as the tracker store wrote them, in order (a fresh engine:
    the database may have restarted since the last call)."""
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog(db_url)
    try:
        return [event for _, event in log.raw_events(sender)]
    finally:
        log.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(
    url: str,
    payload: object | None = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, object]:
    data = (
        raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    )
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class Bot:
    """The running bot: its Rasa server, and the action server, review app and web chat
    beside it; `token` is the Rasa HTTP API's (development's, from .shopdesk/secrets.env)."""

    def __init__(self, ports: dict[str, int], token: str) -> None:
        self.ports = ports
        self.base = f"http://localhost:{ports['rasa']}"
        self.actions = f"http://localhost:{ports['actions']}"
        self.review = f"http://localhost:{ports['review']}"
        self.webchat = f"http://localhost:{ports['webchat']}"
        self.token = token

    def api(self, path: str) -> str:
        """An HTTP API URL with the token."""
        return f"{self.base}{path}{'&' if '?' in path else '?'}token={self.token}"

    def parse(self, text: str) -> dict:
        status, body = request(self.api("/model/parse"), {"text": text})
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
        status, body = request(self.api(f"/conversations/{sender}/tracker"))
        assert status == 200, body
        return body

    def sources(self, sender: str) -> list[dict]:
        """Why each bot message was said (answer_source metadata, from the action server)."""
        return [
            event["metadata"]["answer_source"]
            for event in self.tracker(sender)["events"]
            if event["event"] == "bot" and "answer_source" in (event.get("metadata") or {})
        ]


MESSENGER_APP_SECRET = "test-app-secret-0b7f"
# The `bot` fixture's one trusted reverse proxy (SHOPDESK_TRUSTED_PROXIES): tests connect from
# it (any 127.0.0.x reaches loopback) to show X-Forwarded-For believed from it alone.
TRUSTED_TEST_PROXY = "127.0.0.9"


class FakeGraphApi:
    """Stands in for Meta's Graph API on loopback and keeps what the bot sent to it."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, json.loads(body or b"null")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"recipient_id": "1", "message_id": "m"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v19.0"
        Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="session")
def fake_graph_api() -> Iterator[FakeGraphApi]:
    api = FakeGraphApi()
    yield api
    api.server.shutdown()


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> dict[str, str]:
    from bot.answers.orders import create_sample_orders

    folder = tmp_path_factory.mktemp("live-dbs")
    urls = {
        "SHOPDESK_ORDERS_DB_URL": f"sqlite:///{folder / 'orders.db'}",
        "SHOPDESK_DB_URL": f"sqlite:///{folder / 'shopdesk.db'}",
    }
    create_sample_orders(urls["SHOPDESK_ORDERS_DB_URL"])
    return urls


def served_model_arguments() -> list[str]:
    """`--model PATH` when SHOPDESK_TEST_MODEL names an archive: the live tests then serve it
    instead of training on the full data (e.g. a small model on a small machine)."""
    model = os.environ.get("SHOPDESK_TEST_MODEL")
    return ["--model", model] if model else []


# The shop's secret for signed order tokens (bot/answers/order_tokens.py) in the live bot.
ORDER_TOKEN_TEST_SECRET = "order-tokens-of-the-test-shop"


@pytest.fixture(scope="session")
def bot(databases, fake_graph_api) -> Iterator[Bot]:
    from bot.runtime.access import RASA_TOKEN, read_secret

    ports = {name: free_port() for name in ("rasa", "actions", "review", "webchat")}
    messenger = {
        "FACEBOOK_VERIFY_TOKEN": "larkspur-verify",
        "FACEBOOK_APP_SECRET": MESSENGER_APP_SECRET,
        "FACEBOOK_PAGE_ACCESS_TOKEN": "test-page-token",
        "FACEBOOK_GRAPH_API_URL": fake_graph_api.url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "up",
            "--port",
            str(ports["rasa"]),
            "--actions-port",
            str(ports["actions"]),
            "--review-port",
            str(ports["review"]),
            "--webchat-port",
            str(ports["webchat"]),
            *served_model_arguments(),
        ],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            **databases,
            **messenger,
            "SHOPDESK_TRUSTED_PROXIES": TRUSTED_TEST_PROXY,
            "SHOPDESK_ORDER_TOKEN_SECRET": ORDER_TOKEN_TEST_SECRET,
        },
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
        yield Bot(ports, read_secret(RASA_TOKEN))  # what `shopdesk up` used
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        drain.wait(timeout=10)
        for used in ports.values():  # every server is gone
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", used)) != 0


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


# ------------------------------------------------------------- PostgreSQL on its own


@pytest.fixture(scope="session")
def local_postgres(tmp_path_factory) -> Iterator:
    """A PostgreSQL server of this machine's package on loopback, in a temporary folder
    (bot/runtime/local_services.py, as the production tests start theirs), for tests that need real
    concurrent transactions. Each test makes its own database on it (`postgres_database`)."""
    import secrets
    import shutil
    import tempfile

    from bot.runtime.local_services import LocalPostgres

    folder = Path(tempfile.mkdtemp(prefix="shopdesk-postgres-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    server = LocalPostgres(folder / "postgres", free_port(), secrets.token_urlsafe(16))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def postgres_database(local_postgres) -> Iterator[str]:
    """The URL of a new, empty database on `local_postgres`, dropped after the test."""
    import secrets

    from sqlalchemy import create_engine, text

    name = f"test_{secrets.token_hex(6)}"
    admin = create_engine(local_postgres.url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield local_postgres.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


class ServedInThread:
    """A Sanic app on a real loopback port, served from a thread of this process, so that a
    test can hold the app's blocking calls (monkeypatched) while it sends other requests.
    Use a fresh app: one served by sanic-testing's client replays its last request on start."""

    def __init__(self, app) -> None:
        import threading

        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.started = threading.Event()
        self.loop = None
        app.after_server_start(self._started)
        self.thread = threading.Thread(
            target=app.run,
            kwargs={
                "host": "127.0.0.1",
                "port": self.port,
                "access_log": False,
                "debug": False,
                "auto_reload": False,
                "register_sys_signals": False,  # not the main thread
            },
            daemon=True,
        )

    async def _started(self, _app, loop) -> None:
        self.loop = loop
        self.started.set()

    def __enter__(self) -> ServedInThread:
        self.thread.start()
        assert self.started.wait(60), "the app did not start"
        return self

    def __exit__(self, *_exc) -> None:
        self.loop.call_soon_threadsafe(self.app.stop)
        self.thread.join(60)
