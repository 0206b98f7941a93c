"""Which sender ids (conversation ids) the channels accept: one rule for every channel.

A sender id ends up in three places that each constrain it:

- **the review app and logs**: control and Unicode format characters (categories Cc and Cf:
  CR, LF, tab, NUL, the bidi overrides and isolates U+202A-202E and U+2066-2069, zero-width
  spaces and joiners) forge log lines and turn the staff's pages around a spoofed name;
- **Rasa's HTTP API**: staff pause and release a conversation through
  `/conversations/<conversation_id>/tracker/events`. Rasa 3.6 routes that as a Sanic path
  parameter (`<conversation_id:path>`) and Sanic 21.12 never unquotes it, so an id only
  reaches its own conversation when every HTTP client sends it unchanged: `%` would be read
  as an escape by the client, `?` and `#` end the path, `/` splits it into segments (and a
  percent-encoded `%2F` arrives as the three characters `%2F`), spaces and non-ASCII letters
  are always percent-encoded, and `.` or `..` alone are removed as dot segments. What stays
  is RFC 3986's *unreserved* set, which no encoder touches (`urllib.parse.quote(id,
  safe="")` is the identity on it): ASCII letters, digits, `-`, `.`, `_` and `~`;
- **the tracker store**: Rasa's `events.sender_id` is VARCHAR(255).

Messenger's page-scoped ids and Telegram's chat ids are digits, the web chat's are issued by
the server (`<hex>.<base64url signature>`): only REST clients choose their own.
"""

from __future__ import annotations

import re
import unicodedata

MAX_SENDER_CHARS = 255
ALLOWED_SENDER = re.compile(r"[A-Za-z0-9._~-]+")
ALLOWED_DESCRIPTION = "ASCII letters, digits, '-', '.', '_' and '~'"
INVISIBLE_CATEGORIES = ("Cc", "Cf")
DOT_SEGMENTS = (".", "..")


def sender_id_problem(sender: object) -> str | None:
    """Why `sender` cannot be a conversation id, or None when it can (said to REST clients,
    logged for the other channels)."""
    if not isinstance(sender, str) or not sender.strip():
        return "`sender` (the conversation id) must be a non-empty string"
    if len(sender) > MAX_SENDER_CHARS:
        return f"`sender` is longer than {MAX_SENDER_CHARS} characters"
    if any(unicodedata.category(character) in INVISIBLE_CATEGORIES for character in sender):
        return (
            "`sender` contains control or format characters (line breaks, tabs, bidi "
            "overrides, zero-width characters)"
        )
    if not ALLOWED_SENDER.fullmatch(sender) or sender in DOT_SEGMENTS:
        return (
            f"`sender` may only contain {ALLOWED_DESCRIPTION} (Rasa's HTTP API must be able "
            "to address the conversation in a URL path), and may not be '.' or '..'"
        )
    return None
