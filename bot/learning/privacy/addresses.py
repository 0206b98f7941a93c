"""Street addresses, by regular expressions (`address_patterns.py`) and checks on what they match.

Rejected: ``pyap`` 0.3.1 (last release 2019) and its fork ``pyap2`` (same ``pyap`` import name,
so the two clash) only find complete US/GB/CA addresses with town and postcode; they miss
"12 Baker Street", "Flat 3, 45 High Road" and continental forms, and take ~0.7 s on a
20,000-character text. ``usaddress`` parses an address already cut out of the text and does
not find one. House numbers have at most four digits, so six-digit order numbers never start
an address.
"""

from __future__ import annotations

import re

from .address_patterns import (
    ANYCASE_ROMANCE,
    EIRCODE_RE,
    NAME_NUMBER_RE,
    NUMBER_FIRST_RE,
    NUMBER_TYPE_FIRST_RE,
    PO_BOX_RE,
    TAIL_RES,
    TOWN_BEFORE_POSTCODE_RE,
    UK_POSTCODE_RE,
    WEAK_TYPES,
)
from .shop_words import SHOP_WORDS
from .spans import Span
from .words import STOPWORDS, UNITS, word_set

# Words before a number that make it a size, quantity or reference rather than a house number.
_NOT_HOUSE_NUMBER_BEFORE = word_set("not_house_number_before")
_GOODS = SHOP_WORDS.products


def find_addresses(text: str) -> list[Span]:
    """Street addresses, PO boxes, UK postcodes and Eircodes, with the town and postcode after."""
    has_digit = any(ch.isdigit() for ch in text)
    spans: list[Span] = []
    if has_digit:
        for m in NUMBER_FIRST_RE.finditer(text):
            if _house_number_ok(text, m) and _street_words_ok(m.group("words"), m.group("type")):
                spans.append((m.start(), _extend_tail(text, m.end())))
        for m in NUMBER_TYPE_FIRST_RE.finditer(text):
            if _previous_word(text, m.start()) not in _NOT_HOUSE_NUMBER_BEFORE:
                spans.append((m.start(), _extend_tail(text, m.end())))
        for m in NAME_NUMBER_RE.finditer(text):
            if _name_number_ok(m):
                spans.append((m.start(), _extend_tail(text, m.end())))
        for m in PO_BOX_RE.finditer(text):
            spans.append((m.start(), _extend_tail(text, m.end())))
        for m in UK_POSTCODE_RE.finditer(text):
            spans.append((_extend_town_before(text, m.start()), m.end()))
        for m in EIRCODE_RE.finditer(text):
            if any(ch.isalpha() for ch in m.group()[3:]):
                spans.append(m.span())
    return spans


def _previous_word(text: str, pos: int) -> str:
    m = re.search(r"([^\W\d_]+)[\s:#.]*\Z", text[max(0, pos - 20) : pos])
    return m.group(1).lower() if m else ""


def _house_number_ok(text: str, m: re.Match[str]) -> bool:
    if m.group("unit"):
        return True
    return _previous_word(text, m.start()) not in _NOT_HOUSE_NUMBER_BEFORE


def _street_words_ok(words: str, street_type: str) -> bool:
    """Why: "3 days on the way" and "2 pairs of road shoes" are not addresses."""
    tokens = words.split()
    kind = street_type.lower().rstrip(".")
    capitalised = all(t[0].isupper() or t.lower() in ("de", "la", "of") for t in tokens)
    if kind in WEAK_TYPES and not (street_type[0].isupper() and capitalised):
        return False
    for t in tokens:
        low = t.lower().strip(".'’")
        if low in STOPWORDS and low not in ("the", "old", "new", "st", "upper", "lower"):
            return False
        if low in _GOODS or low in UNITS:
            return False
    return True


def _name_number_ok(m: re.Match[str]) -> bool:
    name = m.group("compound") or m.group("multi") or m.group("prefix")
    first = name.split()[0].lower()
    if m.group("prefix"):
        return name[0].isupper() or first in ANYCASE_ROMANCE
    if m.group("compound"):
        low = name.lower()
        if low.endswith(("straße", "strasse", "str.", "straat")):
            return len(name) > 6
        return name[0].isupper() and len(name) > 5
    return True


def _extend_tail(text: str, end: int) -> int:
    for _ in range(6):
        for tail in TAIL_RES:
            m = tail.match(text, end)
            if not m:
                continue
            town = m.groupdict().get("town")
            if town and all(w.lower() in STOPWORDS for w in town.split()[:2]):
                continue  # ", Thanks" or ", Please" is not a town
            end = m.end()
            break
        else:
            break
    return end


def _extend_town_before(text: str, start: int) -> int:
    window_start = max(0, start - 80)
    m = TOWN_BEFORE_POSTCODE_RE.search(text, window_start, start)
    if not m:
        return start
    first = m.group().split()[0].strip(",").lower()
    if first in STOPWORDS:
        return start
    return m.start()
