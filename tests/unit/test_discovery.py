"""Intent discovery (`shopdesk discover`): which messages it reads from the log, how it groups
them and names the nearest intent; clustering on hand-made vectors, the encoder on the tiny
random BERT, the log on a real SQLite database written by Rasa's tracker store."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from bot.learning.discovery import (
    NEGATIVE_FEEDBACK,
    UNCLUSTERED,
    Candidate,
    cluster,
    discover,
    discovery_candidates,
    embed,
    encoder_dir_from_archive,
)
from bot.storage.conversation_log import FALLBACK_INTENT
from tests.helpers.logged_conversations import bot_says, save, user

DIM = 8


def axis(index: int) -> np.ndarray:
    vector = np.zeros(DIM)
    vector[index] = 1.0
    return vector


def candidates_for(count: int) -> list[Candidate]:
    return [
        Candidate(100 + i, f"c-{i}", f"message {i}", FALLBACK_INTENT, 0.3) for i in range(count)
    ]


# ------------------------------------------------------------------ clustering


def test_two_kinds_of_message_make_two_clusters_and_noise_stays_unclustered():
    rng = np.random.default_rng(0)
    kind_a = [axis(0) + 0.05 * rng.standard_normal(DIM) for _ in range(5)]
    kind_b = [axis(1) + 0.05 * rng.standard_normal(DIM) for _ in range(4)]
    noise = [axis(2), axis(3), -axis(0)]
    # Interleaved, so that labels cannot follow the input order.
    rows = [kind_b[0], noise[0], kind_a[0], kind_a[1], kind_b[1], noise[1], kind_a[2]]
    rows += [kind_b[2], kind_a[3], noise[2], kind_b[3], kind_a[4]]
    expected_a = [2, 3, 6, 8, 11]
    expected_b = [0, 4, 7, 10]

    labels = cluster(np.array(rows), distance_threshold=0.3, min_size=3)

    assert list(np.flatnonzero(labels == 0)) == expected_a  # the larger cluster comes first
    assert list(np.flatnonzero(labels == 1)) == expected_b
    assert list(np.flatnonzero(labels == UNCLUSTERED)) == [1, 5, 9]

    found = discover(candidates_for(len(rows)), np.array(rows), {}, 0.3, 3)
    assert [c.size for c in found] == [5, 4]
    assert found[0].members == [100 + i for i in expected_a]
    assert found[1].members == [100 + i for i in expected_b]
    assert found[0].nearest_intent is None


def test_a_cluster_smaller_than_min_size_is_unclustered():
    rows = np.array([axis(0), axis(0) + 0.01 * axis(1), axis(3), axis(3) + 0.01 * axis(2)])
    assert list(cluster(rows, 0.3, min_size=3)) == [UNCLUSTERED] * 4
    assert sorted(cluster(rows, 0.3, min_size=2)) == [0, 0, 1, 1]
    assert list(cluster(rows[:1], 0.3, min_size=3)) == [UNCLUSTERED]
    assert discover([], np.zeros((0, DIM)), {"greet": axis(0)}) == []


def test_representatives_are_the_messages_closest_to_the_centroid():
    # Symmetric about axis 0, so the centroid is axis 0: the exact one is nearest, the two
    # 0.1-off ones next, the 0.3-off ones last; the input order hides that.
    rows = np.array(
        [
            axis(0) + 0.3 * axis(2),
            axis(0) + 0.1 * axis(1),
            axis(0) - 0.3 * axis(2),
            axis(0) - 0.1 * axis(1),
            axis(0),
        ]
    )
    [found] = discover(candidates_for(5), rows, {}, distance_threshold=0.3, min_size=3)

    assert found.size == 5
    ids = [c.event_id for c in found.representatives]
    assert ids[0] == 104
    assert sorted(ids[1:]) == [101, 103]


def test_the_nearest_intent_is_the_one_whose_examples_mean_is_closest():
    rows = np.array([axis(0), axis(0) + 0.05 * axis(1), axis(0) - 0.05 * axis(1)])
    intents = {
        # Each example is 45 degrees off, but their mean points exactly along axis 0.
        "wrapping": np.array([axis(0) + axis(4), axis(0) - axis(4)]),
        # One example almost on axis 0, the other opposite: a mean far away.
        "stray": np.array([axis(0) + 0.05 * axis(5), -axis(0) + axis(6)]),
        "greet": axis(7),  # a single mean vector is accepted too
    }
    [found] = discover(candidates_for(3), rows, intents, distance_threshold=0.3, min_size=3)

    assert found.nearest_intent == "wrapping"
    assert found.similarity == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------ the encoder


def test_the_encoder_is_unpacked_from_a_model_archive(tiny_bert_dir: Path, tmp_path: Path):
    component = "components/train_bot.nlu.bert_intent_classifier.BertIntentClassifier2"
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for file in sorted(tiny_bert_dir.iterdir()):
            tar.add(file, arcname=f"/{component}/{file.name}")
        tar.addfile(tarfile.TarInfo(f"{component}/labels.json"), io.BytesIO(b""))
        other = b'{"x": 1}'
        info = tarfile.TarInfo("components/train_RulePolicy1/rule_policy.json")
        info.size = len(other)
        tar.addfile(info, io.BytesIO(other))

    encoder = encoder_dir_from_archive(archive, tmp_path / "unpacked")

    assert encoder.parent == tmp_path / "unpacked"
    assert (encoder / "config.json").is_file() and (encoder / "labels.json").is_file()
    assert not list((tmp_path / "unpacked").rglob("rule_policy.json"))
    texts = ["where is my parcel", "refund please", "where is my parcel"]
    vectors = embed(texts, encoder)
    assert vectors.shape == (3, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.allclose(vectors[0], vectors[2])
    assert np.allclose(vectors, embed(texts, tiny_bert_dir, batch_size=2), atol=1e-5)


# ------------------------------------------------------------------ the log


@pytest.fixture()
def discovery_log(db_url: str) -> dict[str, int]:
    """Conversations with every kind of message discovery must pick or skip; returns the
    event id of each by name."""
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.handoffs_and_feedback import Records
    from bot.storage.reviews import ReviewStore

    unsure = [(FALLBACK_INTENT, 0.4), ("delivery_options", 0.31)]
    conversations = {
        "c-1": [
            ("fallback", user("do you do gift wrapping", FALLBACK_INTENT, 0.31, ranking=unsure)),
            ("covered", user("where is my order", "track_order", 0.97)),
            ("out_of_scope", user("what is the meaning of life", "out_of_scope", 0.88)),
        ],
        "c-2": [
            ("reviewed", user("gift wrap for a present?", FALLBACK_INTENT, 0.3, ranking=unsure)),
            ("unhelpful", user("can I pay in instalments", "payment_methods", 0.8)),
            ("helpful", user("how do I wash linen", "care_instructions", 0.8)),
        ],
    }
    answers = {
        "unhelpful": bot_says("We take cards.", kind="retrieval", id="transcript:t-9"),
        "helpful": bot_says("At 40 degrees.", kind="retrieval", id="transcript:t-3"),
    }
    for sender, messages in conversations.items():
        events = []
        for name, message in messages:
            events += [message] + ([answers[name]] if name in answers else [])
        save(db_url, sender, events)
    log = ConversationLog(db_url)
    ids = {
        name: turn.event_id
        for sender, messages in conversations.items()
        for (name, _), turn in zip(messages, log.read(sender).user_turns, strict=True)
    }
    records = Records(db_url)
    records.record_feedback("c-2", "transcript:t-9", False, 3.0)
    records.record_feedback("c-2", "transcript:t-3", True, 9.0)
    ReviewStore(db_url).review_message(ids["reviewed"], "c-2", "dana", excluded=True)
    return ids


def test_candidates_are_unreviewed_messages_no_intent_covered(db_url, discovery_log):
    ids = discovery_log
    found = discovery_candidates(db_url, limit=100)

    assert [c.event_id for c in found] == sorted(
        [ids["fallback"], ids["out_of_scope"], ids["unhelpful"]], reverse=True
    )
    by_id = {c.event_id: c for c in found}
    fallback = by_id[ids["fallback"]]
    assert (fallback.conversation_id, fallback.text) == ("c-1", "do you do gift wrapping")
    assert (fallback.intent, fallback.confidence) == (FALLBACK_INTENT, pytest.approx(0.31))
    assert by_id[ids["out_of_scope"]].intent == "out_of_scope"
    assert by_id[ids["unhelpful"]].reason == NEGATIVE_FEEDBACK

    without_feedback = discovery_candidates(db_url, limit=100, negative_feedback=False)
    assert {c.event_id for c in without_feedback} == {ids["fallback"], ids["out_of_scope"]}
    assert len(discovery_candidates(db_url, limit=2)) == 2
    assert discovery_candidates(db_url, limit=2) == found[:2]  # the newest


def test_discover_prints_clusters_as_json(db_url, tiny_bert_dir, tmp_path, monkeypatch, capsys):
    from bot.cli import build_parser
    from bot.storage.reviews import ReviewStore

    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "toy.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: get_refund\n  examples: |\n    - refund please\n'
        "    - give me a refund\n- intent: greet\n  examples: |\n    - hello\n    - hi there\n"
    )
    same = "cancel my invoice account"  # identical texts: identical embeddings, one cluster
    for index in range(4):
        save(db_url, f"s-{index}", [user(same, FALLBACK_INTENT, 0.2)])
    save(
        db_url,
        "s-noise",
        [user("hello !", "out_of_scope", 0.6), user("track", "out_of_scope", 0.5)],
    )
    first = discovery_candidates(db_url, limit=100)[-1]
    ReviewStore(db_url).review_message(first.event_id, first.conversation_id, "dana")
    monkeypatch.setenv("SHOPDESK_DB_URL", db_url)
    args = build_parser().parse_args(
        ["discover", "--encoder", str(tiny_bert_dir), "--nlu", str(nlu), "--json"]
        + ["--distance-threshold", "0.0001", "--min-size", "3"]
    )

    assert args.handler(args) == 0

    found = json.loads(capsys.readouterr().out)
    assert (found["candidates"], found["unclustered"]) == (5, 2)
    [group] = found["clusters"]
    assert group["size"] == 3 and first.event_id not in group["members"]
    assert [r["text"] for r in group["representatives"]] == [same] * 3
    assert group["nearest_intent"] in ("get_refund", "greet")
    assert -1.0 <= group["similarity"] <= 1.0001
