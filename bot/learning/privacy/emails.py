"""E-mail addresses, by a regular expression."""

from __future__ import annotations

import re

from .spans import Span

# Bounded quantifiers keep the search linear on long texts without an "@".
_EMAIL_RE = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w!#$%&'*+/=?^`{|}~-]{1,64}(?:\.[\w!#$%&'*+/=?^`{|}~-]{1,64}){0,8}"
    r"@(?:[^\W_][\w-]{0,62}\.){1,8}[^\W\d_]{2,24}(?![\w-])"
)


def find_emails(text: str) -> list[Span]:
    """Every e-mail address in `text`."""
    if "@" not in text:
        return []
    return [m.span() for m in _EMAIL_RE.finditer(text)]
