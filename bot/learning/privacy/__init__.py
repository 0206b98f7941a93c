"""Find and mask personal data in customer messages before they become training data.

Logged conversations are exported as Rasa NLU YAML, transcript JSONL and test stories; a
customer's e-mail, phone, card number, street address or name must never end up there. Each is
replaced by a typed placeholder (``<EMAIL>``, ``<PHONE>``, ...) so the NLU still learns where
such values occur, and ``map_span`` moves annotated entities (order numbers) to the masked text.

One module per detector (`emails`, `phones`, `cards`, `addresses`, `names`), put together by
`masking`. Their word lists are text files in `words/`, read once at import; the shop's own
product and brand words come from data/store.yml (`shop_words`). Six-digit order numbers
("482913", "order #604731") are never masked: they are hidden from the phone matcher
(`order_numbers`), a card number needs a card-like grouping and a valid checksum, and house
numbers have at most four digits. How well it does: bench/privacy_benchmark.py.
"""

from .masking import (
    PLACEHOLDERS,
    MaskedText,
    Redaction,
    find_personal_data,
    map_span,
    mask_personal_data,
)
from .phones import PHONE_REGIONS

__all__ = [
    "PHONE_REGIONS",
    "PLACEHOLDERS",
    "MaskedText",
    "Redaction",
    "find_personal_data",
    "map_span",
    "mask_personal_data",
]
