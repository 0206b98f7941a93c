"""The masker's word lists are read from files, and the shop's product words from its profile."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.answers.store_entities import STORE_FILE
from bot.learning.privacy import mask_personal_data, name_words, words
from bot.learning.privacy.shop_words import SECTION, SHOP_WORDS, load_shop_words

STORE_WORDS = yaml.safe_load(STORE_FILE.read_text(encoding="utf-8"))[SECTION]


def file_words(name: str) -> set[str]:
    text = (words.WORDS_DIR / f"{name}.txt").read_text(encoding="utf-8")
    return {w for line in text.splitlines() if not line.startswith("#") for w in line.split()}


def test_the_word_files_ship_inside_the_package():
    files = sorted(words.WORDS_DIR.glob("*.txt"))
    assert words.WORDS_DIR.parent == Path(words.__file__).resolve().parent
    assert len(files) >= 20
    assert all(words.word_list(path.stem) for path in files)


def test_the_lists_are_what_the_files_say():
    assert words.STOPWORDS == file_words("stopwords")
    assert name_words.TITLES == file_words("titles")
    assert name_words.AMBIGUOUS_WORDS == file_words("ambiguous_names")
    assert ("my", "name", "is") in name_words.STRONG_CUES
    assert ("kind", "regards") in name_words.SIGN_OFFS


def test_a_word_file_is_read_with_its_comments_left_out(monkeypatch, tmp_path):
    (tmp_path / "titles.txt").write_text("# Titles.\nMr Dr\n\nFrau  Herr\n", encoding="utf-8")
    (tmp_path / "cues.txt").write_text("# Cues.\nmy name is\nname is\n", encoding="utf-8")
    monkeypatch.setattr(words, "WORDS_DIR", tmp_path)
    assert words.word_list("titles") == ("Mr", "Dr", "Frau", "Herr")
    assert words.phrases("cues") == (("my", "name", "is"), ("name", "is"))
    assert words.alternation("titles") == "Mr|Dr|Frau|Herr"


def test_the_shop_words_are_the_store_profiles():
    assert SHOP_WORDS.products == set(STORE_WORDS["products"])
    assert SHOP_WORDS.brands_named_after_people == set(STORE_WORDS["brands_named_after_people"])
    assert SHOP_WORDS.brands == set(STORE_WORDS["brands"])
    assert name_words.GOODS == SHOP_WORDS.products
    assert SHOP_WORDS.brands <= name_words.NOT_PERSON


def test_the_shop_words_are_read_from_the_given_profile(tmp_path):
    store = tmp_path / "store.yml"
    store.write_text(
        f"name: Lamps & Co.\n{SECTION}:\n  products: [Lamp, shade]\n  brands: [Anglepoise]\n",
        encoding="utf-8",
    )
    shop = load_shop_words(store)
    assert shop.products == {"lamp", "shade"}
    assert shop.brands == {"anglepoise"}
    assert shop.brands_named_after_people == frozenset()
    store.write_text("name: Lamps & Co.\n", encoding="utf-8")
    assert load_shop_words(store).products == frozenset()


@pytest.mark.parametrize(
    ("store_word", "section", "product_message", "person_message"),
    [
        # A first name before a product word is a product line, before a surname a person.
        ("cardigan", "products", "Olivia Cardigan in navy, is it back?", "Olivia Carter in navy"),
        (
            "calvin klein",
            "brands_named_after_people",
            "is Calvin Klein on sale?",
            "is Calvin Harris",
        ),
        ("zara", "brands", "the gift is for Zara", "the gift is for Sarah"),
    ],
)
def test_a_product_or_brand_from_the_store_profile_is_not_masked_as_a_name(
    store_word, section, product_message, person_message
):
    assert store_word in STORE_WORDS[section]
    assert mask_personal_data(product_message).text == product_message
    assert "<NAME>" in mask_personal_data(person_message).text
