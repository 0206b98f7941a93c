"""Message rate limits for the customer channels, per client address and per sender.

Each channel takes a `rate_limit` block in credentials.yml; what it leaves out comes from
`DEFAULT_RATE_LIMITS`, the one place the defaults live:

    rate_limit:
      per_address: 60/minute       # messages from one client address (REST, web chat)
      per_sender: 10/10seconds     # messages into one conversation (every channel)
      exempt_addresses: [127.0.0.1, "::1"]   # never counted per address
      storage: memory://           # default: Redis in production, else this process

A rate is what the `limits` library parses ("30/minute", "10 per 10 seconds", several joined
with ";"); `off` (or null) turns that limit off. Windows are moving windows: at most N
messages in any span of that length. Over a limit, the message is refused before Rasa sees
it; the caller is told how many whole seconds to wait (never too few).

The client address is the socket's peer, or, from a proxy in SHOPDESK_TRUSTED_PROXIES, the
address it forwards (bot/runtime/proxies.py). This machine's own addresses are exempt by default:
tools and tests run there, and a reverse proxy on the same machine that is not declared
trusted would otherwise put every customer under one counter (set SHOPDESK_TRUSTED_PROXIES;
a warning is logged once when such a proxy forwards an address that is ignored).

Counters live in Redis when SHOPDESK_REDIS_HOST is set (production: the lock store's Redis,
shared by every Rasa worker), else in the process's memory (one count per worker). When the
store cannot be reached, messages pass (the lock store on the same Redis then answers 503).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sanic import Request

from bot.runtime.proxies import (
    TRUSTED_PROXIES,
    Network,
    client_address,
    in_networks,
    trusted_proxies,
)

logger = logging.getLogger(__name__)

DEFAULT_RATE_LIMITS: dict[str, Any] = {
    "per_address": "60/minute",
    "per_sender": "10/10seconds",
    "exempt_addresses": ["127.0.0.1", "::1"],
    "storage": None,  # Redis when SHOPDESK_REDIS_HOST is set, else memory://
}
OFF = ("off", "none", "")
MEMORY = "memory://"


class RateLimitConfigError(ValueError):
    """A `rate_limit` block in credentials.yml that cannot be read; the server does not start."""


@dataclass(frozen=True)
class Refusal:
    """A message over a limit: which limit, and how many seconds until one would pass."""

    scope: str  # "address" or "sender"
    retry_after: int

    def reason(self) -> str:
        whose = "from your address" if self.scope == "address" else "in this conversation"
        return f"too many messages {whose}; wait {self.retry_after} seconds, then send it again"


@dataclass(frozen=True)
class RateLimits:
    per_address: tuple[RateLimitItem, ...]
    per_sender: tuple[RateLimitItem, ...]
    exempt_addresses: tuple[Network, ...]
    storage: str

    @classmethod
    def from_credentials(
        cls, channel: str, given: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
    ) -> RateLimits:
        """The channel's `rate_limit` block over the defaults; a mistake names the key."""
        if given is None:
            given = {}
        if not isinstance(given, Mapping):
            raise RateLimitConfigError(f"{channel}: `rate_limit` must be a mapping of settings")
        unknown = sorted(set(given) - set(DEFAULT_RATE_LIMITS))
        if unknown:
            raise RateLimitConfigError(
                f"{channel}: unknown `rate_limit` settings {unknown}; known: "
                f"{sorted(DEFAULT_RATE_LIMITS)}"
            )
        settings = {**DEFAULT_RATE_LIMITS, **given}
        return cls(
            per_address=_rates(channel, "per_address", settings["per_address"]),
            per_sender=_rates(channel, "per_sender", settings["per_sender"]),
            exempt_addresses=_networks(channel, settings["exempt_addresses"]),
            storage=settings["storage"] or default_storage(environ),
        )


def _rates(channel: str, key: str, value: Any) -> tuple[RateLimitItem, ...]:
    if value is None or value is False or (isinstance(value, str) and value.lower() in OFF):
        return ()
    try:
        return tuple(parse_many(str(value)))
    except ValueError:
        raise RateLimitConfigError(
            f"{channel}: `rate_limit.{key}` {value!r} is not a rate like '30/minute' or "
            "'10/10seconds' (or 'off')"
        ) from None


