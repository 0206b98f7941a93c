"""Signed order tokens: the shop vouches that the customer in the chat owns an order.

A shop whose customer is logged in knows which orders are theirs. Its own server mints a
token for one order and the web chat sends it in the message metadata (`order_token`); the
bot then answers about that order without asking for the order's e-mail address:

    <order number>.<expiry, unix seconds>.<hex HMAC-SHA256 of "<order number>.<expiry>">

keyed with `SHOPDESK_ORDER_TOKEN_SECRET`, which only the shop's server and the action server
know. A token is accepted only for its own order, before its expiry, with a valid signature,
and only while the secret is set: without it no token is ever accepted (and none is minted).
`shopdesk orders token <number> [--ttl SECONDS]` mints one, for documentation and tests;
in Python (what a shop's server does):

    expiry = int(time.time()) + 3600
    signature = hmac.new(secret, f"{number}.{expiry}".encode(), hashlib.sha256).hexdigest()
    token = f"{number}.{expiry}.{signature}"
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time

SECRET_VARIABLE = "SHOPDESK_ORDER_TOKEN_SECRET"
METADATA_KEY = "order_token"
DEFAULT_TTL_SECONDS = 3600
# An order number (no dots, so the token splits unambiguously), an expiry and a SHA-256 hex.
TOKEN_PATTERN = re.compile(r"([A-Za-z0-9_-]{1,64})\.([0-9]{1,12})\.([0-9a-f]{64})")


class OrderTokenError(ValueError):
    """A token cannot be minted (no secret, or an order number a token cannot carry)."""


def token_secret() -> bytes | None:
    """The shared secret from the environment; None when unset or blank."""
    secret = (os.environ.get(SECRET_VARIABLE) or "").strip()
    return secret.encode() if secret else None


def _signature(secret: bytes, number: str, expiry: int) -> str:
    return hmac.new(secret, f"{number}.{expiry}".encode(), hashlib.sha256).hexdigest()


def mint(
    number: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    secret: bytes | None = None,
    now: float | None = None,
) -> str:
    """A token for order `number`, valid `ttl_seconds` from `now`."""
    secret = secret if secret is not None else token_secret()
    if not secret:
        raise OrderTokenError(f"{SECRET_VARIABLE} is not set: no order token can be minted")
    if ttl_seconds <= 0:
        raise OrderTokenError("the token's lifetime must be a positive number of seconds")
    expiry = int(time.time() if now is None else now) + int(ttl_seconds)
    token = f"{number}.{expiry}.{_signature(secret, number, expiry)}"
    if not TOKEN_PATTERN.fullmatch(token):
        raise OrderTokenError(f"{number!r} cannot be carried by a token (letters, digits, - _)")
    return token


def vouches_for(
    token: object, number: object, secret: bytes | None = None, now: float | None = None
) -> bool:
    """True only for a well-formed, unexpired token for order `number` signed with the secret.

    Anything else (no secret, not a string, another order's token, expired, tampered) is
    False: the caller then asks the customer instead.
    """
    secret = secret if secret is not None else token_secret()
    if not secret or not isinstance(token, str) or not isinstance(number, str):
        return False
    match = TOKEN_PATTERN.fullmatch(token)
    if match is None:
        return False
    token_number, expiry, signature = match.groups()
    if not hmac.compare_digest(token_number.encode(), number.encode()):
        return False
    if int(expiry) <= (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature, _signature(secret, token_number, int(expiry)))
