"""Rate limits and sender ids at the running bot's REST and Messenger webhooks."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers.channels import configured
from tests.helpers.logged_conversations import stored_events
from tests.helpers.project import TRUSTED_TEST_PROXY

REST = "/webhooks/rest/webhook"


FACEBOOK = "/webhooks/facebook/webhook"


# ------------------------------------------------------------------ the real bot, live


def send_from(address: str, bot, path: str, body: bytes, headers: dict[str, str] | None = None):
    """POST from `address` (a loopback address this test owns): (status, headers, body)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", bot.ports["rasa"], timeout=120, source_address=(address, 0)
    )
    try:
        connection.request(
            "POST", path, body, {"Content-Type": "application/json", **(headers or {})}
        )
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def message(sender: str, text: str, **extra) -> bytes:
    return json.dumps({"sender": sender, "message": text, **extra}).encode()


def user_events(databases, sender: str) -> list[dict]:
    return [e for e in stored_events(databases["SHOPDESK_DB_URL"], sender) if e["event"] == "user"]


def fill_address_window(bot, address: str, forwarded_for=None) -> None:
    """Use up `address`'s per-address allowance with requests that are refused cheaply (415:
    they count, as every request does, before the body is read). `forwarded_for(n)`: the
    X-Forwarded-For of the n-th request, if any."""
    allowed = configured("bot.channels.rest.RestInput").per_address[0].amount
    for n in range(allowed):
        headers = {"Content-Type": "text/plain"}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for(n)
        status, _, _ = send_from(address, bot, REST, b"x", headers)
        assert status == 415


def assert_too_many(status: int, headers: dict[str, str], body: bytes, window_s: int) -> None:
    assert status == 429, body
    assert 1 <= int(headers["retry-after"]) <= window_s + 1
    assert f"wait {headers['retry-after']} seconds" in json.loads(body)["error"]


@pytest.mark.slow
def test_rest_over_the_address_limit_gets_429_and_nothing_is_stored(bot, databases):
    sender = f"over-address-{time.time_ns()}"
    fill_address_window(bot, "127.0.0.21")
    status, headers, body = send_from("127.0.0.21", bot, REST, message(sender, "hello"))
    assert_too_many(status, headers, body, 60)
    assert user_events(databases, sender) == []
    # Another client address is not affected, and the same conversation goes on from there.
    status, _, body = send_from("127.0.0.22", bot, REST, message(sender, "hello"))
    assert status == 200, body
    [stored] = user_events(databases, sender)
    assert stored["metadata"]["client_address"] == "127.0.0.22"


@pytest.mark.slow
def test_forwarded_for_from_an_untrusted_peer_is_ignored(bot, databases):
    sender = f"forged-xff-{time.time_ns()}"
    # A client rotating X-Forwarded-For still counts as itself.
    fill_address_window(bot, "127.0.0.23", lambda n: f"203.0.113.{n}")
    status, headers, body = send_from(
        "127.0.0.23", bot, REST, message(sender, "hello"), {"X-Forwarded-For": "203.0.113.99"}
    )
    assert_too_many(status, headers, body, 60)
    assert user_events(databases, sender) == []


@pytest.mark.slow
def test_behind_a_trusted_proxy_each_customer_counts_and_is_recorded_apart(bot, databases):
    proxy, sender = TRUSTED_TEST_PROXY, f"proxied-{time.time_ns()}"
    fill_address_window(bot, proxy, lambda _n: "198.51.100.7")
    status, headers, body = send_from(
        proxy, bot, REST, message(sender, "hello"), {"X-Forwarded-For": "198.51.100.7"}
    )
    assert_too_many(status, headers, body, 60)
    # Another customer behind the same proxy; the client's own `client_address` is overruled.
    status, _, body = send_from(
        proxy,
        bot,
        REST,
        message(sender, "hello", metadata={"client_address": "6.6.6.6", "page": "/shoes"}),
        {"X-Forwarded-For": "6.6.6.6, 198.51.100.8"},  # the left part is the client's word
    )
    assert status == 200, body
    [stored] = user_events(databases, sender)
    assert stored["metadata"]["client_address"] == "198.51.100.8"
    assert stored["metadata"]["page"] == "/shoes"  # the client's other metadata is kept


