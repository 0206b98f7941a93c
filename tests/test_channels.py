"""Channels: Messenger webhooks (signatures, replies to the Graph API) and the channels the
Rasa server opens from credentials.yml and the environment."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

import pytest
import yaml

from tests.conftest import MESSENGER_APP_SECRET, PROJECT_ROOT


class Headers(dict):
    def get(self, key, default=None):  # case-insensitive like Sanic's
        return next((v for k, v in self.items() if k.lower() == key.lower()), default)


def signed(body: bytes, secret: str = MESSENGER_APP_SECRET, algorithm: str = "sha256") -> str:
    return (
        f"{algorithm}=" + hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    )


@pytest.mark.parametrize(
    ("header", "value", "valid"),
    [
        ("X-Hub-Signature-256", lambda b: signed(b), True),
        ("X-Hub-Signature", lambda b: signed(b, algorithm="sha1"), True),
        ("X-Hub-Signature-256", lambda b: signed(b, secret="someone else's"), False),
        ("X-Hub-Signature-256", lambda b: signed(b + b" "), False),
        ("X-Hub-Signature-256", lambda b: signed(b, algorithm="sha1"), False),  # wrong name
        ("X-Hub-Signature", lambda b: "__init__=abc", False),  # Rasa's own check 500s here
        ("X-Hub-Signature", lambda b: "md5=" + hashlib.md5(b).hexdigest(), False),
        ("X-Hub-Signature-256", lambda b: "", False),
        ("Authorization", lambda b: signed(b), False),  # no signature header at all
    ],
)
def test_messenger_signatures(header, value, valid):
    from bot.channels.messenger import signature_is_valid

    body = b'{"object": "page", "entry": []}'
    assert signature_is_valid(MESSENGER_APP_SECRET, body, Headers({header: value(body)})) is valid


def test_channels_from_the_environment(tmp_path):
    from bot.runtime.processes import credentials_for_environment

    (tmp_path / "credentials.yml").write_text((PROJECT_ROOT / "credentials.yml").read_text())
    plain = yaml.safe_load(credentials_for_environment(1, {}, tmp_path).read_text())
    # The web chat uses our socket.io channel (server-issued session ids), never Rasa's own.
    assert set(plain) == {"bot.channels.rest.RestInput", "bot.channels.socketio.SocketIOInput"}
    assert plain["bot.channels.socketio.SocketIOInput"]["session_persistence"] is True

    messenger = {
        "FACEBOOK_VERIFY_TOKEN": "v",
        "FACEBOOK_APP_SECRET": "s",
        "FACEBOOK_PAGE_ACCESS_TOKEN": "t",
    }
    path = credentials_for_environment(2, messenger, tmp_path)
    written = yaml.safe_load(path.read_text())
    assert written["bot.channels.messenger.MessengerInput"] == {
        "verify": "v",
        "secret": "s",
        "page-access-token": "t",
    }
    assert path.stat().st_mode & 0o077 == 0  # secrets: readable by the owner only
    with pytest.raises(RuntimeError, match="TELEGRAM_BOT_NAME, TELEGRAM_WEBHOOK_URL"):
        credentials_for_environment(3, {"TELEGRAM_ACCESS_TOKEN": "x"}, tmp_path)

    # Messenger's settings written in credentials.yml (its rate limit) survive the environment.
    (tmp_path / "credentials.yml").write_text(
        "bot.channels.messenger.MessengerInput:\n  verify: old\n"
        "  rate_limit: {per_sender: 3/minute}\n"
    )
    written = yaml.safe_load(credentials_for_environment(4, messenger, tmp_path).read_text())
    assert written["bot.channels.messenger.MessengerInput"] == {
        "verify": "v",
        "secret": "s",
        "page-access-token": "t",
        "rate_limit": {"per_sender": "3/minute"},
    }


def test_rasa_builds_our_channels_with_their_limits_from_credentials():
    from rasa.core.run import create_http_input_channels

    from bot.channels.messenger import MessengerInput
    from bot.channels.rest import RestInput
    from bot.channels.socketio import SocketIOInput

    rest, socketio = create_http_input_channels(None, str(PROJECT_ROOT / "credentials.yml"))
    assert type(rest) is RestInput and type(socketio) is SocketIOInput
    assert socketio.name() == "socketio"  # what conversations record and staff filter by
    for channel in (rest, socketio):
        assert channel.limiter.limits.per_address and channel.limiter.limits.per_sender
    messenger = MessengerInput.from_credentials({"verify": "v", "secret": "s"})
    assert messenger.limiter.limits.per_address == ()  # Meta's servers: per sender only
    assert messenger.limiter.limits.per_sender


# ----------------------------------------------------------------- the running bot


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def messenger_event(sender: str, text: str) -> bytes:
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "page-1",
                    "time": int(time.time() * 1000),
                    "messaging": [
                        {
                            "sender": {"id": sender},
                            "recipient": {"id": "page-1"},
                            "timestamp": int(time.time() * 1000),
                            "message": {"mid": f"mid.{time.time_ns()}", "text": text},
                        }
                    ],
                }
            ],
        }
    ).encode()


def replies_to(fake_graph_api, sender: str) -> list[dict]:
    return [
        body
        for path, body in fake_graph_api.received
        if path.split("?")[0].endswith("/me/messages")
        and body.get("recipient", {}).get("id") == sender
    ]


@pytest.mark.slow
def test_messenger_answers_a_signed_message_through_the_graph_api(bot, fake_graph_api, databases):
    from bot.storage.conversation_log import ConversationLog

    sender = f"psid-{time.time_ns()}"
    body = messenger_event(sender, "which payment methods do you accept?")
    status, text = post(
        f"{bot.base}/webhooks/facebook/webhook", body, {"X-Hub-Signature-256": signed(body)}
    )
    assert (status, text) == (200, "success")
    sent = replies_to(fake_graph_api, sender)
    texts = [reply["message"]["text"] for reply in sent if "message" in reply]  # not mark_seen
    assert texts[0].startswith("We accept") and "Klarna" in texts[0], texts
    assert texts[-1] == "Is there anything else I can help you with?"
    conversation = ConversationLog(databases["SHOPDESK_DB_URL"]).read(sender)
    assert conversation.channel == "facebook"  # staff can filter by it
    assert conversation.user_turns[0].intent == "check_payment_methods"


@pytest.mark.slow
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature": "__init__=1"},
    ],
)
def test_messenger_refuses_unsigned_or_forged_events(bot, fake_graph_api, databases, headers):
    from bot.storage.conversation_log import ConversationLog

    sender = f"forged-{time.time_ns()}"
    status, _ = post(
        f"{bot.base}/webhooks/facebook/webhook", messenger_event(sender, "hi"), headers
    )
    assert status == 403
    assert replies_to(fake_graph_api, sender) == []
    assert ConversationLog(databases["SHOPDESK_DB_URL"]).read(sender) is None


@pytest.mark.slow
def test_messenger_webhook_verification_and_malformed_events(bot):
    verify = f"{bot.base}/webhooks/facebook/webhook?hub.mode=subscribe&hub.challenge=4242"
    with urllib.request.urlopen(verify + "&hub.verify_token=larkspur-verify") as response:
        assert response.read() == b"4242"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(verify + "&hub.verify_token=guess")
    assert refused.value.code == 403
    body = json.dumps({"object": "page", "entry": [{"messaging": "oops"}]}).encode()
    status, _ = post(
        f"{bot.base}/webhooks/facebook/webhook", body, {"X-Hub-Signature-256": signed(body)}
    )
    assert status == 400
