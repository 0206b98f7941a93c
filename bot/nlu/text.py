"""The one form in which two customer messages count as the same: case-folded, whitespace
collapsed. Export compares training examples in it, the review app's index searches in it."""

from __future__ import annotations


def normalise(text: str) -> str:
    """`text` case-folded, with runs of whitespace as single spaces and none at the ends."""
    return " ".join(text.casefold().split())
