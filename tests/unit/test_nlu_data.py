"""The shop's NLU data keeps its promises: enough examples, written definitions, honest tests.

The held-out sets only measure generalisation while no training line leaks into them; this
file is the guard that a new training example or test message cannot quietly break that.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.nlu.intents import DETECTED, ORDER_NUMBER_REPAIRS, SMALL_TALK
from tests.helpers.project import PROJECT_ROOT

# Not store questions: small talk, and what the customer says while the order form asks.
CONVERSATION_INTENTS = SMALL_TALK | ORDER_NUMBER_REPAIRS
DETECTED_INTENTS = DETECTED
HELD_OUT = ["nlu_heldout.yml", "nlu_robustness.yml", "offtopic_heldout.yml"]
# Share of words two messages may have in common before one counts as a copy of the other.
MAX_WORD_OVERLAP = 0.75


def examples_of(path: Path) -> list[tuple[str, str]]:
    """(intent, text) pairs of a Rasa NLU YAML file, entity annotations removed."""
    document = yaml.safe_load(path.read_text())
    pairs = []
    for block in document.get("nlu", []):
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            if line.strip().startswith("- "):
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip()[2:])
                pairs.append((block["intent"], text))
    return pairs


def words(text: str) -> frozenset[str]:
    return frozenset(re.sub(r"[^a-z0-9 ]", "", text.lower()).split())


@pytest.fixture(scope="module")
def training() -> list[tuple[str, str]]:
    # data/nlu/reviewed.yml is what staff reviewed: exported, not written by us.
    files = sorted(
        p for p in (PROJECT_ROOT / "data" / "nlu").glob("*.yml") if p.name != "reviewed.yml"
    )
    return [pair for path in files for pair in examples_of(path)]


@pytest.fixture(scope="module")
def domain_intents() -> list[str]:
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"]


def test_every_store_intent_has_at_least_100_examples(training, domain_intents):
    counts = {intent: 0 for intent in domain_intents}
    for intent, _ in training:
        counts[intent] += 1
    not_store = CONVERSATION_INTENTS | DETECTED_INTENTS | {"out_of_scope"}
    store = {i: n for i, n in counts.items() if i not in not_store}
    assert len(store) == 27
    assert {i: n for i, n in store.items() if n < 100} == {}
    assert counts["out_of_scope"] >= 300


def test_every_intent_has_a_written_definition(domain_intents):
    definitions = {}
    for path in (PROJECT_ROOT / "data" / "intents").glob("*.yml"):
        definitions.update(yaml.safe_load(path.read_text())["intent_definitions"])
    assert sorted(definitions) == sorted(domain_intents)
    for intent, definition in definitions.items():
        assert definition["means"].strip(), intent
        assert definition["includes"] and definition["excludes"], intent


def test_no_message_is_trained_under_two_intents(training):
    seen: dict[frozenset[str], str] = {}
    for intent, text in training:
        key = words(text)
        assert seen.setdefault(key, intent) == intent, f"{text!r}: {seen[key]} and {intent}"


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_sets_share_no_message_with_the_training_data(training, name):
    trained = [words(text) for _, text in training]
    for _, text in examples_of(PROJECT_ROOT / "tests" / name):
        held_out = words(text)
        if len(held_out) < 3:  # "hello hello" and "hello" are the same message, rightly
            continue
        overlap = max(len(held_out & t) / len(held_out | t) for t in trained if t)
        assert overlap < MAX_WORD_OVERLAP, f"{text!r} is (nearly) a training example"


def test_robustness_and_offtopic_sets_are_large_enough(domain_intents):
    robustness = examples_of(PROJECT_ROOT / "tests" / "nlu_robustness.yml")
    offtopic = examples_of(PROJECT_ROOT / "tests" / "offtopic_heldout.yml")
    assert len(robustness) >= 300 and len(offtopic) >= 300
    assert {intent for intent, _ in offtopic} == {"out_of_scope"}
    store = set(domain_intents) - CONVERSATION_INTENTS - DETECTED_INTENTS - {"out_of_scope"}
    assert {intent for intent, _ in robustness} == store