def _networks(channel: str, value: Any) -> tuple[Network, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise RateLimitConfigError(f"{channel}: `rate_limit.exempt_addresses` must be a list")
    try:
        return tuple(ipaddress.ip_network(str(item), strict=False) for item in value)
    except ValueError as error:
        raise RateLimitConfigError(f"{channel}: `rate_limit.exempt_addresses`: {error}") from None


def default_storage(environ: Mapping[str, str] | None = None) -> str:
    """Production's Redis (the lock store's, SHOPDESK_REDIS_*) when configured, else memory."""
    from bot.runtime.production import DEFAULTS

    environ = os.environ if environ is None else environ
    host = environ.get("SHOPDESK_REDIS_HOST")
    if not host:
        return MEMORY
    port = environ.get("SHOPDESK_REDIS_PORT") or DEFAULTS["SHOPDESK_REDIS_PORT"]
    db = environ.get("SHOPDESK_REDIS_DB") or DEFAULTS["SHOPDESK_REDIS_DB"]
    password = environ.get("SHOPDESK_REDIS_PASSWORD")
    credentials = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{credentials}{host}:{port}/{db}"


@cache
def _storage(uri: str) -> Storage:
    """One store per URI and process, shared by the channels (keys name the channel)."""
    return storage_from_string(uri)


class ChannelLimiter:
    """Counts a channel's messages and says when one is over a limit."""

    def __init__(self, channel: str, limits: RateLimits) -> None:
        self.channel = channel
        self.limits = limits
        self._storage = _storage(limits.storage)  # the strategy keeps only a weak reference
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._in_memory = limits.storage.startswith(MEMORY)

    async def check(self, address: str | None = None, sender: str | None = None) -> Refusal | None:
        """Count one message from `address` into `sender`'s conversation (either may be None;
        exempt addresses are not counted); a Refusal when it is over a limit."""
        if self._in_memory:
            return self._check(address, sender)
        return await asyncio.to_thread(self._check, address, sender)  # a network round trip

    def _check(self, address: str | None, sender: str | None) -> Refusal | None:
        try:
            if address is not None and not in_networks(address, self.limits.exempt_addresses):
                refused = self._hit("address", address, self.limits.per_address)
                if refused:
                    return refused
            if sender is not None:
                return self._hit("sender", sender, self.limits.per_sender)
        except Exception as error:  # the store is down: let the message through
            logger.error(
                "%s rate limits not checked (%s: %s); message let through.",
                self.channel,
                type(error).__name__,
                error,
            )
        return None

    def _hit(self, scope: str, who: str, items: tuple[RateLimitItem, ...]) -> Refusal | None:
        identifiers = ("shopdesk", self.channel, scope, who)
        over = [item for item in items if not self._strategy.hit(item, *identifiers)]
        if not over:
            return None
        now = time.time()
        waits = []
        for item in over:
            reset, _remaining = self._strategy.get_window_stats(item, *identifiers)
            # The store keeps whole seconds: one more, so that a retry is never too early.
            waits.append(max(1, int(reset - now) + 1))
        logger.info("%s: a message %s %s over its rate limit.", self.channel, scope, who)
        return Refusal(scope, max(waits))


class ClientAddresses:
    """The client address of a request, with the trusted proxies read once at start."""

    def __init__(self, trusted: Sequence[Network] | None = None) -> None:
        self.trusted = tuple(trusted_proxies() if trusted is None else trusted)
        self._warned = False

    def of(self, request: Request) -> str:
        address = client_address(request, self.trusted)
        if (
            not self._warned
            and address == request.ip
            and request.headers.get("x-forwarded-for")
            and not in_networks(address, self.trusted)
        ):
            self._warned = True
            logger.warning(
                "X-Forwarded-For from %s ignored: it is not in %s. If it is your reverse proxy, "
                "add it there, or every customer behind it counts as one address.",
                address,
                TRUSTED_PROXIES,
            )
        return address
