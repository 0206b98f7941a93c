"""Turns questions into BM25 terms: one function for documents and queries alike."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Words that carry the topic in a shop's support questions even though generic lists drop
# them ("not delivered" vs "delivered", "no tags"...).
_KEEP = {"not", "no", "nothing", "never", "without", "back", "off", "out", "over", "down"}
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS - _KEEP) | {
    "hi",
    "hello",
    "hey",
    "pls",
    "please",
    "thanks",
}

# Letters and digits of any script; apostrophes inside words are dropped ("don't" -> "dont").
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def tokenize(text: str) -> list[str]:
    """Lower-case, split into words, drop stop words, stem (Snowball English)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    terms = []
    for match in _WORD.finditer(text):
        word = match.group().replace("'", "").replace("’", "")
        if word in STOP_WORDS:
            continue
        terms.append(_stem(word))
    return terms
