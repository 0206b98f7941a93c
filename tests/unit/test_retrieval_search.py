"""Loading transcripts strictly, and re-indexing them in the background without blocking."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.answers.retrieval.search import TranscriptSearch
from bot.answers.retrieval.transcripts import TranscriptFileError, load_transcripts
from tests.helpers.project import PROJECT_ROOT

GIFT = {"id": "t-1", "question": "do gift cards expire", "answer": "They last 3 years."}
CARE = {"id": "t-2", "question": "how to wash merino wool", "answer": "Hand wash cold."}
# BM25's idf is 0 or below for a term in half the documents or more: real corpora are large,
# so each test corpus gets unrelated transcripts around the ones it looks for.
OTHERS = [
    {"id": f"o-{i}", "question": question, "answer": "..."}
    for i, question in enumerate(
        [
            "parcel arrived damaged",
            "customs fees for the UK",
            "which size are the boots",
            "student discount code",
            "candle burns unevenly",
            "missing item in my box",
            "pickup point opening hours",
            "zip broke on my bag",
        ]
    )
]


def write(path: Path, *rows: object) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_project_transcripts_load():
    transcripts = load_transcripts(PROJECT_ROOT / "data" / "transcripts")
    assert len(transcripts) >= 300
    assert len({t.id for t in transcripts}) == len(transcripts)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"id": "x", "question": "", "answer": "a"}', "'question' must be a non-empty string"),
        ('{"id": "x", "question": "q", "answer": "a", "tags": "one"}', "'tags' must be a list"),
    ],
)
def test_a_malformed_line_is_refused_naming_file_and_line(tmp_path, line, message):
    write(tmp_path / "a.jsonl", GIFT, line)
    with pytest.raises(TranscriptFileError, match=rf"a\.jsonl:2: {message}"):
        load_transcripts(tmp_path)


def test_duplicate_ids_are_refused(tmp_path):
    write(tmp_path / "a.jsonl", GIFT)
    write(tmp_path / "b.jsonl", GIFT)
    with pytest.raises(
        TranscriptFileError, match=r"b\.jsonl:1: id 't-1' already used at .*a\.jsonl:1"
    ):
        load_transcripts(tmp_path)


def test_changed_transcripts_are_picked_up_in_the_background(tmp_path):
    write(tmp_path / "a.jsonl", GIFT, *OTHERS)
    search = TranscriptSearch(tmp_path, threshold=0.0, check_every_seconds=0.0)
    assert search.best("washing merino wool") is None
    write(tmp_path / "b.jsonl", CARE)
    assert wait_for(lambda: search.best("washing merino wool") is not None)
    assert search.best("washing merino wool").transcript.id == "t-2"
    assert len(search) == 2 + len(OTHERS)


def test_a_broken_new_file_keeps_the_old_index(tmp_path):
    write(tmp_path / "a.jsonl", GIFT, *OTHERS)
    search = TranscriptSearch(tmp_path, threshold=0.0, check_every_seconds=0.0)
    write(tmp_path / "b.jsonl", CARE, "{broken")
    search.best("gift card")  # notices the change, rebuild fails in the background
    assert wait_for(lambda: not search._rebuilding.locked())
    assert search.best("do gift cards expire").transcript.id == "t-1"
    assert len(search) == 1 + len(OTHERS)


def test_threshold_hides_weak_matches(tmp_path):
    write(tmp_path / "a.jsonl", GIFT, CARE, *OTHERS)
    assert TranscriptSearch(tmp_path, threshold=1000.0).best("gift cards expire") is None
    assert TranscriptSearch(tmp_path, threshold=0.1).best("gift cards expire") is not None
