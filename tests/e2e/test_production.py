"""Production mode against real PostgreSQL and Redis servers: `shopdesk up --production` with two
Rasa workers, the API token, the metrics token, and what happens when the action server or the
database goes away and comes back.

scripts/test.sh installs Debian's postgresql and redis-server when missing; here each runs on
loopback, on a free port, in a temporary folder (bot/runtime/local_services.py).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.action_calls import action_call
from tests.helpers.channels import messenger_event, signed
from tests.helpers.http import free_port
from tests.helpers.live_bot import messenger_settings, served_model_arguments
from tests.helpers.logged_conversations import stored_events
from tests.helpers.network import listens_on_loopback_only
from tests.helpers.project import PROJECT_ROOT

pytestmark = pytest.mark.slow

API_TOKEN = "api-" + secrets.token_urlsafe(12)
METRICS_TOKEN = "metrics-" + secrets.token_urlsafe(12)
ACTION_SECRET = "actions-" + secrets.token_urlsafe(12)


def call(url: str, payload: object | None = None, headers: dict | None = None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            body = response.read()
            return response.status, dict(response.headers), body
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except urllib.error.URLError:
        return 0, {}, b""  # nothing listening


def call_raw(url: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@dataclass
class Production:
    base: str
    actions: str
    review: str
    process: subprocess.Popen
    postgres: object
    redis: object
    ports: dict[str, int]

    def say(self, sender: str, message: str) -> tuple[int, object]:
        status, headers, body = call(
            f"{self.base}/webhooks/rest/webhook", {"sender": sender, "message": message}
        )
        return status, (json.loads(body) if body else None), headers

    def user_texts(self, sender: str) -> list[str]:
        return [e["text"] for e in self.events(sender) if e["event"] == "user"]

    def events(self, sender: str) -> list[dict]:
        """Straight from PostgreSQL, in the order they were stored."""
        return stored_events(self.postgres.url, sender)


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            try:
                command = (Path("/proc") / str(child) / "cmdline").read_bytes()
            except OSError:
                continue
            found.append((child, command.replace(b"\0", b" ").decode(errors="replace")))
            stack.append(child)
    return found


@pytest.fixture(scope="module")
def stores() -> Iterator[tuple]:
    from bot.runtime.local_services import LocalPostgres, LocalRedis

    folder = Path(tempfile.mkdtemp(prefix="shopdesk-production-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    postgres = LocalPostgres(folder / "postgres", free_port(), secrets.token_urlsafe(16))
    redis = LocalRedis(folder / "redis", free_port(), secrets.token_urlsafe(16))
    postgres.start()
    redis.start()
    try:
        yield postgres, redis
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def production(stores, tmp_path_factory, fake_graph_api) -> Iterator[Production]:
    from bot.answers.orders import create_sample_orders

    postgres, redis = stores
    ports = {name: free_port() for name in ("rasa", "actions", "review", "webchat")}
    orders = f"sqlite:///{tmp_path_factory.mktemp('orders') / 'orders.db'}"
    create_sample_orders(orders)
    env = {
        **os.environ,
        "SHOPDESK_DB_URL": postgres.url,
        "SHOPDESK_ORDERS_DB_URL": orders,
        "SHOPDESK_REDIS_HOST": "127.0.0.1",
        "SHOPDESK_REDIS_PORT": str(redis.port),
        "SHOPDESK_REDIS_PASSWORD": redis.password,
        "RASA_AUTH_TOKEN": API_TOKEN,
        "SHOPDESK_METRICS_TOKEN": METRICS_TOKEN,
        "SHOPDESK_ACTION_SERVER_TOKEN": ACTION_SECRET,
        **messenger_settings(fake_graph_api),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "up",
            "--production",
            "--workers",
            "2",
            "--port",
            str(ports["rasa"]),
            "--actions-port",
            str(ports["actions"]),
            "--review-port",
            str(ports["review"]),
            "--webchat-port",
            str(ports["webchat"]),
            *served_model_arguments(),
        ],  # fmt: skip
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 1500
    for line in process.stdout:
        lines.append(line)
        if "shopdesk is running." in line or time.monotonic() > deadline:
            break
    assert "shopdesk is running." in "".join(lines), "".join(lines[-60:])
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    try:
        yield Production(
            f"http://localhost:{ports['rasa']}",
            f"http://localhost:{ports['actions']}",
            f"http://localhost:{ports['review']}",
            process,
            postgres,
            redis,
            ports,
        )
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 0, "".join(lines[-60:])


def test_the_rasa_http_api_refuses_without_its_token(production):
    for path in ("/conversations/someone/tracker", "/model/parse", "/status"):
        payload = {"text": "refund please"} if path == "/model/parse" else None
        status, _, _ = call(f"{production.base}{path}", payload)
        assert status == 401, path
        status, _, _ = call(f"{production.base}{path}?token=wrong", payload)
        assert status == 401, path
        status, _, body = call(f"{production.base}{path}?token={API_TOKEN}", payload)
        assert status == 200, (path, body)
    # Customers' channels need no token.
    status, replies, _ = production.say("token-check", "hello")
    assert status == 200 and replies


def test_production_listens_on_loopback_and_keeps_secrets_off_command_lines(production):
    """Behind a reverse proxy on the same machine, nothing needs another interface; and every
    user of the machine can read command lines (`ps`), so no secret may be on one."""
    listens_on_loopback_only(production.ports)
    tree = descendants(production.process.pid)
    assert any("bot.runtime.rasa_server" in command for _, command in tree)
    for secret in (API_TOKEN, ACTION_SECRET, METRICS_TOKEN):
        assert not any(secret in command for _, command in tree)


def test_the_action_server_takes_calls_only_from_rasa(production):
    call_for_an_order = action_call("action_answer", "where is 482913", "track_order", 1.0, "m")
    call_for_an_order["tracker"]["slots"] = {"order_number": "482913"}
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {API_TOKEN}"},  # another secret is not this one
    ):
        status, _, body = call(f"{production.actions}/webhook", call_for_an_order, headers)
        assert status == 401 and b"482913" not in body
    assert call(f"{production.actions}/health")[0] == 200
    # Rasa's calls carry the secret (deploy/endpoints.production.yml): answers still come.
    sender = f"secret-{secrets.token_hex(3)}"
    status, replies, _ = production.say(sender, "where is my order 482913?")
    assert status == 200
    assert not any("on its way" in reply.get("text", "") for reply in replies), replies
    status, replies, _ = production.say(sender, "the email on the order is anna.berg@example.org")
    assert status == 200
    assert any("on its way" in reply.get("text", "") for reply in replies), replies


def test_rasa_runs_several_workers_on_the_redis_lock_store(production, stores):
    _, redis = stores
    tree = descendants(production.process.pid)
    rasa = [pid for pid, command in tree if "bot.runtime.rasa_server" in command]
    # Sanic's main process and its two workers.
    assert len(rasa) >= 3, tree
    production.say("lock-check", "hello")
    assert redis._client().ping()


SCRIPT = [
    "hello",
    "what payment methods do you accept?",
    "how long does delivery to Germany take?",
    "can I return a gift?",
    "thanks, bye",
]


def test_many_conversations_over_several_workers_lose_and_repeat_nothing(production):
    """24 customers at once, each waiting for its answer; then 36 impatient ones, 12 at a time,
    who send three messages without waiting (Rasa 3.6's own Redis lock store lost one of them
    in about 30 such bursts). PostgreSQL must hold every message once, in order, and no turn
    may interleave with another (the lock store serialises each conversation)."""
    run = secrets.token_hex(4)
    patient = [f"patient-{run}-{n}" for n in range(24)]
    impatient = [f"impatient-{run}-{n}" for n in range(36)]

    # The same words in every conversation: what is checked is where each message went.
    def converse(sender: str) -> list[int]:
        return [production.say(sender, text)[0] for text in SCRIPT]

    def burst(sender: str) -> list[int]:
        # The three requests leave together: the moment two workers may both take the lock.
        together = threading.Barrier(3)

        def send(text: str) -> int:
            together.wait(timeout=60)
            return production.say(sender, text)[0]

        with ThreadPoolExecutor(3) as pool:
            return list(pool.map(send, SCRIPT[1:4]))

    with ThreadPoolExecutor(24) as pool:
        statuses = list(pool.map(converse, patient))
    with ThreadPoolExecutor(12) as pool:
        statuses += list(pool.map(burst, impatient))
    assert all(status == 200 for row in statuses for status in row), statuses

    for sender in patient:
        assert production.user_texts(sender) == SCRIPT
    for sender in impatient:
        assert sorted(production.user_texts(sender)) == sorted(SCRIPT[1:4])
    for sender in patient + impatient:
        events = production.events(sender)
        for index, event in enumerate(events):
            if event["event"] == "user":
                # Each message starts a turn only after the previous turn ended in a listen.
                before = events[index - 1]
                assert before["event"] == "action" and before["name"] == "action_listen", sender
        answered = [e for e in events if e["event"] == "bot"]
        assert len(answered) >= len(production.user_texts(sender))


def test_metrics_need_their_token_and_count_answers(production):
    production.say(f"metrics-{secrets.token_hex(3)}", "what payment methods do you accept?")
    for url in (f"{production.actions}/metrics", f"{production.review}/metrics"):
        assert call(url)[0] == 401
        assert call(url, headers={"Authorization": "Bearer wrong"})[0] == 401
        status, _, body = call(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert status == 200
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = call(
        f"{production.actions}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    assert samples[("shopdesk_messages_handled_total", ())] >= 1
    assert samples[("shopdesk_answers_total", (("source", "template"),))] >= 1


def action_server_pid(production: Production) -> int:
    return next(
        pid
        for pid, command in descendants(production.process.pid)
        if "bot.runtime.action_server" in command
    )


def test_action_server_down_the_customer_gets_an_apology_and_the_bot_recovers(production):
    question = "what payment methods do you accept?"
    os.kill(action_server_pid(production), signal.SIGKILL)
    status, replies, _ = production.say(f"down-{secrets.token_hex(3)}", question)
    assert status == 200
    assert any("try again in a few minutes" in reply.get("text", "") for reply in replies)

    # `shopdesk up` restarts it; Rasa reaches it again without being told.
    deadline = time.monotonic() + 180
    while call(f"{production.actions}/health")[0] != 200:
        assert time.monotonic() < deadline, "the action server was not restarted"
        time.sleep(1)
    status, replies, _ = production.say(f"back-{secrets.token_hex(3)}", question)
    assert status == 200
    assert any("PayPal" in reply.get("text", "") for reply in replies), replies
    assert production.process.poll() is None


def test_database_down_messages_are_not_acknowledged_and_service_resumes(production, stores):
    postgres, _ = stores
    sender = f"db-{secrets.token_hex(3)}"
    status, _, _ = production.say(sender, "hello")
    assert status == 200

    postgres.stop()
    try:
        status, body, headers = production.say(sender, "is anyone there?")
        assert status == 503, body
        assert headers.get("Retry-After") == "5"
        assert "send it again" in body["error"]
        event = messenger_event(f"fb-{secrets.token_hex(3)}", "where is my parcel?")
        status, _, _ = call_raw(
            f"{production.base}/webhooks/facebook/webhook",
            event,
            {"X-Hub-Signature-256": signed(event), "Content-Type": "application/json"},
        )
        assert status == 503  # Meta delivers it again later
    finally:
        postgres.start()

    status, replies, _ = production.say(sender, "what payment methods do you accept?")
    assert status == 200 and replies
    # The refused message was never stored; the others were, once each.
    assert production.user_texts(sender) == ["hello", "what payment methods do you accept?"]
    assert production.process.poll() is None


def test_local_stores_keep_their_generated_secrets_across_restarts(tmp_path_factory):
    """`scripts/production.sh` (`--local-services`): passwords made once, in a mode-600 file,
    and the same servers and data after a restart."""
    import redis as redis_client
    from sqlalchemy import create_engine, text

    from bot.runtime.production import start_local_stores

    folder = Path(tempfile.mkdtemp(prefix="shopdesk-local-"))
    folder.chmod(0o755)
    try:
        environ, stores = start_local_stores(folder, free_port(), free_port())
        try:
            engine = create_engine(environ["SHOPDESK_DB_URL"])
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE kept (value TEXT)"))
                connection.execute(text("INSERT INTO kept VALUES ('still here')"))
            engine.dispose()
            assert redis_client.Redis(
                host="127.0.0.1",
                port=int(environ["SHOPDESK_REDIS_PORT"]),
                password=environ["SHOPDESK_REDIS_PASSWORD"],
            ).ping()
        finally:
            for store in reversed(stores):
                store.stop()
        assert (folder / "secrets.env").stat().st_mode & 0o077 == 0

        again, stores = start_local_stores(folder, free_port(), free_port())
        try:
            for name in ("RASA_AUTH_TOKEN", "SHOPDESK_ACTION_SERVER_TOKEN"):
                assert again[name] == environ[name]
            engine = create_engine(again["SHOPDESK_DB_URL"])
            with engine.connect() as connection:
                assert connection.execute(text("SELECT value FROM kept")).scalar() == "still here"
            engine.dispose()
        finally:
            for store in reversed(stores):
                store.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
