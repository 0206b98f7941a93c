"""Countries and payment methods as customers name them, and what the shop's profile says of them.

`data/store.yml` is the one place a shop changes: which countries each shipping zone covers
(`shipping_zones`, ISO codes) and which payment methods it accepts. From it and Babel's English
country names this module makes the lookup tables Rasa's RegexEntityExtractor matches
(`data/nlu/lookups.yml`: `python -m bot.store_entities`, checked by a test), and turns an
extracted value back into facts an answer template can use: "Canada" -> not shipped to;
"amex" -> American Express, accepted.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LOOKUPS_FILE = Path(__file__).resolve().parent.parent / "data" / "nlu" / "lookups.yml"
STORE_FILE = Path(__file__).resolve().parent.parent / "data" / "store.yml"

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
        for code, aliases in COUNTRY_ALIASES.items():
            names.update({_fold(alias): code for alias in aliases})
        zones = {
            str(zone): [str(c) for c in codes] for zone, codes in store["shipping_zones"].items()
        }
        accepted = [str(entry) for entry in store["payment_methods"]]
        canonical = [_method_name(entry) for entry in accepted] + KNOWN_PAYMENT_METHODS
        payment_names = {_fold(name): name for name in canonical}
        for name, aliases in PAYMENT_ALIASES.items():
            payment_names.update({_fold(alias): name for alias in aliases})
        return cls(countries, names, zones, list(store["shipping"]), accepted, payment_names)

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

    def payment_method(self, text: str | None) -> dict[str, Any] | None:
        """Whether a named payment method is accepted, as the shop's profile writes it."""
        name = self.payment_names.get(_fold(text or ""))
        if name is None:
            return None
        listed = next((e for e in self.accepted if _fold(_method_name(e)) == _fold(name)), None)
        return {"name": listed or name, "accepted": listed is not None}

    def lookup_tables(self) -> str:
        """`data/nlu/lookups.yml`: every name of a country and of a payment method."""
        countries = sorted(
            {*self.countries.values(), *(a for v in COUNTRY_ALIASES.values() for a in v)}
        )
        methods = sorted(
            {*(_method_name(e) for e in self.accepted), *KNOWN_PAYMENT_METHODS,
             *(a for v in PAYMENT_ALIASES.values() for a in v)}
        )  # fmt: skip
        header = (
            "# Generated from data/store.yml and Babel's country names by "
            "`python -m bot.store_entities`;\n# do not edit by hand (tests/test_store_entities.py "
            "checks it is current).\n"
        )
        blocks = [("country", countries), ("payment_method", methods)]
        body = "".join(
            f"\n- lookup: {name}\n  examples: |\n" + "".join(f"    - {v}\n" for v in values)
            for name, values in blocks
        )
        return f'{header}version: "3.1"\nnlu:{body}'


def load_store_entities(store_file: Path = STORE_FILE) -> StoreEntities:
    return StoreEntities.from_store(yaml.safe_load(store_file.read_text(encoding="utf-8")))


if __name__ == "__main__":
    LOOKUPS_FILE.write_text(load_store_entities().lookup_tables(), encoding="utf-8")
    sys.stdout.write(f"wrote {LOOKUPS_FILE}\n")
