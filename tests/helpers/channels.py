"""Channel messages as their senders make them (Messenger events signed with the app secret),
what the fake Graph API received, and the limits credentials.yml sets."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import yaml

from tests.helpers.project import MESSENGER_APP_SECRET, PROJECT_ROOT


def signed(body: bytes, secret: str = MESSENGER_APP_SECRET, algorithm: str = "sha256") -> str:
    return (
        f"{algorithm}=" + hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    )


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


def configured(channel_key: str):
    """The limits credentials.yml gives a channel, as the server reads them."""
    from bot.channels.limits import RateLimits

    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    channel = credentials.get(channel_key) or {}
    return RateLimits.from_credentials("test", channel.get("rate_limit"))
