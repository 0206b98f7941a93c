"""Channels: Messenger webhooks (signatures, replies to the Graph API) and the channels the
Rasa server opens from credentials.yml and the environment."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from tests.helpers.channels import signed
from tests.helpers.project import MESSENGER_APP_SECRET, PROJECT_ROOT


class Headers(dict):
    def get(self, key, default=None):  # case-insensitive like Sanic's
        return next((v for k, v in self.items() if k.lower() == key.lower()), default)


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
