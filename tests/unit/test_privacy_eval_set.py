"""The masker's labelled evaluation set (tests/privacy_eval.yml) stays well-formed and large enough.

Why: bench/privacy_benchmark.py scores precision and recall on it; a span whose offsets no
longer point at its value would silently count as a miss.
"""

from __future__ import annotations

from collections import Counter

import yaml

from bot.learning.privacy import PLACEHOLDERS
from bot.settings import PROJECT_ROOT

EVAL_SET = PROJECT_ROOT / "tests" / "privacy_eval.yml"


def test_every_span_points_at_its_value_and_names_a_kind_the_masker_has():
    messages = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))["messages"]
    texts = [m["text"] for m in messages]
    assert len(set(texts)) == len(texts), "a message is in the set twice"
    for m in messages:
        previous_end = 0
        for span in m["spans"]:
            assert span["type"] in PLACEHOLDERS, span
            assert previous_end <= span["start"] < span["end"] <= len(m["text"]), m
            assert m["text"][span["start"] : span["end"]] == span["value"], m
            previous_end = span["end"]


def test_at_least_200_messages_of_each_kind_and_200_without_personal_data():
    messages = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))["messages"]
    with_kind = Counter(kind for m in messages for kind in {s["type"] for s in m["spans"]})
    assert set(with_kind) == set(PLACEHOLDERS)
    assert min(with_kind.values()) >= 200, with_kind
    assert sum(not m["spans"] for m in messages) >= 200
