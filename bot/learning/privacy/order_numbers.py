"""Six-digit order numbers, blanked out before the phone matcher reads the text."""

from __future__ import annotations

import re

_SIX_DIGITS_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")
# What comes before the last group of a phone number: "+44 20 ", "07700 ", "(030) ", "347 ".
_PHONE_HEAD_RE = re.compile(
    r"(?:\+[\d ()]{1,8}|(?<!\d)\(?0\d{0,5}\)?|(?<!\d)3\d\d)[ \-./\u00a0]{0,3}\Z"
)


def hide_order_numbers(text: str) -> str:
    """The text with stand-alone six-digit numbers blanked out, positions unchanged.

    Why: the phone matcher would otherwise read "order 482913 07700 900123" as one invalid
    number and miss the phone, or glue two order numbers into something phone-like.
    """
    if not any(ch.isdigit() for ch in text):
        return text
    parts = []
    last = 0
    for m in _SIX_DIGITS_RE.finditer(text):
        if _PHONE_HEAD_RE.search(text, max(0, m.start() - 16), m.start()):
            continue  # the last group of a phone number ("07700 900123")
        parts.append(text[last : m.start()])
        parts.append("_" * 6)
        last = m.end()
    parts.append(text[last:])
    return "".join(parts)
