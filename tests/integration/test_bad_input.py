"""Bad and hostile input on the message path and in the FAQ templates: a 4xx with a reason or
a normal answer, never a 500, and nothing that was accepted is lost.

The channel's checks run in-process on `bot.channels.rest.RestInput` (Rasa's side replaced by
a recorder, so every refusal can be shown to have reached nothing); the same inputs then go
to the real bot, whose tracker store must hold every accepted message exactly once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.sender_ids import sender_id_problem
from tests.helpers.bad_requests import (
    ACCEPTED,
    JSON,
    REFUSED,
    REFUSED_IDS,
    REFUSED_SENDERS,
    WEBHOOK,
)
from tests.helpers.http import serve_in_tests
from tests.helpers.project import PROJECT_ROOT
from tests.helpers.strategies import orders

# ------------------------------------------------------------ the channel in-process


class Recorder:
    """Stands in for Rasa's agent: keeps what it was handed and answers with an echo."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.handled: list[tuple[str, str, dict | None]] = []
        self.failure = failure

    async def __call__(self, message) -> None:
        if self.failure is not None:
            raise self.failure
        self.handled.append((message.sender_id, message.text, message.metadata))
        await message.output_channel.send_text_message(message.sender_id, f"echo {message.text}")


_apps = iter(range(10_000))


def channel_app(recorder: Recorder, **limits: int):
    from sanic import Sanic

    from bot.channels.rest import RestInput

    app = Sanic(f"rest_channel_{next(_apps)}")
    channel = RestInput(**limits)
    app.blueprint(channel.blueprint(recorder), url_prefix="/webhooks/rest")
    return serve_in_tests(app)


def post(app, body: bytes | str, headers: dict | None = None):
    data = body.encode() if isinstance(body, str) else body
    _, response = app.test_client.post(WEBHOOK, content=data, headers=headers or JSON)
    return response


@pytest.mark.parametrize("body,headers,status,reason", REFUSED, ids=REFUSED_IDS)
def test_bad_requests_are_refused_with_a_reason_and_reach_nothing(body, headers, status, reason):
    recorder = Recorder()
    response = post(channel_app(recorder), body, headers)
    assert response.status == status
    assert reason in response.json["error"]
    assert recorder.handled == []


@pytest.mark.parametrize("sender", REFUSED_SENDERS, ids=[ascii(s) for s in REFUSED_SENDERS])
def test_sender_ids_rasa_cannot_address_or_that_spoof_text_are_refused(sender):
    recorder = Recorder()
    response = post(channel_app(recorder), json.dumps({"sender": sender, "message": "hi"}))
    assert response.status == 400
    assert "`sender`" in response.json["error"]
    assert recorder.handled == []


@pytest.mark.parametrize("sender,message", ACCEPTED, ids=[s for s, _ in ACCEPTED])
def test_odd_but_valid_messages_are_handed_on_unchanged(sender, message):
    recorder = Recorder()
    body = {"sender": sender, "message": message, "metadata": {"page": "/checkout"}}
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = post(channel_app(recorder), json.dumps(body), headers)
    assert response.status == 200
    # (Rasa's output channel strips the reply's outer whitespace; the message is whole.)
    assert response.json == [{"recipient_id": sender, "text": f"echo {message}".strip()}]
    # Rasa's UserMessage strips outer whitespace; nothing else changes.
    # The server adds the client's address as it sees it; nothing else changes.
    assert recorder.handled == [
        (sender, message.strip(), {"page": "/checkout", "client_address": "127.0.0.1"})
    ]


def test_limits_come_from_credentials():
    from bot.channels.rest import RestInput

    channel = RestInput.from_credentials({"max_message_chars": 5, "max_metadata_bytes": 10})
    recorder = Recorder()
    app = channel_app(recorder, max_message_chars=channel.max_message_chars)
    assert post(app, '{"sender": "x", "message": "123456"}').status == 413
    assert post(app, '{"sender": "x", "message": "12345"}').status == 200
    assert channel.max_metadata_bytes == 10


def storage_failures():
    from redis.exceptions import ConnectionError as RedisConnectionError
    from sqlalchemy.exc import OperationalError

    return [
        OperationalError("SELECT 1", {}, Exception("could not connect to server")),
        RedisConnectionError("Error 111 connecting to localhost:6379. Connection refused."),
    ]


@pytest.mark.parametrize("failure", storage_failures(), ids=["database", "redis"])
def test_a_message_that_could_not_be_stored_is_not_acknowledged(failure):
    response = post(channel_app(Recorder(failure)), '{"sender": "x", "message": "hi"}')
    assert response.status == 503
    assert response.headers["retry-after"] == "5"
    assert "send it again" in response.json["error"]


