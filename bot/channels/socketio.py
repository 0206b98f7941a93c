"""The web chat's channel: Rasa's socket.io channel with session ids the server issues.

In Rasa's `SocketIOInput` the conversation id is whatever the browser says: `session_request`
accepts any `session_id`, and every `user_uttered` names its own. Anyone who guesses or sees
a customer's id can write into that conversation. Here:

- on `session_request` the server issues the session id, `<random hex>.<HMAC-SHA256>`, signed
  with a server key (SHOPDESK_WEBCHAT_SECRET, else derived from the Rasa API token, which
  `shopdesk up` keeps in `.shopdesk/secrets.env` or production's environment). A presented id
  is kept only when its signature verifies (a reload or reconnect continues the
  conversation); any other gets a fresh one. The socket is bound to that id;
- a `user_uttered` is handled only on a socket that has a session, into that session's
  conversation; one naming another `session_id` is refused;
- rate limits per client address and per session (bot/channels/limits.py). socket.io has no
  status per message: a refused message is answered on the bot's event (`bot_uttered`) with a
  text any widget shows and a `refused` object (`reason`: `rate_limited` with `retry_after`
  seconds, `session`, or `invalid`; `message`: the text that was not handled) so that the
  widget can offer it again. Nothing refused reaches Rasa;
- the metadata's `client_address` is set by the server.

Everything else (the socket.io server, the output channel, JWT auth, rooms) is Rasa's; the
channel keeps Rasa's name, `socketio`. credentials.yml:

    bot.channels.socketio.SocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      rate_limit: {per_address: 60/minute, per_sender: 10/10seconds}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint

from bot.channels.limits import ChannelLimiter, ClientAddresses, RateLimits
from bot.runtime.access import RASA_TOKEN, read_secret

logger = logging.getLogger(__name__)

SECRET_VARIABLE = "SHOPDESK_WEBCHAT_SECRET"
SESSION_ID = re.compile(r"[0-9a-f]{32}\.[A-Za-z0-9_-]{43}")
REFUSED_TEXTS = {
    "rate_limited": "You are sending messages faster than we can answer: please wait "
    "{retry_after} seconds, then send it again.",
    "session": "Your chat session was renewed; please send your message again.",
    "invalid": "That message could not be read; please type it again.",
}


def _signature(key: bytes, nonce: str) -> str:
    digest = hmac.new(key, f"shopdesk webchat session:{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


class SessionIds:
    """Issues and verifies web chat session ids: `<32 hex>.<43 base64url>` (a sender id that
    needs no URL quoting, bot/channels/sender_ids.py)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SessionIds:
        """SHOPDESK_WEBCHAT_SECRET, else a key derived from the API token (equal in every
        worker and after restarts, and never the token itself), else random per process."""
        environ = os.environ if environ is None else environ
        given = environ.get(SECRET_VARIABLE)
        if given:
            return cls(given.encode())
        token = read_secret(RASA_TOKEN, environ)
        if token:
            return cls(hmac.new(token.encode(), b"shopdesk webchat sessions", "sha256").digest())
        logger.warning(
            "Neither %s nor %s is set: web chat sessions are signed with a key of this "
            "process and do not survive a restart.",
            SECRET_VARIABLE,
            RASA_TOKEN,
        )
        return cls(secrets.token_bytes(32))

    def issue(self) -> str:
        nonce = secrets.token_hex(16)
        return f"{nonce}.{_signature(self.key, nonce)}"

    def verify(self, presented: object) -> bool:
        if not isinstance(presented, str) or not SESSION_ID.fullmatch(presented):
            return False
        nonce, _, signature = presented.partition(".")
        return hmac.compare_digest(_signature(self.key, nonce), signature)


class SocketIOInput(RasaSocketIOInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        channel.limiter = ChannelLimiter(
            cls.name(), RateLimits.from_credentials(cls.name(), credentials.get("rate_limit"))
        )
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Rasa's arguments; no rate limits unless built from credentials."""
        super().__init__(*args, **kwargs)
        self.session_ids = SessionIds.from_environment()
        self.addresses = ClientAddresses()
        self.limiter: ChannelLimiter | None = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint and socket.io server, with its session and message handlers
        replaced by ours (python-socketio keeps one handler per event)."""
        webhook = super().blueprint(on_new_message)
        sio = self.sio
        namespace = self.namespace or "/"

        async def refuse(sid: str, reason: str, text: Any, retry_after: int = 0) -> None:
            payload = refusal(reason, text, retry_after)
            await sio.emit(self.bot_message_evt, payload, room=sid, namespace=namespace)

        async def session_request(sid: str, data: Any = None) -> None:
            presented = data.get("session_id") if isinstance(data, dict) else None
            if self.session_ids.verify(presented):
                session_id = presented
            else:
                session_id = self.session_ids.issue()
                if presented:
                    logger.info("Web chat: a session id the server did not issue was replaced.")
            session = await sio.get_session(sid, namespace=namespace)
            previous = session.get("session_id")
            if previous and previous != session_id:
                sio.leave_room(sid, previous, namespace=namespace)
            environ = sio.get_environ(sid, namespace=namespace) or {}
            request = environ.get("sanic.request")
            address = self.addresses.of(request) if request is not None else "unknown"
            await sio.save_session(
                sid, {"session_id": session_id, "address": address}, namespace=namespace
            )
            # Rasa's output channel sends the bot's answers to the room named by the id.
            sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        async def handle_message(sid: str, data: Any = None) -> None:
            session = await sio.get_session(sid, namespace=namespace)
            session_id = session.get("session_id")
            text = data.get("message") if isinstance(data, dict) else None
            if not session_id or (
                isinstance(data, dict) and data.get("session_id") not in (None, session_id)
            ):
                logger.info("Web chat: a message without this socket's session refused.")
                return await refuse(sid, "session", text)
            if not isinstance(text, str) or not text.strip():
                return await refuse(sid, "invalid", text)
            if self.limiter:
                over = await self.limiter.check(session["address"], session_id)
                if over:
                    return await refuse(sid, "rate_limited", text, over.retry_after)
            metadata = _metadata(data.get(self.metadata_key))
            metadata["client_address"] = session["address"]  # the server's, never the client's
            await on_new_message(
                UserMessage(
                    text,
                    SocketIOOutput(sio, self.bot_message_evt),
                    session_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)
        return webhook


def refusal(reason: str, text: Any, retry_after: int = 0) -> dict[str, Any]:
    """What a refused message gets on the bot's event: a text for any widget, and for ours
    the reason, the wait and the message that was not handled (to offer it again)."""
    refused: dict[str, Any] = {"reason": reason}
    if isinstance(text, str):
        refused["message"] = text
    if retry_after:
        refused["retry_after"] = retry_after
    return {"text": REFUSED_TEXTS[reason].format(retry_after=retry_after), "refused": refused}


def _metadata(given: Any) -> dict[str, Any]:
    """The client's metadata as a dict (Rasa also accepts it as a JSON string)."""
    if isinstance(given, str):
        try:
            given = json.loads(given)
        except ValueError:
            return {}
    return dict(given) if isinstance(given, dict) else {}
