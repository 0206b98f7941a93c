"""Channel limits and sender-id hygiene (README, "Security"): rate limits per client address
and per sender (bot/channels/limits.py), one rule for sender ids (bot/channels/sender_ids.py).

The live tests talk to the real `shopdesk up` of the session (`bot` in conftest.py) with the
limits of credentials.yml. Each test connects from its own loopback address (127.0.0.x:
Linux routes all of 127/8 to loopback, and the server sees that address as the peer), so
the per-address counters of different tests never meet; 127.0.0.1, from which every other
live test talks, is exempt by default. 127.0.0.9 is the fixture's trusted proxy.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, TRUSTED_TEST_PROXY, free_port, stored_events

REST = "/webhooks/rest/webhook"
FACEBOOK = "/webhooks/facebook/webhook"


def configured(channel_key: str):
    """The limits credentials.yml gives a channel, as the server reads them."""
    from bot.channels.limits import RateLimits

    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    channel = credentials.get(channel_key) or {}
    return RateLimits.from_credentials("test", channel.get("rate_limit"))


# ------------------------------------------------------------------ sender ids


VALID_IDS = ["me", "Az09-._~", "1234567890", "a" * 255, "c0da093a4deb.bYPI0SKK5NGvk6Q_2g-c"]
INVALID_IDS = {
    "a\r\nInjected: log line": "control or format",
    "tab\there": "control or format",
    "nul\x00": "control or format",
    "\u202eevil.exe": "control or format",  # right-to-left override
    "name\u2066x\u2069": "control or format",  # bidi isolate
    "zero\u200bwidth": "control or format",
    "joiner\u200d": "control or format",
    "bom\ufeff": "control or format",
    "a/b": "may only contain",
    "../../etc/passwd": "may only contain",
    "%2e%2e%2f": "may only contain",
    "a?b=1": "may only contain",
    "a#b": "may only contain",
    "with space": "may only contain",
    "客户-42": "may only contain",
    "emoji📦": "may only contain",
    ".": "may not be '.' or '..'",
    "..": "may not be '.' or '..'",
    "": "non-empty",
    "   ": "non-empty",
    "a" * 256: "255",
}


@pytest.mark.parametrize("sender", VALID_IDS)
def test_valid_sender_ids_pass_unquoted_through_any_url_encoder(sender):
    from bot.channels.sender_ids import sender_id_problem

    assert sender_id_problem(sender) is None
    # What makes them addressable: every encoder leaves them as they are (Rasa never unquotes).
    assert urllib.parse.quote(sender, safe="") == sender


@pytest.mark.parametrize("sender", list(INVALID_IDS), ids=[repr(s)[:20] for s in INVALID_IDS])
def test_invalid_sender_ids_are_refused_with_a_reason(sender):
    from bot.channels.sender_ids import sender_id_problem

    assert INVALID_IDS[sender] in sender_id_problem(sender)


def test_the_rule_matches_how_rasa_routes_conversation_ids():
    """Rasa's own route pattern on Sanic 21.12: ids the rule accepts come back whole, ids it
    refuses arrive as another id when a client encodes them."""
    from sanic import Sanic, response

    from bot.channels.sender_ids import sender_id_problem
    from tests.conftest import serve_in_tests

    app = Sanic("rasa_route_check")

    @app.post("/conversations/<conversation_id:path>/tracker/events")
    async def events(_request, conversation_id):
        return response.json({"sender_id": conversation_id})

    serve_in_tests(app)
    for sender in [*VALID_IDS, "a/b", "客户", "a b", "a%b", "a?b"]:
        path = f"/conversations/{urllib.parse.quote(sender, safe='')}/tracker/events"
        _, answer = app.test_client.post(path)
        assert (answer.json["sender_id"] == sender) == (sender_id_problem(sender) is None)


# ------------------------------------------------------------------ settings and counting


def test_limits_come_from_credentials_over_the_defaults():
    from bot.channels.limits import DEFAULT_RATE_LIMITS, RateLimitConfigError, RateLimits

    defaults = RateLimits.from_credentials("rest", None, environ={})
    assert [str(item) for item in defaults.per_address] == ["60 per 1 minute"]
    assert defaults.storage == "memory://"
    assert configured("bot.channels.rest.RestInput").per_sender  # credentials.yml is readable
    given = RateLimits.from_credentials("rest", {"per_sender": "2/second;5/minute"}, environ={})
    assert [item.amount for item in given.per_sender] == [2, 5]
    assert given.per_address == RateLimits.from_credentials("rest", DEFAULT_RATE_LIMITS).per_address
    assert RateLimits.from_credentials("rest", {"per_address": "off"}).per_address == ()
    for wrong, said in (
        ({"per_adress": "1/minute"}, "unknown `rate_limit` settings ['per_adress']"),
        ({"per_sender": "lots"}, "`rate_limit.per_sender` 'lots' is not a rate"),
        ({"exempt_addresses": "127.0.0.1"}, "must be a list"),
        ({"exempt_addresses": ["10.0.0.300"]}, "exempt_addresses"),
        ("30/minute", "must be a mapping"),
    ):
        with pytest.raises(RateLimitConfigError) as refused:
            RateLimits.from_credentials("rest", wrong)
        assert said in str(refused.value)


def test_production_counts_in_the_lock_stores_redis():
    from bot.channels.limits import default_storage

    assert default_storage({}) == "memory://"
    environ = {"SHOPDESK_REDIS_HOST": "10.0.0.7", "SHOPDESK_REDIS_PASSWORD": "p@ss/word"}
    assert default_storage(environ) == "redis://:p%40ss%2Fword@10.0.0.7:6379/1"


def limiter(**settings):
    from bot.channels.limits import ChannelLimiter, RateLimits

    limits = RateLimits.from_credentials("unit", {"storage": "memory://", **settings})
    return ChannelLimiter(f"unit-{time.time_ns()}", limits)


def test_per_address_and_per_sender_counts_are_separate_and_exempt_addresses_free():
    counter = limiter(per_address="3/minute", per_sender="2/minute")
    check = counter.check

    assert [asyncio.run(check("10.0.0.1", "s1")) for _ in range(2)] == [None, None]
    refused = asyncio.run(check("10.0.0.1", "s1"))
    assert refused.scope == "sender" and 1 <= refused.retry_after <= 61
    assert asyncio.run(check("10.0.0.2", "s2")) is None  # other address, other sender
    refused = asyncio.run(check("10.0.0.1", "s3"))  # its 4th message: the address is full
    assert refused.scope == "address" and "from your address" in refused.reason()
    assert asyncio.run(check("10.0.0.1", None)).scope == "address"
    for _ in range(10):  # this machine's own address is never counted per address
        assert asyncio.run(check("127.0.0.1", None)) is None


def test_retry_after_is_never_too_early(monkeypatch):
    """The store keeps whole seconds; a client that waits exactly Retry-After must pass."""
    clock = [1_000.9]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    counter = limiter(per_sender="2/10seconds")
    assert asyncio.run(counter.check(sender="s")) is None
    clock[0] = 1_000.95
    assert asyncio.run(counter.check(sender="s")) is None
    clock[0] = 1_001.0
    wait = asyncio.run(counter.check(sender="s")).retry_after
    clock[0] = 1_001.0 + wait
    assert asyncio.run(counter.check(sender="s")) is None


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    import secrets

    from bot.runtime.local_services import LocalRedis

    server = LocalRedis(tmp_path_factory.mktemp("redis"), free_port(), secrets.token_urlsafe(16))
    server.start()
    yield f"redis://:{server.password}@127.0.0.1:{server.port}/3"
    server.stop()


def test_workers_share_their_counts_in_redis(redis_url):
    """Two Rasa workers are two processes: what one counted, the other sees."""
    channel = f"shared-{time.time_ns()}"
    script = (
        "import asyncio, sys\n"
        "from bot.channels.limits import ChannelLimiter, RateLimits\n"
        "settings = {'per_sender': '3/minute', 'storage': sys.argv[1]}\n"
        "limits = RateLimits.from_credentials('w', settings)\n"
        "refused = asyncio.run(ChannelLimiter(sys.argv[2], limits).check(sender='s'))\n"
        "print(refused.scope if refused else 'passed')\n"
    )

    def other_worker() -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, redis_url, channel],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()

    assert [other_worker() for _ in range(3)] == ["passed"] * 3
    from bot.channels.limits import ChannelLimiter, RateLimits

    settings = {"per_sender": "3/minute", "storage": redis_url}
    here = ChannelLimiter(channel, RateLimits.from_credentials("w", settings))
    assert asyncio.run(here.check(sender="s")).scope == "sender"


def test_an_unreachable_store_lets_messages_through():
    counter = limiter(per_sender="1/minute", storage=f"redis://127.0.0.1:{free_port()}/0")
    assert asyncio.run(counter.check("10.0.0.1", "s")) is None
    assert asyncio.run(counter.check("10.0.0.1", "s")) is None


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
    from tests.test_channels import messenger_event, replies_to, signed

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
    from tests.test_channels import messenger_event, signed

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
