"""The name detector's word lists and cues, from `words/` and the shop's words in data/store.yml."""

from __future__ import annotations

from .shop_words import SHOP_WORDS
from .words import phrases, word_set

# Words that are also first names ("will", "may", "rose"): they need a strong cue.
AMBIGUOUS_WORDS = word_set("ambiguous_names")
# Never a person after "this is" or "it's": months, seasons, places, brands and companies.
NOT_PERSON = word_set("not_names") | SHOP_WORDS.brands
AMBIGUOUS = AMBIGUOUS_WORDS | NOT_PERSON

# Product and store words: "the Emma Dress", "Chelsea Boots" are products, not people.
GOODS = SHOP_WORDS.products
STREET_WORDS = word_set("street_words")
# Brands and product lines named after people.
NAME_BRANDS = SHOP_WORDS.brands_named_after_people

TITLES = word_set("titles")
SURNAME_PARTICLES = word_set("surname_particles")
DETERMINERS = word_set("determiners")

# Cues, as lowercased word sequences. Apostrophes are normalised to "'".
STRONG_CUES = phrases("cues_strong")
LABEL_CUES = phrases("cues_label")
WEAK_CUES = phrases("cues_weak")
INTRODUCTIONS = set(phrases("cues_introduction"))
GREETINGS = phrases("cues_greeting")
SIGN_OFFS = phrases("cues_sign_off")
CUE_STARTS = frozenset(
    cue[0] for cue in STRONG_CUES + LABEL_CUES + WEAK_CUES + GREETINGS + SIGN_OFFS
)