@pytest.mark.slow
def test_rest_over_the_sender_limit_gets_429_from_any_address(bot, databases):
    allowed = configured("bot.channels.rest.RestInput").per_sender[0]
    sender = f"chatty-{time.time_ns()}"
    texts = [f"hello number {n}" for n in range(allowed.amount + 1)]

    def send(text: str):  # all at once: they arrive well inside the window
        return text, send_from("127.0.0.24", bot, REST, message(sender, text))

    with ThreadPoolExecutor(len(texts)) as pool:
        answers = dict(pool.map(send, texts))
    refused = [text for text, (status, _, _) in answers.items() if status == 429]
    assert len(refused) == 1, {text: status for text, (status, _, _) in answers.items()}
    status, headers, body = answers[refused[0]]
    assert_too_many(status, headers, body, allowed.get_expiry())
    stored = [event["text"] for event in user_events(databases, sender)]
    assert sorted(stored) == sorted(set(texts) - set(refused))
    # The conversation is full from another address too.
    status, _, _ = send_from("127.0.0.25", bot, REST, message(sender, "one more"))
    assert status == 429


@pytest.mark.slow
@pytest.mark.parametrize("sender", ["bidi\u202eexe.txt", "crlf\r\nINFO forged", "a/b", "%2F"])
def test_rest_refuses_sender_ids_that_spoof_or_cannot_be_addressed(bot, databases, sender):
    status, _, body = send_from("127.0.0.26", bot, REST, message(sender, "hello"))
    assert status == 400
    assert "`sender`" in json.loads(body)["error"]
    assert user_events(databases, sender) == []


@pytest.mark.slow
def test_every_accepted_sender_id_can_be_released_through_rasas_api(bot):
    from bot.runtime.rasa_api import resume_conversation

    sender = f"Az09-._~{time.time_ns()}"
    status, _, body = send_from("127.0.0.26", bot, REST, message(sender, "hello"))
    assert status == 200, body
    resume_conversation(bot.base, sender, bot.token)  # raises if Rasa resumed another id


# ------------------------------------------------------------------ Messenger, live


@pytest.mark.slow
@pytest.mark.parametrize("sender", ["\u202e4321", "12\r\n34", "12/34"])
def test_messenger_ignores_events_from_invalid_sender_ids(bot, fake_graph_api, databases, sender):
    from tests.helpers.channels import messenger_event, replies_to, signed

    body = messenger_event(sender, "hello")
    status, _, answer = send_from(
        "127.0.0.27", bot, FACEBOOK, body, {"X-Hub-Signature-256": signed(body)}
    )
    assert status == 200, answer  # acknowledged, so Meta does not send it again
    assert replies_to(fake_graph_api, sender) == []  # not even "seen" or typing
    assert user_events(databases, sender) == []


@pytest.mark.slow
def test_messenger_over_the_sender_limit_gets_429(bot, fake_graph_api, databases):
    from bot.channels.limits import DEFAULT_RATE_LIMITS, RateLimits
    from tests.helpers.channels import messenger_event, signed

    # shopdesk up builds Messenger's credentials from FACEBOOK_*: the defaults apply.
    allowed = RateLimits.from_credentials("facebook", DEFAULT_RATE_LIMITS).per_sender[0]
    sender = f"{time.time_ns()}"
    texts = [f"hello number {n}" for n in range(allowed.amount + 1)]

    def send(text: str):
        body = messenger_event(sender, text)
        # From 127.0.0.1 (exempt): Messenger is limited per sender whatever the address.
        return text, send_from(
            "127.0.0.1", bot, FACEBOOK, body, {"X-Hub-Signature-256": signed(body)}
        )

    with ThreadPoolExecutor(len(texts)) as pool:
        answers = dict(pool.map(send, texts))
    refused = [text for text, (status, _, _) in answers.items() if status == 429]
    assert len(refused) == 1, {text: status for text, (status, _, _) in answers.items()}
    assert 1 <= int(answers[refused[0]][1]["retry-after"]) <= allowed.get_expiry() + 1
    stored = [event["text"] for event in user_events(databases, sender)]
    assert sorted(stored) == sorted(set(texts) - set(refused))
