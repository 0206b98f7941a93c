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
import subprocess
import sys
import time
import urllib.parse

import pytest

from tests.helpers.channels import configured
from tests.helpers.http import free_port
from tests.helpers.project import PROJECT_ROOT

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
    from tests.helpers.http import serve_in_tests

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
