"""The review queue's order (bot/learning/review_queue.py) on a conversation log written by Rasa's
own
tracker store, `shopdesk review queue`, and the count of reviews waiting for training."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from bot.learning import review_queue
from bot.learning.review_queue import QueueItem, order, uncertainty
from bot.learning.review_queue import review_queue as queue_of
from tests.helpers.logged_conversations import save, user
from tests.helpers.project import PROJECT_ROOT

# text -> (top intent, confidence, margin) the queue must read from the logged ranking
PARCEL = "where is my parcel"  # track_order .50, margin .05: the closest call
WRAP = "can you gift wrap it"  # fell back; the classifier's own: complaint .40, margin .08
KLARNA = "can I pay with klarna"  # check_payment_methods .30 (least confident), margin .20
FRENCH = "où est mon colis"  # other language; delivery_options .60, margin .50
BOOTS = "refund for the boots"  # get_refund .90, margin .85
REVIEWED = "hi there"  # reviewed already: never in the queue
PAYLOAD = "/affirm"  # a button: never in the queue


def _events() -> dict[str, list]:
    return {
        "q-1": [
            user(
                PARCEL, "track_order", 0.5, ranking=[("track_order", 0.5), ("cancel_order", 0.45)]
            ),
            user(PAYLOAD, "affirm", 1.0),
            user(
                WRAP,
                "nlu_fallback",
                0.7,
                ranking=[("nlu_fallback", 0.7), ("complaint", 0.4), ("review", 0.32)],
            ),
            user(REVIEWED, "greet", 0.2, ranking=[("greet", 0.2), ("goodbye", 0.19)]),
        ],
        "q-2": [
            user(
                KLARNA,
                "check_payment_methods",
                0.3,
                ranking=[("check_payment_methods", 0.3), ("payment_issue", 0.1)],
            ),
            user(
                FRENCH,
                "other_language",
                1.0,
                ranking=[
                    ("other_language", 1.0),
                    ("delivery_options", 0.6),
                    ("delivery_period", 0.1),
                ],
            ),
            user(BOOTS, "get_refund", 0.9, ranking=[("get_refund", 0.9), ("track_refund", 0.05)]),
        ],
    }


def _event_id(db_url: str, text: str) -> int:
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog(db_url)
    try:
        for conversation_id in ("q-1", "q-2"):
            for turn in log.read(conversation_id).user_turns:
                if turn.text == text:
                    return turn.event_id
    finally:
        log.engine.dispose()
    raise KeyError(text)


@pytest.fixture()
def queue_log(db_url: str) -> str:
    from bot.storage.reviews import ReviewStore

    for sender, events in _events().items():
        save(db_url, sender, events)
    store = ReviewStore(db_url)
    store.review_message(_event_id(db_url, REVIEWED), "q-1", "ana", corrected_intent="greet")
    store.engine.dispose()
    return db_url


@pytest.fixture()
def engine(queue_log: str):
    from bot.storage.database import open_database

    engine = open_database(queue_log)
    yield engine
    engine.dispose()


def texts(items: list[QueueItem]) -> list[str]:
    return [item.text for item in items]


def test_the_queue_reads_the_classifiers_own_ranking_from_the_log(engine) -> None:
    items, total = queue_of(engine, "margin")
    assert total == 5  # the reviewed message and the button payload are not in the queue
    by_text = {item.text: item for item in items}
    assert set(by_text) == {PARCEL, WRAP, KLARNA, FRENCH, BOOTS}
    wrap = by_text[WRAP]  # nlu_fallback and other_language are the pipeline's, not guesses
    assert (wrap.intent, wrap.confidence, wrap.margin) == ("complaint", 0.4, pytest.approx(0.08))
    french = by_text[FRENCH]
    assert (french.intent, french.confidence) == ("delivery_options", 0.6)
    assert french.margin == pytest.approx(0.5)
    assert by_text[PARCEL].conversation_id == "q-1" and by_text[BOOTS].conversation_id == "q-2"


def test_lowest_confidence_and_margin_orders(engine) -> None:
    lowest, _ = queue_of(engine, "lowest_confidence")
    assert texts(lowest) == [KLARNA, WRAP, PARCEL, FRENCH, BOOTS]
    closest, _ = queue_of(engine, "margin")
    assert texts(closest) == [PARCEL, WRAP, KLARNA, FRENCH, BOOTS]
    assert texts(queue_of(engine, "margin", limit=2)[0]) == [PARCEL, WRAP]


def test_random_order_is_fixed_per_message(engine, queue_log: str) -> None:
    first, _ = queue_of(engine, "random")
    assert sorted(texts(first)) == sorted([PARCEL, WRAP, KLARNA, FRENCH, BOOTS])
    assert texts(queue_of(engine, "random")[0]) == texts(first)  # paging never reshuffles
    by_event = sorted(first, key=lambda item: item.event_id)
    assert texts(first) != texts(by_event)  # not the log's order in disguise
    # A new message takes its place without reordering the others.
    save(queue_log, "q-3", [user("is there a sale on", "review", 0.5)])
    again, total = queue_of(engine, "random")
    assert total == 6
    assert [text for text in texts(again) if text != "is there a sale on"] == texts(first)


def _by_topic(texts: list[str]) -> np.ndarray:
    """A stand-in encoder: two topics far apart (orders and refunds vs. the rest), so k-means
    with two clusters must find exactly them."""
    topic = {PARCEL: 0, WRAP: 0, KLARNA: 0, FRENCH: 1, BOOTS: 1}
    rows = [[1.0, 0.0] if topic[text] == 0 else [0.0, 1.0] for text in texts]
    noise = np.random.default_rng(0).normal(0, 0.01, size=(len(texts), 2))
    return np.asarray(rows) + noise


def test_cluster_margin_takes_each_clusters_closest_call_first(engine) -> None:
    items, _ = queue_of(engine, "margin")
    # Margin alone reviews three messages of the first topic before any of the second.
    clustered = order(items, "cluster_margin", embedder=_by_topic, clusters=2)
    assert texts(clustered) == [PARCEL, FRENCH, WRAP, BOOTS, KLARNA]
    # Through the log, with the page size as the number of clusters.
    first_two, total = queue_of(engine, "cluster_margin", limit=2, embedder=_by_topic)
    assert (texts(first_two), total) == ([PARCEL, FRENCH], 5)
    # As many clusters as messages: every message its own, which is the margin order.
    assert texts(order(items, "cluster_margin", _by_topic, clusters=25)) == texts(items)


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown review strategy 'newest'"):
        order([], "newest")


def test_uncertainty_without_a_ranking_uses_the_intent() -> None:
    assert uncertainty({"intent": {"name": "greet", "confidence": 0.7}}) == ("greet", 0.7, 0.7)
    assert uncertainty({"intent": {"name": "nlu_fallback", "confidence": 0.3}}) == (
        None,
        0.3,
        0.3,
    )
    one = {"intent_ranking": [{"name": "greet", "confidence": 0.8}]}
    assert uncertainty(one) == ("greet", 0.8, 0.8)


def test_the_default_strategy_is_one_of_the_benchmarks() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "learning_curve", PROJECT_ROOT / "bench" / "learning_curve.py"
    )
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert tuple(review_queue.STRATEGIES) == tuple(bench.STRATEGIES)
    assert review_queue.DEFAULT_STRATEGY in bench.STRATEGIES


# ---------------------------------------------------------------------------- the CLI


def test_shopdesk_review_queue_prints_the_order(queue_log, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.setenv("SHOPDESK_DB_URL", queue_log)
    assert main(["review", "queue", "--strategy", "lowest_confidence", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 of 5 unreviewed messages, ordered by lowest_confidence")
    klarna, wrap = lines[2], lines[3]
    assert len(lines) == 4
    assert klarna.split()[:5] == [
        str(_event_id(queue_log, KLARNA)),
        "q-2",
        "check_payment_methods",
        "0.30",
        "0.20",
    ]
    assert klarna.endswith(repr(KLARNA))
    assert wrap.split()[:5] == [str(_event_id(queue_log, WRAP)), "q-1", "complaint", "0.40", "0.08"]

    assert main(["review", "queue", "--json"]) == 0  # the default strategy, 25 at most
    report = json.loads(capsys.readouterr().out)
    assert report["strategy"] == review_queue.DEFAULT_STRATEGY and report["unreviewed"] == 5
    first = report["messages"][0]
    assert set(first) == {"event_id", "conversation_id", "text", "intent", "confidence", "margin"}
    if report["strategy"] == "margin":
        assert [m["text"] for m in report["messages"]] == [PARCEL, WRAP, KLARNA, FRENCH, BOOTS]
        assert first == {
            "event_id": _event_id(queue_log, PARCEL),
            "conversation_id": "q-1",
            "text": PARCEL,
            "intent": "track_order",
            "confidence": 0.5,
            "margin": 0.05,
        }


def test_shopdesk_review_queue_refuses_bad_arguments(capsys) -> None:
    from bot.cli import main

    for bad in (["--strategy", "newest"], ["--limit", "0"]):
        with pytest.raises(SystemExit) as stopped:
            main(["review", "queue", *bad])
        assert stopped.value.code == 2
    assert "invalid choice: 'newest'" in capsys.readouterr().err


def test_an_empty_log_has_an_empty_queue(db_url, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.setenv("SHOPDESK_DB_URL", db_url)
    assert main(["review", "queue"]) == 0
    assert capsys.readouterr().out.strip() == "No unreviewed customer messages."


# ------------------------------------------------------------ waiting for training


def _touch(path: Path, when: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x", encoding="utf-8")
    os.utime(path, (when, when))
    return path


def test_reviews_wait_for_training_until_exported_and_trained(
    engine, queue_log: str, tmp_path: Path
) -> None:
    from bot.learning.training_backlog import training_backlog
    from bot.storage.reviews import ReviewStore

    nlu, models = tmp_path / "data" / "nlu" / "reviewed.yml", tmp_path / "models"
    store = ReviewStore(queue_log)
    ids = {text: _event_id(queue_log, text) for text in (PARCEL, WRAP, KLARNA, BOOTS)}
    store.review_message(ids[PARCEL], "q-1", "ana")  # confirmed as track_order
    store.review_message(ids[KLARNA], "q-2", "ana", corrected_intent="check_payment_methods")
    store.review_message(ids[BOOTS], "q-2", "ana", excluded=True)  # never training data
    store.review_message(ids[WRAP], "q-1", "ana")  # nlu_fallback, not corrected: not exported

    # Nothing exported, no model: every review the export would write counts (and REVIEWED's).
    backlog = training_backlog(engine, nlu, models)
    assert (backlog.waiting, backlog.since, backlog.model) == (3, None, None)

    # Exported and trained after these reviews: none waits.
    later = time.time() + 60
    _touch(nlu, later)
    _touch(models / "20990101-000000.tar.gz", later + 5)
    assert training_backlog(engine, nlu, models).waiting == 0

    # Trained, then exported again with a review in between: exported but not trained on.
    _touch(models / "20990101-000000.tar.gz", time.time() - 3600)
    _touch(nlu, later)
    backlog = training_backlog(engine, nlu, models)
    assert backlog.waiting == 3 and backlog.since is not None

    # A model newer than the last export: reviews after the export still wait.
    _touch(nlu, time.time() - 1800)
    _touch(models / "20990101-000000.tar.gz", later)
    assert training_backlog(engine, nlu, models).waiting == 3
    store.review_message(ids[WRAP], "q-1", "ben", corrected_intent="review")  # now exportable
    assert training_backlog(engine, nlu, models).waiting == 4
    _touch(nlu, later + 10)
    assert training_backlog(engine, nlu, models).waiting == 0
    store.engine.dispose()
