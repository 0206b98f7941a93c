"""The regular expressions of the address detector, built from the street words in `words/`.

Kept apart from `addresses.py` (which runs them and checks what they match) because they are
most of its length and change for other reasons: a new street type or country format.
"""

from __future__ import annotations

import re

from .words import alternation, word_list, word_set

UK_AREA_ALT = "|".join(sorted(word_list("uk_postcode_areas"), key=len, reverse=True))
UK_POSTCODE = rf"(?:{UK_AREA_ALT})\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{{2}}"
# Real postcode areas only, in any case ("sw1a 1aa"): few other strings have this shape.
UK_POSTCODE_RE = re.compile(rf"(?<![\w-])(?i:{UK_POSTCODE})(?![\w-])")
EIRCODE_RE = re.compile(r"(?<![\w-])(?:[AC-FHKNPRTV-Y]\d{2}|D6W)\s?[\dAC-FHKNPRTV-Y]{4}(?![\w-])")
PO_BOX_RE = re.compile(r"(?<!\w)(?i:p\.?\s?o\.?\s?box)\s*\d{1,6}(?!\d)")

# Street types after the name ("Baker Street"). Strong ones mark an address in any case;
# weak ones are also plain words ("on the way") and count only when capitalised.
STRONG_TYPES = word_set("street_types_strong")
WEAK_TYPES = word_set("street_types_weak")
TYPE_ALT = "|".join(sorted(STRONG_TYPES | WEAK_TYPES, key=len, reverse=True))
NUMBER_FIRST_RE = re.compile(
    r"(?<![\w£$€#:/.,+-])"
    r"(?P<unit>(?i:flat|apartment|apt|unit|suite|ste|room)\.?\s*(?:no\.?\s*)?#?\s*\d{1,4}[A-Za-z]?"
    r"\s*,?\s+)?"
    r"(?P<num>\d{1,4}[A-Za-z]?(?:\s?-\s?\d{1,4}[A-Za-z]?)?)(?![\d/:.,]\d)"
    r",?\s+(?P<words>(?:[^\W\d_][\w'’.-]{0,30}\s+){1,4}?)"
    rf"(?P<type>(?i:{TYPE_ALT}))(?![\w'’-])\.?"
)
# French/Belgian/Spanish style, number first and street type before the name.
ROMANCE_TYPES = alternation("street_types_romance")
PARTICLES = "(?:" + alternation("street_particles") + ")"
NUMBER_TYPE_FIRST_RE = re.compile(
    r"(?<![\w£$€#:/.,+-])\d{1,4}(?:\s?(?i:bis|ter))?,?\s+"
    rf"(?i:{ROMANCE_TYPES})\s+(?:(?i:{PARTICLES})\s*)*"
    r"[^\W\d_][\w'’.-]{0,30}(?:[ -](?:(?i:" + PARTICLES + r")\s*)*[A-ZÀ-Þ][\w'’.-]{0,30}){0,3}"
)
# Continental, name then number: "Hauptstraße 12", "Via Roma 12", "Calle de Alcalá, 45".
COMPOUND_SUFFIXES = alternation("street_suffixes_compound")
NAME_NUMBER_RE = re.compile(
    r"(?<![\w'’-])(?:"
    rf"(?P<compound>[^\W\d_][\w'’-]{{0,40}}?(?i:{COMPOUND_SUFFIXES}))"
    r"|(?P<multi>(?:[A-ZÀ-Þ][\w'’.-]{0,30}[ -]){1,2}"
    r"(?:Straße|Strasse|Str\.|Weg|Gasse|Allee|Platz|Ring|Damm|Ufer|Chaussee))"
    rf"|(?P<prefix>(?i:{ROMANCE_TYPES}|corso|largo|vicolo|rambla|ronda)\s+"
    rf"(?:{PARTICLES}\s*)*[A-ZÀ-Þ][\w'’.-]{{0,30}}(?:\s+(?:{PARTICLES}\s*)*[A-ZÀ-Þ][\w'’.-]{{0,30}}){{0,2}})"
    r"),?\s+(?P<num>\d{1,4}(?:\s?[a-zA-Z])?)(?![\w'’-]|[.,/:]\d)"
)
ANYCASE_ROMANCE = word_set("street_types_any_case")

# Tails that continue an address: unit, town, postcode, state + ZIP, continental postcode + city.
TAIL_RES = (
    re.compile(
        r"\s*,?\s*(?i:apt|apartment|suite|ste|unit|flat|fl|floor|#)\.?\s*#?\s*\d{1,4}[A-Za-z]?\b"
    ),
    re.compile(rf"\s*,?\s*(?i:{UK_POSTCODE})(?![\w-])"),
    re.compile(r"\s*,?\s*(?:[A-Z]{2}|[A-Z][a-z]+(?: [A-Z][a-z]+)?)\s+\d{5}(?:-\d{4})?(?![\w-])"),
    re.compile(r"\s*,?\s*(?:[A-Z]{1,2}-)?(?:\d{4}\s?[A-Z]{2}|\d{4,5})\s+[A-ZÀ-Þ][\w'’-]{1,30}"),
    re.compile(
        r"\s*,\s*(?P<town>[A-ZÀ-Þ][\w'’.-]{1,30}(?:[ -][A-ZÀ-Þ][\w'’.-]{1,30}){0,2})"
        r"(?:\s\d{1,2}(?![\w.,:/]))?"
    ),
)
TOWN_BEFORE_POSTCODE_RE = re.compile(
    r"(?:(?:[A-ZÀ-Þ][\w'’.-]{0,30}\s+){1,3}" + rf"(?i:{TYPE_ALT})\.?,\s*)?"
    r"[A-ZÀ-Þ][\w'’.-]{1,30}(?:[ -][A-ZÀ-Þ][\w'’.-]{1,30})?,?\s+\Z"
)
