"""Facts a question names, as customers name them, and what the shop's profile says of them.

`data/store.yml` is the one place a shop changes: which countries each shipping zone covers
(`shipping_zones`, ISO codes) and which payment methods it accepts. From it and Babel's English
country names this module makes the lookup tables Rasa's RegexEntityExtractor matches
(`data/nlu/lookups.yml`: `python -m bot.answers.store_entities`, checked by a test), and turns an
extracted value back into facts an answer template can use: "Canada" -> not shipped to;
"amex" -> American Express, accepted; "wore it" -> the return case `worn`; "snapped" -> the
item problem `faulty`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.settings import DATA_DIR

LOOKUPS_FILE = DATA_DIR / "nlu" / "lookups.yml"
STORE_FILE = DATA_DIR / "store.yml"

# Other names customers use. "US" is left out: "us" is a word.
COUNTRY_ALIASES = {
    "GB": [
        "UK",
        "U.K.",
        "Britain",
        "Great Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
    ],
    "US": ["USA", "U.S.", "U.S.A.", "America", "the States", "United States of America"],
    "NL": ["Holland", "the Netherlands"],
    "CZ": ["Czech Republic"],
    "DE": ["Deutschland"],
    "CH": ["Swiss"],
    "AE": ["UAE", "Dubai"],
    "KR": ["Korea"],
    "TR": ["Turkey"],
}
# Cities and regions customers name instead of their country ("I live in Toronto"): the big
# ones of the countries a European shop hears from most. Not exhaustive; add a shop's own.
PLACE_COUNTRIES = {
    "DE": ["Berlin", "Hamburg", "Munich", "München", "Cologne", "Köln", "Frankfurt", "Stuttgart",
           "Düsseldorf", "Leipzig", "Dresden", "Bremen", "Hanover", "Nuremberg", "Bavaria"],
    "NL": ["Amsterdam", "Rotterdam", "The Hague", "Utrecht", "Eindhoven", "Groningen"],
    "BE": ["Brussels", "Antwerp", "Ghent", "Bruges", "Liège"],
    "AT": ["Vienna", "Wien", "Salzburg", "Graz", "Innsbruck", "Linz"],
    "FR": ["Paris", "Lyon", "Marseille", "Toulouse", "Bordeaux", "Lille", "Nantes"],
    "ES": ["Madrid", "Barcelona", "Valencia", "Seville", "Malaga", "Bilbao", "Mallorca"],
    "IT": ["Rome", "Milan", "Naples", "Turin", "Florence", "Venice", "Bologna", "Sicily"],
    "PT": ["Lisbon", "Porto"], "IE": ["Dublin", "Galway"],
    "DK": ["Copenhagen"], "SE": ["Stockholm", "Gothenburg"], "FI": ["Helsinki"],
    "PL": ["Warsaw", "Krakow", "Kraków"], "CZ": ["Prague"], "HU": ["Budapest"], "GR": ["Athens"],
    "GB": ["London", "Manchester", "Liverpool", "Birmingham", "Leeds", "Glasgow", "Edinburgh",
           "Bristol", "Cardiff", "Belfast"],
    "US": ["New York", "NYC", "California", "Texas", "Florida", "Los Angeles", "Chicago",
           "San Francisco", "Seattle", "Boston", "Miami"],
    "CA": ["Toronto", "Vancouver", "Montreal", "Ottawa", "Calgary", "Quebec"],
    "AU": ["Sydney", "Melbourne"], "CH": ["Zurich", "Zürich", "Geneva", "Basel", "Bern"],
    "NO": ["Oslo"], "TR": ["Istanbul", "Ankara"], "AE": ["Abu Dhabi"], "JP": ["Tokyo"],
}  # fmt: skip
# Country names that are also ordinary words in a clothes shop ("a jersey dress") or names.
AMBIGUOUS_COUNTRIES = {"JE", "TD", "JO", "GE"}
# Payment methods customers ask about that a shop may or may not take ("Affirm" and
# "invoice" are left out: "/affirm" is a button, an invoice a document).
KNOWN_PAYMENT_METHODS = [
    "Maestro", "Diners Club", "Discover", "JCB", "UnionPay", "Bancontact", "Sofort",
    "Giropay", "EPS", "Przelewy24", "BLIK", "Twint", "MobilePay", "Swish", "Vipps",
    "Alipay", "WeChat Pay", "Venmo", "Zelle", "Cash App", "Revolut Pay", "Amazon Pay",
    "Samsung Pay", "Afterpay", "Clearpay", "Bitcoin", "crypto", "cash on delivery",
    "cash", "cheque", "bank transfer", "SEPA direct debit", "Western Union",
]  # fmt: skip
PAYMENT_ALIASES = {
    "American Express": ["Amex"],
    "Mastercard": ["Master Card", "MasterCard"],
    "PayPal": ["Pay Pal"],
    "Google Pay": ["GPay", "G Pay"],
    "Larkspur gift cards": ["gift card", "gift cards", "gift voucher"],
    "Klarna": ["buy now pay later", "buy now, pay later", "pay later"],
    "cash on delivery": ["COD", "pay on delivery"],
    "Bitcoin": ["BTC"],
}


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold().strip().strip(".?!"))


def _method_name(entry: str) -> str:
    """ "Klarna (pay in 30 days)" -> "Klarna": the name customers type."""
    return re.sub(r"\s*\(.*\)\s*$", "", entry).strip()


@dataclass(frozen=True)
class StoreEntities:
    """The shop's zones and payment methods, with every name they may be called by."""

    countries: dict[str, str]  # ISO code -> English name
    names: dict[str, str]  # folded name -> ISO code
    zones: dict[str, list[str]]  # zone (a `shipping:` region) -> ISO codes
    shipping: list[dict[str, Any]]
    accepted: list[str]  # payment methods as store.yml writes them
    payment_names: dict[str, str] = field(default_factory=dict)  # folded -> canonical
    # The `return_cases:`, `item_problems:` and `topics:` of store.yml: case -> its words.
    return_cases: dict[str, list[str]] = field(default_factory=dict)
    item_problems: dict[str, list[str]] = field(default_factory=dict)
    topics: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_store(cls, store: dict[str, Any]) -> StoreEntities:
        from babel import Locale

        territories = Locale("en").territories
        countries = {
            code: name
            for code, name in territories.items()
            if len(code) == 2 and code.isalpha() and code not in {"EU", "EZ", "UN", "ZZ"}
            and not code.startswith("X") and code not in AMBIGUOUS_COUNTRIES
        }  # fmt: skip
        names = {_fold(name): code for code, name in countries.items()}
        for table in (PLACE_COUNTRIES, COUNTRY_ALIASES):
            for code, aliases in table.items():
                names.update({_fold(alias): code for alias in aliases})
        zones = {
            str(zone): [str(c) for c in codes] for zone, codes in store["shipping_zones"].items()
        }
        accepted = [str(entry) for entry in store["payment_methods"]]
        canonical = [_method_name(entry) for entry in accepted] + KNOWN_PAYMENT_METHODS
        payment_names = {_fold(name): name for name in canonical}
        for name, aliases in PAYMENT_ALIASES.items():
            payment_names.update({_fold(alias): name for alias in aliases})
        return cls(
            countries,
            names,
            zones,
            list(store["shipping"]),
            accepted,
            payment_names,
            _word_lists(store, "return_cases"),
            _word_lists(store, "item_problems"),
            _word_lists(store, "topics"),
        )

    def country(self, text: str | None) -> dict[str, Any] | None:
        """What the shop offers for a named country: ships or not, and with which options."""
        code = self.names.get(_fold(text or ""))
        if code is None:
            return None
        name = self.countries[code]
        zone = next((zone for zone, codes in self.zones.items() if code in codes), None)
        options = [
            option
            for option in self.shipping
            if zone is not None
            and (zone in str(option["regions"]) or name in str(option["regions"]))
        ]
        return {"code": code, "name": name, "ships": bool(options), "options": options}

    def shipping_option(
        self, text: str | None, country: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """A named shipping option as store.yml has it, and whether it goes to the named country
        (`available`: None when no country was named)."""
        folded = _fold(text or "")
        option = next(
            (o for o in self.shipping if folded in {_fold(w) for w in o.get("words", [])}), None
        )
        if option is None:
            return None
        available = None if country is None else option in country["options"]
        return {**option, "available": available}

    def payment_method(self, text: str | None) -> dict[str, Any] | None:
        """Whether a named payment method is accepted, as the shop's profile writes it."""
        name = self.payment_names.get(_fold(text or ""))
        if name is None:
            return None
        listed = next((e for e in self.accepted if _fold(_method_name(e)) == _fold(name)), None)
        return {"name": listed or name, "accepted": listed is not None}

    def return_case(self, texts: list[str]) -> str | None:
        """The case the named words add up to: the first in store.yml's order that any names."""
        return _first_case(self.return_cases, texts)

    def item_problem(self, texts: list[str]) -> str | None:
        """`faulty` or `wrong_item` (store.yml's `item_problems`), or None."""
        return _first_case(self.item_problems, texts)

    def store_topic(self, texts: list[str]) -> str | None:
        """A shop topic with no intent of its own (store.yml's `topics`), or None."""
        return _first_case(self.topics, texts)

    def lookup_tables(self) -> str:
        """`data/nlu/lookups.yml`: every name of a country and of a payment method."""
        aliases = [
            a for table in (PLACE_COUNTRIES, COUNTRY_ALIASES) for v in table.values() for a in v
        ]
        countries = sorted({*self.countries.values(), *aliases})
        options = sorted({w for option in self.shipping for w in option.get("words", [])})
        methods = sorted(
            {*(_method_name(e) for e in self.accepted), *KNOWN_PAYMENT_METHODS,
             *(a for v in PAYMENT_ALIASES.values() for a in v)}
        )  # fmt: skip
        header = (
            "# Generated from data/store.yml and Babel's country names by "
            "`python -m bot.answers.store_entities`;\n"
            "# do not edit by hand (tests/unit/test_store_entities.py checks it is current).\n"
        )
        blocks = [
            ("country", countries),
            ("payment_method", methods),
            ("shipping_option", options),
            ("return_case", sorted({w for ws in self.return_cases.values() for w in ws})),
            ("item_problem", sorted({w for ws in self.item_problems.values() for w in ws})),
            ("store_topic", sorted({w for ws in self.topics.values() for w in ws})),
        ]
        # Longest first: the extractor's regex takes the first alternative that matches, and
        # "gift card" must win over "gift", "Guinea-Bissau" over "Guinea".
        body = "".join(
            f"\n- lookup: {name}\n  examples: |\n"
            + "".join(f"    - {v}\n" for v in sorted(values, key=lambda v: (-len(v), v)))
            for name, values in blocks
        )
        return f'{header}version: "3.1"\nnlu:{body}'


def _word_lists(store: dict[str, Any], section: str) -> dict[str, list[str]]:
    """A `case: [words]` section of store.yml, checked: one word names one case."""
    cases = {str(case): [str(w) for w in words] for case, words in store.get(section, {}).items()}
    owners: dict[str, str] = {}
    for case, words in cases.items():
        for word in words:
            other = owners.setdefault(_fold(word), case)
            if other != case:
                raise ValueError(f"store.yml {section}: {word!r} names both {other} and {case}")
    return cases


def _first_case(cases: dict[str, list[str]], texts: list[str]) -> str | None:
    named = {_fold(text) for text in texts}
    return next((case for case, words in cases.items() if named & {_fold(w) for w in words}), None)


def load_store_entities(store_file: Path = STORE_FILE) -> StoreEntities:
    return StoreEntities.from_store(yaml.safe_load(store_file.read_text(encoding="utf-8")))


if __name__ == "__main__":
    LOOKUPS_FILE.write_text(load_store_entities().lookup_tables(), encoding="utf-8")
    sys.stdout.write(f"wrote {LOOKUPS_FILE}\n")
