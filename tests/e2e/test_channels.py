"""Messenger against the running bot: signed messages are answered through the Graph API,
unsigned or forged ones are refused."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.helpers.channels import messenger_event, replies_to, signed

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
