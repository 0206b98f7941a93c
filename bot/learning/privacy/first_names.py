"""First names from Faker's per-locale name lists, read on the first call that needs them.

Why Faker (MIT, maintained): offline, and the countries the store serves give the "common"
names, all of its locales the "known" ones. ``gender-guesser`` has a larger gazetteer but is
GPLv3, which an Apache-2.0 project cannot ship.
"""

from __future__ import annotations

import pkgutil
from functools import lru_cache
from importlib import import_module

from .name_words import AMBIGUOUS
from .words import STOPWORDS

# Faker locales of the countries the store serves ("common" names), and of everyone else.
SERVED_LOCALES = (
    "en_GB", "en_IE", "en_US", "it_IT", "es_ES", "fr_FR", "fr_BE", "nl_BE", "nl_NL", "de_DE",
    "de_AT",
)  # fmt: skip


def _locale_first_names(locale: str) -> set[str]:
    try:
        provider = import_module(f"faker.providers.person.{locale}").Provider
    except (ImportError, AttributeError):
        return set()
    names: set[str] = set()
    for attribute in ("first_names", "first_names_male", "first_names_female"):
        values = getattr(provider, attribute, ())
        if isinstance(values, (tuple, list, dict)):  # some locales compute theirs
            names |= {str(name).lower() for name in values}
    return {name for name in names if len(name) >= 2 and name.replace("-", "").isalpha()}


@lru_cache(maxsize=1)
def first_names() -> tuple[frozenset[str], frozenset[str]]:
    """(common, known) lowercased first names from Faker's per-locale name lists.

    Common: a first name in a country the store serves; enough on its own before a surname.
    Known: a first name in any of Faker's locales; used only after a cue such as "I'm".
    """
    import faker.providers.person as person

    common: set[str] = set()
    for locale in SERVED_LOCALES:
        common |= _locale_first_names(locale)
    known = set(common)
    for module in pkgutil.iter_modules(person.__path__):
        known |= _locale_first_names(module.name)
    # "ship to Ireland", "from Jordan": a country is a destination before it is a name.
    from faker.providers.address.en_US import Provider as Addresses

    countries = {country.lower() for country in Addresses.countries}
    common -= AMBIGUOUS | STOPWORDS | countries
    known -= STOPWORDS | countries
    return frozenset(common), frozenset(known)
