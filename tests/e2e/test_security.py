"""The running servers: loopback only, tokens and secrets required, CORS for the web chat page."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from tests.helpers.action_calls import action_call
from tests.helpers.network import (
    call,
    listens_on_loopback_only,
)
from tests.helpers.project import PROJECT_ROOT

ORDER_DETAILS = ("482913", "tracking", "Tracking")


# ------------------------------------------------------------------ the real servers


@pytest.mark.slow
def test_every_server_listens_on_loopback_only(bot) -> None:
    listens_on_loopback_only(bot.ports)


@pytest.mark.slow
def test_the_rasa_http_api_needs_its_token(bot) -> None:
    from bot.runtime.access import RASA_TOKEN, SECRETS_FILE

    assert bot.token
    sender = f"token-{time.time_ns()}"
    assert bot.say(sender, "hello")  # customers' channels need no token
    for path, payload in (
        (f"/conversations/{sender}/tracker", None),
        ("/model/parse", {"text": "refund please"}),
        ("/status", None),
    ):
        assert call(f"{bot.base}{path}", payload)[0] == 401, path
        assert call(f"{bot.base}{path}?token=wrong", payload)[0] == 401, path
        status, _, body = call(bot.api(path), payload)
        assert status == 200, (path, body)
    # Writing into a conversation or replacing the model: refused too.
    assert call(f"{bot.base}/conversations/{sender}/tracker/events", [])[0] == 401
    assert call(f"{bot.base}/model", {"model_file": "x.tar.gz"}, method="PUT")[0] == 401
    if not os.environ.get(RASA_TOKEN):  # development's own, kept for the owner only
        assert stat.S_IMODE(SECRETS_FILE.stat().st_mode) == 0o600


@pytest.mark.slow
def test_cors_allows_only_the_web_chat_page(bot) -> None:
    preflight = {"Access-Control-Request-Method": "GET"}
    tracker = f"{bot.base}/conversations/cors-check/tracker"
    for origin in ("http://evil.example", "null", f"{bot.webchat}.evil.example"):
        _, headers, _ = call(tracker, headers={"Origin": origin, **preflight}, method="OPTIONS")
        assert headers.get("access-control-allow-origin") in (None, ""), (origin, headers)
        _, headers, _ = call(bot.api("/status"), headers={"Origin": origin})
        assert "access-control-allow-origin" not in headers, (origin, headers)
    # The web chat's own page may: the widget's socket.io transport reads Rasa's answers.
    _, headers, _ = call(tracker, headers={"Origin": bot.webchat, **preflight}, method="OPTIONS")
    assert headers.get("access-control-allow-origin") == bot.webchat
    polling = f"{bot.base}/socket.io/?EIO=4&transport=polling"
    status, headers, body = call(polling, headers={"Origin": bot.webchat})
    assert status == 200 and b"sid" in body
    assert headers.get("access-control-allow-origin") == bot.webchat
    _, headers, _ = call(polling, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in headers


@pytest.mark.slow
def test_the_action_server_refuses_calls_without_the_secret(bot) -> None:
    hand_made = action_call("action_answer", "where is 482913", "track_order", 0.99, "m-1")
    hand_made["tracker"]["slots"] = {"order_number": "482913"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "482913"}):
        status, answered, body = call(f"{bot.actions}/webhook", hand_made, headers)
        assert status == 401, body
        assert answered.get("www-authenticate", "").startswith("Bearer")
        assert not any(detail.encode() in body for detail in ORDER_DETAILS)
    assert call(f"{bot.actions}/actions")[0] == 401
    assert call(f"{bot.actions}/health")[0] == 200

    # Rasa sends the secret: the bot still answers from the orders database through it.
    sender = f"secret-{time.time_ns()}"
    replies = bot.say(sender, "where is my order 482913?")
    assert not any("on its way" in reply for reply in replies), replies  # its owner first
    replies = bot.say(sender, "the email on the order is anna.berg@example.org")
    assert any("482913" in reply and "on its way" in reply for reply in replies), replies
    assert any(source["kind"] == "template" for source in bot.sources(sender))


@pytest.mark.slow
def test_the_review_app_and_the_cli_use_the_token(bot, databases) -> None:
    from bot.review_app.settings import ReviewAppSettings

    assert ReviewAppSettings().rasa_token == bot.token
    sender = f"release-{time.time_ns()}"
    assert bot.say(sender, "hello")
    released = subprocess.run(
        [sys.executable, "-m", "bot.cli", "handoff", "release", sender, "--rasa-url", bot.base],
        cwd=PROJECT_ROOT,
        env={**os.environ, **databases},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert released.returncode == 0, released.stderr[-2000:]
    assert f"Resumed {sender}" in released.stdout
