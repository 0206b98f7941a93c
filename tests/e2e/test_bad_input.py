"""Bad requests and odd messages to the running bot: refused with nothing stored, or answered
and stored once."""

from __future__ import annotations

import json
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.bad_requests import ACCEPTED, REFUSED, REFUSED_IDS, WEBHOOK
from tests.helpers.logged_conversations import stored_events

# ------------------------------------------------------------- the real bot, live


def raw_post(url: str, body: bytes, content_type: str = "application/json"):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def user_texts(databases: dict, sender: str) -> list[str]:
    """The customer messages stored for `sender`, straight from the tracker store's table
    (Rasa's HTTP API cannot address every id: Sanic 21.12 does not unquote path parameters)."""
    events = stored_events(databases["SHOPDESK_DB_URL"], sender)
    return [event["text"] for event in events if event["event"] == "user"]


@pytest.mark.slow
@pytest.mark.parametrize("body,headers,status,reason", REFUSED, ids=REFUSED_IDS)
def test_the_real_bot_refuses_bad_requests_and_stores_nothing(
    bot, databases, body, headers, status, reason
):
    got, answer = raw_post(f"{bot.base}{WEBHOOK}", body, headers["Content-Type"])
    assert got == status, answer
    assert reason in answer["error"]
    # `x` is the conversation most of these name: nothing of theirs reached it.
    assert user_texts(databases, "x") == []


@pytest.mark.slow
@pytest.mark.parametrize("sender,message", ACCEPTED, ids=[s for s, _ in ACCEPTED])
def test_the_real_bot_answers_odd_messages_and_keeps_each_once(bot, databases, sender, message):
    sender = f"{sender}-{time.time_ns()}"
    body = {"sender": sender, "message": message, "metadata": {"blob": "m" * 15_000}}
    status, replies = raw_post(f"{bot.base}{WEBHOOK}", json.dumps(body).encode())
    assert status == 200, replies
    assert replies and all(reply.get("text") for reply in replies)
    assert user_texts(databases, sender) == [message.strip()]


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    message=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=400
    ).filter(str.strip),
    sender=st.text(string.ascii_letters + string.digits + "-._~", min_size=1, max_size=60),
)
def test_fuzzed_messages_to_the_real_bot_are_answered_and_stored_once(
    bot, databases, message, sender
):
    sender = f"fz{time.time_ns()}{sender}"[:255]
    status, replies = raw_post(
        f"{bot.base}{WEBHOOK}", json.dumps({"sender": sender, "message": message}).encode()
    )
    assert status == 200, replies
    assert all(isinstance(reply.get("text", ""), str) for reply in replies)
    assert user_texts(databases, sender) == [message.strip()]