def test_a_bug_behind_the_channel_is_a_500_not_a_false_acknowledgement():
    response = post(channel_app(Recorder(KeyError("boom"))), '{"sender": "x", "message": "hi"}')
    assert response.status == 500
    assert response.json == {"error": "the message could not be handled"}


_shared: dict = {}


def shared_channel() -> tuple:
    """One app for every fuzz example (building a Sanic app per example is slow)."""
    if not _shared:
        _shared["recorder"] = Recorder()
        _shared["app"] = channel_app(_shared["recorder"])
    _shared["recorder"].handled.clear()
    return _shared["app"], _shared["recorder"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=40),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.sampled_from(["sender", "message", "metadata", "x"]), children)
            ),
            max_leaves=8,
        ).map(lambda value: json.dumps(value).encode()),
        st.fixed_dictionaries(
            {"sender": st.text(max_size=300), "message": st.text(max_size=300)},
            optional={"metadata": st.dictionaries(st.text(max_size=10), st.text(max_size=10))},
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_fuzzed_bodies_get_a_4xx_or_are_handed_on_whole(body):
    app, recorder = shared_channel()
    response = post(app, body)
    assert response.status in (200, 400, 413), response.text
    if response.status == 200:
        sent = json.loads(body)
        assert sender_id_problem(sent["sender"]) is None
        metadata = {**(sent.get("metadata") or {}), "client_address": "127.0.0.1"}
        assert recorder.handled == [(sent["sender"], sent["message"].strip(), metadata)]
    else:
        assert recorder.handled == [] and response.json["error"]


# ------------------------------------------------------------- the FAQ templates


@pytest.fixture(scope="module")
def faq_book():
    import yaml

    from bot.answers.faq import FaqBook

    intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"]
    return FaqBook.load(
        PROJECT_ROOT / "data" / "faq.yml", PROJECT_ROOT / "data" / "store.yml", intents
    )


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    slot_value=st.text(max_size=80).filter(lambda value: "None" not in value)
    | st.sampled_from(["{{ 7*7 }}", "{% raw %}", "}}{{", "\x00"]),
)
def test_templates_render_any_slot_and_order_values_literally(faq_book, data, slot_value):
    from bot.answers.faq import FaqRenderError

    intent = data.draw(st.sampled_from(sorted(faq_book.answers)))
    answer = faq_book.answer_for(intent)
    order = data.draw(st.none() | orders()) if answer.about_orders else None
    slots = {"order_number": slot_value, "email": slot_value}
    try:
        text = faq_book.render(answer, slots, order)
    except FaqRenderError as error:
        # Only an order with an empty field the answer needs; the action then hands off.
        assert order is not None and f"answers.{intent} (order {order.number}" in str(error)
    else:
        assert text.strip() and "None" not in text


def test_template_syntax_in_a_customer_value_is_never_evaluated(faq_book):
    answer = faq_book.answer_for("track_order")
    text = faq_book.render(answer, {"order_number": "{{ 7*7 }}{% for x in y %}"}, None)
    assert "{{ 7*7 }}{% for x in y %}" in text and "49" not in text


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_damaged_faq_file_is_a_clear_error_naming_the_file(tmp_path_factory, data):
    import yaml

    from bot.answers.faq import FaqBook, FaqError

    original = (PROJECT_ROOT / "data" / "faq.yml").read_text()
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, min(len(original), start + 200)))
    insert = data.draw(st.sampled_from(["", "{{", "{%", "}}", ":", "\n  - ", "'", "\t", "\x00"]))
    damaged = original[:start] + insert + original[end:]
    path: Path = tmp_path_factory.mktemp("faq") / "faq.yml"
    path.write_text(damaged)
    intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"]
    try:
        book = FaqBook.load(path, PROJECT_ROOT / "data" / "store.yml", intents)
    except FaqError as error:
        assert str(path) in str(error)
    else:
        assert book.answers  # a harmless edit: the book still answers


def test_resuming_a_conversation_the_http_api_cannot_address_is_an_error_not_a_silent_miss():
    """Rasa 3.6 does not unquote path parameters; a resume that reached another conversation
    must not be reported as done (the review app then keeps the handoff open)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from bot.runtime.rasa_api import resume_conversation

    class LiteralRasa(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            sender = self.path.split("/")[2]  # as Sanic 21.12 hands it over: still quoted
            body = json.dumps({"sender_id": sender, "events": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), LiteralRasa)
    Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        resume_conversation(url, "plain-id_42")  # needs no quoting: fine
        with pytest.raises(ValueError, match="cannot address conversation '客户/42'"):
            resume_conversation(url, "客户/42")
    finally:
        server.shutdown()
