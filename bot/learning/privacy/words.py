"""The detectors' word lists, read once at import from the text files in `words/`.

Why files: the lists are data a maintainer edits (a street type, a word that is also a name),
and in the code they were a quarter of the masker. The shop's own product and brand words are
not here but in data/store.yml (`shop_words.py`).

A file holds words separated by spaces or line breaks, or, for the cue files, one phrase a
line; a line starting with "#" is a comment.
"""

from __future__ import annotations

import re
from pathlib import Path

WORDS_DIR = Path(__file__).resolve().parent / "words"


def _lines(name: str) -> list[str]:
    text = (WORDS_DIR / f"{name}.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def word_list(name: str) -> tuple[str, ...]:
    """The words of `words/<name>.txt` in file order (order matters in a regex alternation)."""
    return tuple(word for line in _lines(name) for word in line.split())


def word_set(name: str) -> frozenset[str]:
    """The words of `words/<name>.txt`."""
    return frozenset(word_list(name))


def phrases(name: str) -> tuple[tuple[str, ...], ...]:
    """The phrases of `words/<name>.txt`, one a line, each as its words."""
    return tuple(tuple(line.split()) for line in _lines(name))


def alternation(name: str) -> str:
    """The words of `words/<name>.txt` as a regex alternation, in file order."""
    return "|".join(re.escape(word) for word in word_list(name))


# Used by more than one detector.
STOPWORDS = word_set("stopwords")
UNITS = word_set("units")
