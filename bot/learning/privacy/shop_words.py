"""The shop's own product and brand words, from data/store.yml (`product_and_brand_words:`).

Why the store profile: they change with the shop (a homeware shop's products are not a shoe
shop's), and data/store.yml is the one place a shop changes. Read once at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.answers.store_entities import STORE_FILE

SECTION = "product_and_brand_words"


@dataclass(frozen=True)
class ShopWords:
    """Lowercased words that make a capitalised word a product or brand rather than a person."""

    products: frozenset[str]  # goods, materials, colours: "Olivia Cardigan" is a product
    brands_named_after_people: frozenset[str]  # "ted baker"
    brands: frozenset[str]  # one-word brands that are also first names: "zara"


def load_shop_words(store_file: Path = STORE_FILE) -> ShopWords:
    """The `product_and_brand_words:` of a store profile; empty sets where it has none."""
    store = yaml.safe_load(store_file.read_text(encoding="utf-8")) or {}
    section = store.get(SECTION) or {}

    def words(key: str) -> frozenset[str]:
        return frozenset(" ".join(str(w).lower().split()) for w in section.get(key) or ())

    return ShopWords(words("products"), words("brands_named_after_people"), words("brands"))


SHOP_WORDS = load_shop_words()
