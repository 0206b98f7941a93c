"""The retrain gate's rule (`bot.learning.retrain.is_not_worse`) and the sets it scores on: pure
functions, no model. The gate on real models is in tests/e2e/test_learning_loop.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.learning.retrain import (
    GATE_SETS,
    SET_TOLERANCE,
    Evaluation,
    RetrainError,
    gate_sets,
    is_not_worse,
)

SETS = ("nlu_heldout.yml", "nlu_robustness.yml", "offtopic_heldout.yml")


def scored(*accuracies: float) -> Evaluation:
    by_set = dict(zip(SETS, accuracies, strict=True))
    overall = sum(accuracies) / len(accuracies)
    return Evaluation(Path("m.tar.gz"), overall, overall, overall, 800, by_set)


def test_a_model_better_on_the_robustness_set_is_promoted_though_held_out_ties():
    # The case the single-file gate could not see: both 169/170 on the held-out file.
    assert is_not_worse(scored(0.994, 0.95, 0.91), scored(0.994, 0.90, 0.91))


def test_a_better_mean_does_not_buy_a_fall_on_one_set():
    served = scored(0.99, 0.93, 0.91)
    candidate = scored(0.99, 0.99, 0.91 - SET_TOLERANCE - 0.01)  # off-topic fell
    assert sum(candidate.by_set.values()) > sum(served.by_set.values())
    assert not is_not_worse(candidate, served)


def test_one_message_of_noise_on_a_set_does_not_block_a_better_model():
    served = scored(0.994, 0.93, 0.91)
    candidate = scored(0.988, 0.95, 0.91)  # one held-out message fewer, robustness better
    assert is_not_worse(candidate, served)


def test_a_lower_mean_is_not_promoted_and_ties_are():
    assert not is_not_worse(scored(0.99, 0.92, 0.91), scored(0.99, 0.93, 0.91))
    assert is_not_worse(scored(0.99, 0.93, 0.91), scored(0.99, 0.93, 0.91))
    assert is_not_worse(scored(0.5, 0.5, 0.5), None)  # nothing served yet


def test_the_gate_scores_on_every_held_out_set_and_the_extra_file(tmp_path: Path):
    assert [path.name for path in gate_sets()] == list(SETS)
    assert all(path.is_file() for path in GATE_SETS)
    extra = tmp_path / "more.yml"
    extra.write_text('version: "3.1"\nnlu: []\n')
    assert gate_sets(extra)[-1] == extra
    assert gate_sets(GATE_SETS[0]) == gate_sets()  # the default file is not counted twice
    with pytest.raises(RetrainError, match="no test data"):
        gate_sets(tmp_path / "missing.yml")
