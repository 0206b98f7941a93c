"""Masking: every detector's spans, resolved by priority, replaced by typed placeholders."""

from __future__ import annotations

from dataclasses import dataclass

from .addresses import find_addresses
from .cards import find_cards
from .emails import find_emails
from .names import find_names
from .order_numbers import hide_order_numbers
from .phones import find_phones
from .spans import Span, merge

PLACEHOLDERS = {
    "EMAIL": "<EMAIL>",
    "PHONE": "<PHONE>",
    "CARD": "<CARD_NUMBER>",
    "ADDRESS": "<ADDRESS>",
    "NAME": "<NAME>",
}

# When two kinds claim the same characters the more certain detector wins.
_PRIORITY = {"EMAIL": 0, "CARD": 1, "PHONE": 2, "ADDRESS": 3, "NAME": 4}


@dataclass(frozen=True)
class Redaction:
    """One piece of personal data: where it is in the original text, and what kind it is."""

    start: int
    end: int
    kind: str
    original: str


@dataclass(frozen=True)
class MaskedText:
    """The masked text plus what was taken out, with positions in the original text."""

    text: str
    redactions: tuple[Redaction, ...]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end


def find_personal_data(text: str) -> list[Redaction]:
    """Personal data in `text`: non-overlapping, sorted by position.

    Each detector proposes spans; a more certain kind (email > card > phone > address > name)
    keeps its characters and a weaker overlapping span keeps only what is left of it.
    """
    if not text or text.isspace():
        return []
    shadow = hide_order_numbers(text)
    candidates = {
        "EMAIL": find_emails(text),
        "CARD": find_cards(text),
        "PHONE": find_phones(shadow),
        "ADDRESS": find_addresses(text),
        "NAME": find_names(text),
    }
    taken: list[Span] = []
    found: list[Redaction] = []
    for kind in sorted(candidates, key=_PRIORITY.__getitem__):
        for start, end in merge(candidates[kind]):
            for piece_start, piece_end in _subtract(start, end, taken):
                piece_start, piece_end = _trim(text, piece_start, piece_end)
                if piece_end - piece_start >= 2:
                    found.append(
                        Redaction(piece_start, piece_end, kind, text[piece_start:piece_end])
                    )
        taken = merge(taken + [(r.start, r.end) for r in found])
    return sorted(found, key=lambda r: r.start)


def _subtract(start: int, end: int, taken: list[Span]) -> list[Span]:
    pieces = [(start, end)]
    for t_start, t_end in taken:
        nxt = []
        for p_start, p_end in pieces:
            if t_end <= p_start or p_end <= t_start:
                nxt.append((p_start, p_end))
                continue
            if p_start < t_start:
                nxt.append((p_start, t_start))
            if t_end < p_end:
                nxt.append((t_end, p_end))
        pieces = nxt
    return pieces


def mask_personal_data(text: str) -> MaskedText:
    """`text` with each piece of personal data replaced by its typed placeholder."""
    redactions = tuple(find_personal_data(text))
    parts = []
    last = 0
    for r in redactions:
        parts.append(text[last : r.start])
        parts.append(PLACEHOLDERS[r.kind])
        last = r.end
    parts.append(text[last:])
    return MaskedText("".join(parts), redactions)


def map_span(masked: MaskedText, start: int, end: int) -> tuple[int, int] | None:
    """Where the original span [start, end) is in the masked text; None if it was masked.

    Why: entity annotations (order numbers) in exported NLU data point into the original
    message and must be moved by the length changes of the placeholders before them.
    """
    if start < 0 or end < start:
        raise ValueError(f"not a span: ({start}, {end})")
    shift = 0
    for r in masked.redactions:
        if start == end:
            if r.start < start < r.end:
                return None
        elif r.start < end and start < r.end:
            return None
        if r.end <= start:
            shift += len(PLACEHOLDERS[r.kind]) - (r.end - r.start)
    return start + shift, end + shift
