"""Countries and payment methods named in a question, answered from data/store.yml (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.answers.store_entities import LOOKUPS_FILE, load_store_entities


@pytest.fixture(scope="module")
def entities():
    return load_store_entities()


def test_the_lookup_tables_are_generated_from_the_store_profile(entities):
    assert LOOKUPS_FILE.read_text(encoding="utf-8") == entities.lookup_tables(), (
        "data/nlu/lookups.yml is out of date: run `python -m bot.answers.store_entities`"
    )


@pytest.mark.parametrize(
    ("named", "country", "ships", "options"),
    [
        ("Canada", "Canada", False, []),
        ("germany", "Germany", True, ["Standard", "Express", "Next-day", "Click & Collect"]),
        ("the UK", None, None, None),  # the extractor matches "UK", not "the UK"
        ("UK", "United Kingdom", True, ["UK"]),
        ("England", "United Kingdom", True, ["UK"]),
        ("Holland", "Netherlands", True, ["Standard", "Express", "Next-day", "Click & Collect"]),
        ("USA", "United States", True, ["US"]),
        ("Switzerland", "Switzerland", False, []),
        ("Austria", "Austria", True, ["Standard", "Express", "Click & Collect"]),
        ("Jersey", None, None, None),  # a jersey dress is no country here
    ],
)
def test_a_named_country_gets_the_shops_facts(entities, named, country, ships, options):
    facts = entities.country(named)
    if country is None:
        assert facts is None
        return
    assert facts["name"] == country and facts["ships"] is ships
    assert [option["name"] for option in facts["options"]] == options


@pytest.mark.parametrize(
    ("named", "name", "accepted"),
    [
        ("klarna", "Klarna (pay in 30 days)", True),
        ("Amex", "American Express", True),
        ("apple pay", "Apple Pay", True),
        ("gift card", "Larkspur gift cards", True),
        ("Bitcoin", "Bitcoin", False),
        ("bancontact", "Bancontact", False),
        ("a goat", None, None),
    ],
)
def test_a_named_payment_method_is_accepted_or_not(entities, named, name, accepted):
    facts = entities.payment_method(named)
    assert (facts is None) if name is None else facts == {"name": name, "accepted": accepted}


def answer(text: str, intent: str, entities: list[dict[str, Any]]) -> str:
    from actions.answers import ActionAnswer

    latest = {"intent": {"name": intent, "confidence": 0.9}, "entities": entities, "text": text}
    tracker = Tracker(
        sender_id="asks-1",
        slots={},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    ActionAnswer().run(dispatcher, tracker, {})
    return " ".join(message["text"] for message in dispatcher.messages)


def test_the_answer_says_no_for_a_country_not_shipped_to(shared):
    said = answer(
        "do you ship to canada", "delivery_options", [{"entity": "country", "value": "canada"}]
    )
    assert "don't ship to Canada" in said and "EU" in said


def test_the_answer_names_the_options_for_a_country_shipped_to(shared):
    said = answer("delivery to the uk?", "delivery_options", [{"entity": "country", "value": "UK"}])
    assert said.startswith("Yes, we ship to United Kingdom") and "£6.95" in said
    assert "Next-day" not in said  # Germany, the Netherlands and Belgium only


def test_the_delivery_time_is_for_the_named_country(shared):
    said = answer("how long to usa", "delivery_period", [{"entity": "country", "value": "USA"}])
    assert "to United States" in said and "5-8 working days" in said and "3-5" not in said


def test_a_payment_method_is_answered_yes_or_no(shared):
    said = answer(
        "klarna ok?", "check_payment_methods", [{"entity": "payment_method", "value": "Klarna"}]
    )
    assert said.startswith("Yes, we accept Klarna")
    said = answer(
        "bitcoin?", "check_payment_methods", [{"entity": "payment_method", "value": "bitcoin"}]
    )
    assert said.startswith("Sorry, we don't accept Bitcoin") and "PayPal" in said


def test_without_a_named_fact_the_general_answer(shared):
    said = answer("what can I pay with", "check_payment_methods", [])
    assert said.startswith("We accept Visa")


def test_a_template_broken_only_for_a_named_country_stops_start_up(tmp_path):
    from bot.answers.faq import FaqBook, FaqError
    from bot.settings import PROJECT_ROOT

    faq = yaml.safe_load((PROJECT_ROOT / "data" / "faq.yml").read_text())
    faq["answers"]["delivery_options"]["template"] = (
        "{% if asked.country is none %}We ship.{% else %}To {{ asked.country.nmae }}.{% endif %}"
    )
    broken = tmp_path / "faq.yml"
    broken.write_text(yaml.safe_dump(faq))
    intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"]
    with pytest.raises(FaqError, match="delivery_options"):
        FaqBook.load(broken, PROJECT_ROOT / "data" / "store.yml", intents)


@pytest.mark.parametrize(
    ("named", "case"),
    [
        (["wore"], "worn"),
        (["tags off"], "tags_removed"),
        (["black friday"], "sale"),
        (["gift", "gift card"], "not_returnable"),  # the first case in store.yml's order
        (["sale", "worn"], "worn"),
        (["the weather"], None),
    ],
)
def test_the_words_of_a_return_question_name_its_case(entities, named, case):
    assert entities.return_case(named) == case


def test_an_item_problem_is_faulty_or_a_wrong_item(entities):
    assert entities.item_problem(["Snapped"]) == "faulty"
    assert entities.item_problem(["wrong colour"]) == "wrong_item"
    assert entities.item_problem([]) is None


def test_a_word_may_name_one_case_only():
    from bot.answers.store_entities import StoreEntities

    store = yaml.safe_load((LOOKUPS_FILE.parent.parent / "store.yml").read_text())
    store["return_cases"]["sale"].append("worn")
    with pytest.raises(ValueError, match="'worn' names both worn and sale"):
        StoreEntities.from_store(store)


@pytest.mark.parametrize(
    ("option", "country", "available"),
    [
        ("next day", "Hamburg", True),  # a city is its country
        ("tomorrow", "Madrid", False),
        ("click & collect", "Vienna", True),
        ("Click and collect", None, None),  # no country named: nothing to say yes or no to
        ("by drone", "Berlin", "unknown"),
    ],
)
def test_a_named_shipping_option_goes_to_a_country_or_not(entities, option, country, available):
    facts = entities.shipping_option(option, entities.country(country))
    if available == "unknown":
        assert facts is None
        return
    assert facts["available"] is available


def test_a_shop_topic_is_named_by_its_words(entities):
    assert entities.store_topic(["Gift Card"]) == "gift_cards"
    assert entities.store_topic(["tumble dry"]) == "product_care"
    assert entities.store_topic(["the weather"]) is None
