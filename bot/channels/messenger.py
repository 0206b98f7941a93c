"""Facebook Messenger, as Rasa's `FacebookInput`, with stricter webhook checks.

Rasa's channel answers a webhook with a wrong signature "200 not validated" and fails with a
500 on an unknown hash name in the header; here such a request gets a 403 and is never
processed. `X-Hub-Signature-256` (what Meta sends now) is checked first, `X-Hub-Signature`
(SHA-1) otherwise, in constant time. An event that could not be stored (database or Redis
down) gets a 503, so Meta delivers it again. `graph-api-url` (default: Meta's) lets tests and
egress proxies receive the replies. Everything else (parsing events, sending answers) is Rasa's.

Rasa handles the first message (or postback) of a webhook call. Its sender's page-scoped id
must be a valid sender id (bot/channels/sender_ids.py): otherwise the event is acknowledged
(200, so that Meta does not send it again), logged and never handled. Messages are limited
per sender (bot/channels/limits.py; the client address is always Meta's servers, so there is
no limit per address): over it, the answer is 429 with `Retry-After`, the message is not
handled, and Meta delivers it again later.

credentials (filled from FACEBOOK_* environment variables by `shopdesk up`; `rate_limit` from
credentials.yml):

    bot.channels.messenger.MessengerInput:
      verify: <the webhook verify token you chose>
      secret: <the app secret>
      page-access-token: <the page access token>
      rate_limit: {per_sender: 10/10seconds}
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fbmessenger import MessengerClient
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.limits import ChannelLimiter, RateLimits
from bot.channels.rest import storage_is_down
from bot.channels.sender_ids import sender_id_problem

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com/v19.0"


def signature_is_valid(app_secret: str, body: bytes, headers: Any) -> bool:
    """Meta's HMAC of the raw body with the app secret, SHA-256 preferred."""
    for header, digest in (
        ("X-Hub-Signature-256", hashlib.sha256),
        ("X-Hub-Signature", hashlib.sha1),
    ):
        value = headers.get(header)
        if value is None:
            continue
        method, _, given = value.partition("=")
        if method != digest().name:
            return False
        expected = hmac.new(app_secret.encode(), body, digest).hexdigest()
        return hmac.compare_digest(expected, given.strip().lower())
    return False


class MessengerInput(FacebookInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        limits = RateLimits.from_credentials(cls.name(), credentials.get("rate_limit"))
        # Every request comes from Meta's servers: an address says nothing about the sender.
        limits = dataclasses.replace(limits, per_address=())
        return cls(
            credentials.get("verify"),
            credentials.get("secret"),
            credentials.get("page-access-token"),
            credentials.get("graph-api-url") or DEFAULT_GRAPH_API_URL,
            limits,
        )

    def __init__(
        self,
        fb_verify: str,
        fb_secret: str,
        fb_access_token: str,
        graph_api_url: str,
        rate_limits: RateLimits | None = None,
    ) -> None:
        """`rate_limits` None: no limits (`from_credentials` always applies them)."""
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.graph_api_url = graph_api_url.rstrip("/")
        self.limiter = ChannelLimiter(self.name(), rate_limits) if rate_limits else None

    def _client(self) -> MessengerClient:
        client = MessengerClient(self.fb_access_token)
        client.graph_url = self.graph_api_url
        return client

    def get_output_channel(self) -> OutputChannel:
        return MessengerBot(self._client())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("messenger_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if self.fb_verify and hmac.compare_digest(token, self.fb_verify):
                return response.text(request.args.get("hub.challenge") or "")
            return response.text("invalid verify token", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not signature_is_valid(self.fb_secret or "", request.body, request.headers):
                logger.warning("Messenger webhook with a missing or wrong signature refused.")
                return response.text("invalid signature", status=403)
            payload = request.json
            if not _is_page_event(payload):
                return response.text("not a Messenger page event", status=400)
            event = _event_rasa_handles(payload)
            if event is not None:
                sender = event.get("sender")
                sender = sender.get("id") if isinstance(sender, dict) else None
                problem = sender_id_problem(sender)
                if problem:
                    logger.warning("Messenger event from %r ignored: %s.", sender, problem)
                    return response.text("ignored: invalid sender id")
                if self.limiter:
                    over = await self.limiter.check(sender=sender)
                    if over:
                        return response.text(
                            over.reason(),
                            status=429,
                            headers={"Retry-After": str(over.retry_after)},
                        )
            # Rasa's Messenger handler logs and swallows every error of a message; note them
            # on the way through, so an event that could not be stored is not acknowledged.
            failures: list[Exception] = []

            async def handle_noting_failures(message: UserMessage) -> None:
                try:
                    await on_new_message(message)
                except Exception as error:
                    failures.append(error)
                    raise

            messenger = Messenger(self.fb_access_token, handle_noting_failures)
            messenger.client = self._client()
            await messenger.handle(payload, self.get_metadata(request))
            if any(storage_is_down(error) for error in failures):
                # Not stored: Meta delivers the event again later.
                logger.error("Messenger event not handled: storage unavailable (%s).", failures)
                return response.text("storage unavailable", status=503)
            return response.text("success")

        return webhook


def _event_rasa_handles(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The one event Rasa's `Messenger.handle` passes on: the first message or postback
    (None also when that is the page's own echo, which Rasa ignores)."""
    for entry in payload["entry"]:
        for event in entry["messaging"]:
            message = event.get("message")
            if isinstance(message, dict) and message.get("is_echo"):
                return None
            if message or event.get("postback"):
                return event
    return None


def _is_page_event(payload: Any) -> bool:
    """The shape Rasa's Messenger handler relies on, checked before it reads it."""
    if not isinstance(payload, dict) or payload.get("object") != "page":
        return False
    entries = payload.get("entry")
    return isinstance(entries, list) and all(
        isinstance(entry, dict)
        and isinstance(entry.get("messaging"), list)
        and all(isinstance(event, dict) for event in entry["messaging"])
        for entry in entries
    )
