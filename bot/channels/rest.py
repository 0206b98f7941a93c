"""The REST channel, as Rasa's `RestInput`, with its input checked and its failures said.

Rasa's channel answers a malformed body with a 500 (`None.get`), files a message without a
`sender` under the shared id "default", and answers 200 with whatever was collected when the
message could not be handled, so a client believes a message was stored when it was not.
Here:

- the body must be a UTF-8 JSON object sent as `application/json` (400, 415);
- `sender` and `message` are required strings without control characters; an empty or
  whitespace-only message, an over-long one and over-large metadata are refused (400, 413);
  the sender must be an id Rasa's HTTP API can address (bot/channels/sender_ids.py);
- messages over the rate limits per client address or per sender get 429 with
  `Retry-After` (seconds) and are not handled (bot/channels/limits.py);
- the metadata's `client_address` is the client's address as the server sees it (trusted
  proxies' X-Forwarded-For only), whatever the client sent under that key;
- the channel name is the server's (`rest`): a body claiming another `input_channel` is
  refused (400), since Rasa's channel would file it under whatever the client said;
- when the tracker store or the lock store cannot be reached, the answer is 503 with
  `Retry-After`, and nothing was stored: the client sends the message again later.

Everything else (the URL `/webhooks/rest/webhook`, the reply format, streaming) is Rasa's.

credentials.yml (every key optional):

    bot.channels.rest.RestInput:
      max_message_chars: 10000
      max_metadata_bytes: 16384
      rate_limit: {per_address: 60/minute, per_sender: 10/10seconds}
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.limits import ChannelLimiter, ClientAddresses, RateLimits, Refusal
from bot.channels.sender_ids import sender_id_problem

logger = logging.getLogger(__name__)

# C0 controls but tab, line feed and carriage return, and DEL: PostgreSQL cannot store NUL
# in text, and none of them belongs in a chat message. (Sender ids: bot/channels/sender_ids.py.)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadRequest(Exception):
    """A request the channel refuses, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def storage_is_down(error: BaseException) -> bool:
    """True for errors that mean "could not reach the database or Redis", not a bug."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error,
        (OperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError),
    )


def error_response(status: int, message: str, **headers: str) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=headers or None)


def too_many(refusal: Refusal) -> HTTPResponse:
    """429 with Retry-After: the message was not handled; send it again after the wait."""
    return response.json(
        {"error": refusal.reason(), "retry_after": refusal.retry_after},
        status=429,
        headers={"Retry-After": str(refusal.retry_after)},
    )


class RestInput(RasaRestInput):
    def __init__(
        self,
        max_message_chars: int = 10_000,
        max_metadata_bytes: int = 16_384,
        rate_limits: RateLimits | None = None,
        addresses: ClientAddresses | None = None,
    ) -> None:
        """`rate_limits` None: no limits (Rasa builds the channel with `from_credentials`,
        which always applies them, defaults included)."""
        self.max_message_chars = max_message_chars
        self.max_metadata_bytes = max_metadata_bytes
        self.limiter = ChannelLimiter("rest", rate_limits) if rate_limits else None
        self.addresses = addresses or ClientAddresses()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            max_message_chars=int(credentials.get("max_message_chars", 10_000)),
            max_metadata_bytes=int(credentials.get("max_metadata_bytes", 16_384)),
            rate_limits=RateLimits.from_credentials(cls.name(), credentials.get("rate_limit")),
        )

    def parse_request(self, request: Request) -> dict[str, Any]:
        """The checked fields of a message request; raises BadRequest."""
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
        if content_type.lower() != "application/json":
            raise BadRequest(415, "send the message as JSON (Content-Type: application/json)")
        try:
            body = json.loads(request.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest(400, "the body is not valid UTF-8") from None
        except ValueError as error:
            raise BadRequest(400, f"the body is not valid JSON ({error})") from None
        if not isinstance(body, dict):
            raise BadRequest(400, 'the body must be a JSON object: {"sender": ..., "message": ...}')

        sender = body.get("sender")
        problem = sender_id_problem(sender)
        if problem:
            raise BadRequest(400, problem)

        message = body.get("message")
        if not isinstance(message, str):
            raise BadRequest(400, "`message` must be a string")
        if not message.strip():
            raise BadRequest(400, "`message` is empty")
        if len(message) > self.max_message_chars:
            raise BadRequest(413, f"`message` is longer than {self.max_message_chars} characters")
        if CONTROL_CHARACTERS.search(message):
            raise BadRequest(400, "`message` contains control characters")

        metadata = body.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise BadRequest(400, "`metadata` must be a JSON object")
            if len(json.dumps(metadata).encode()) > self.max_metadata_bytes:
                raise BadRequest(413, f"`metadata` is larger than {self.max_metadata_bytes} bytes")

        # The channel is the server's word: a client claiming to write from Messenger would
        # mislead the review app's channel filter and the dashboard.
        claimed = body.get("input_channel")
        if claimed is not None and claimed != self.name():
            raise BadRequest(
                400, f"`input_channel` is set by the server: leave it out or send {self.name()!r}"
            )
        return {
            "sender": sender,
            "message": message,
            "metadata": metadata,
            "input_channel": self.name(),
        }

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            address = self.addresses.of(request)
            if self.limiter:  # per address first: a flood of bad requests counts too
                refusal = await self.limiter.check(address=address)
                if refusal:
                    return too_many(refusal)
            try:
                fields = self.parse_request(request)
            except BadRequest as refused:
                return error_response(refused.status, str(refused))
            if self.limiter:
                refusal = await self.limiter.check(sender=fields["sender"])
                if refusal:
                    return too_many(refusal)
            # Set by the server, never the client's word (order look-ups are limited by it).
            fields["metadata"] = {**(fields["metadata"] or {}), "client_address": address}

            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(
                        on_new_message,
                        fields["message"],
                        fields["sender"],
                        fields["input_channel"],
                        fields["metadata"],
                    ),
                    content_type="text/event-stream",
                )

            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        fields["message"],
                        collector,
                        fields["sender"],
                        input_channel=fields["input_channel"],
                        metadata=fields["metadata"],
                    )
                )
            except Exception as error:
                if storage_is_down(error):
                    logger.error(
                        "Message from %r not handled: storage unavailable (%s: %s).",
                        fields["sender"],
                        type(error).__name__,
                        error,
                    )
                    return error_response(
                        503,
                        "the conversation could not be stored right now; send it again shortly",
                        **{"Retry-After": "5"},
                    )
                logger.exception("Message from %r not handled.", fields["sender"])
                return error_response(500, "the message could not be handled")
            return response.json(collector.messages)

        return webhook
