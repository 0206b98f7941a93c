"""Payment card numbers: Luhn checksum plus issuer prefix and grouping checks, no library."""

from __future__ import annotations

import re

from .spans import Span

_CARD_RE = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?!\w)")
_CARD_GROUPINGS = {(4, 6, 5), (4, 6, 4)}


def luhn_ok(digits: str) -> bool:
    """Whether `digits` pass the Luhn checksum every card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def find_cards(text: str) -> list[Span]:
    """Card numbers: 13-19 digits, a card issuer's first digit, grouped as cards print them.

    Why the grouping check: three order numbers in a row can pass the checksum by chance.
    """
    spans = []
    for m in _CARD_RE.finditer(text):
        raw = m.group()
        groups = tuple(len(g) for g in re.split(r"[ -]", raw))
        digits = raw.replace(" ", "").replace("-", "")
        if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
            continue
        four_groups = all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4
        if len(groups) > 1 and not four_groups and groups not in _CARD_GROUPINGS:
            continue  # e.g. three order numbers in a row
        if luhn_ok(digits):
            spans.append(m.span())
    return spans
