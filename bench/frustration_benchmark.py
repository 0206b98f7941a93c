"""The frustration signal: VADER alone vs our cues vs our cues with the learned model, side by side.

- Measured on `tests/frustration_fresh.yml` (285 messages written by someone who saw neither
  the cues nor the examples): precision, recall and F1 for "frustrated", and the misses.
- Cross-validated on the examples (`data/frustration.yml` plus the intents' examples as calm
  messages, as `train` uses them; 5 folds): how the model's C and
  probability threshold in `get_default_config` were chosen, never on the fresh set.
- Flagged share on messages written by others and mostly calm (BANKING77's 3,080 test
  messages, `tests/nlu_heldout.yml`): false alarms, roughly.
- Per-message latency of `process`, one message at a time as the server parses.

    .venv/bin/python bench/frustration_benchmark.py   # -> bench/results/frustration.json
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from signals_benchmark import banking77_texts, nlu_heldout_texts, prf  # noqa: E402

EXAMPLES = ROOT / "data" / "frustration.yml"
FRESH = ROOT / "tests" / "frustration_fresh.yml"
RESULT = ROOT / "bench" / "results" / "frustration.json"
C_GRID = (0.5, 1.0, 4.0, 16.0)
THRESHOLD_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
FOLDS = 5


def load_fresh() -> tuple[list[str], list[bool]]:
    messages = yaml.safe_load(FRESH.read_text())["messages"]
    return [str(m["text"]) for m in messages], [bool(m["frustrated"]) for m in messages]


def cross_validate(detector, encoder, texts: list[str], labels: list[bool]) -> dict:
    """CV F1 of the model for each (C, threshold): how the defaults were chosen."""
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.frustration_model import FrustrationModel

    embeddings = encoder.embed(texts)
    gold = np.asarray(labels)
    grid = []
    for c in C_GRID:
        probabilities = np.zeros(len(texts))
        for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(
            embeddings, gold
        ):
            model = FrustrationModel.fit_embeddings(
                encoder, embeddings[train], list(gold[train]), c
            )
            probabilities[test] = model.probabilities_of(embeddings[test])
        for threshold in THRESHOLD_GRID:
            # The model alone: the cues were written on these examples and catch nearly all
            # of their frustrated ones, so with them every threshold looks alike.
            predicted = [bool(x) for x in probabilities >= threshold]
            grid.append({"C": c, "threshold": threshold, **prf(predicted, labels)})
    best = max(grid, key=lambda row: row["f1"])
    return {"folds": FOLDS, "grid": grid, "best": best}


def latency_ms(detector, texts: list[str]) -> dict[str, float]:
    from rasa.shared.nlu.training_data.message import Message

    timings = []
    for text in texts:
        message = Message(data={"text": text})
        start = time.perf_counter()
        detector.process([message])
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {"mean_ms": round(statistics.fmean(timings), 3),
            "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 3)}  # fmt: skip


def main() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from bot.nlu.frustration_detector import FrustrationDetector
    from bot.nlu.frustration_model import FrustrationModel, load_examples

    cues_only = FrustrationDetector({"examples": None})
    config = cues_only.get_default_config()
    encoder = cues_only._encoder()
    from rasa.shared.nlu.training_data.loading import load_data

    texts, labels = load_examples(EXAMPLES)
    calm = cues_only.calm_intent_examples(load_data(str(ROOT / "data" / "nlu")))
    texts, labels = texts + calm, labels + [False] * len(calm)  # as `train` does
    selection = cross_validate(cues_only, encoder, texts, labels)
    model = FrustrationModel.fit(encoder, texts, labels, float(config["regularization"]))
    with_model = FrustrationDetector({}, model=model)
    vader = SentimentIntensityAnalyzer()

    def methods(batch: list[str]) -> dict[str, list[bool]]:
        return {
            "vader": [vader.polarity_scores(t)["compound"] <= -0.05 for t in batch],
            "cues": [cues_only.score(t)["frustrated"] for t in batch],
            "cues_and_model": [s["frustrated"] for s in with_model.score_texts(batch)],
        }

    fresh_texts, fresh_labels = load_fresh()
    fresh = {}
    for name, predicted in methods(fresh_texts).items():
        misses = [t for t, p, g in zip(fresh_texts, predicted, fresh_labels, strict=True) if p != g]
        fresh[name] = {**prf(predicted, fresh_labels), "misses": misses}
    flagged = {}
    for name, batch in {"banking77": banking77_texts(), "nlu_heldout": nlu_heldout_texts()}.items():
        said = methods(batch)
        flagged[name] = {"messages": len(batch)}
        for method, predicted in said.items():
            flagged[name][method] = round(sum(predicted) / len(batch), 4)
        flagged[name]["cues_and_model_examples"] = [
            t for t, p in zip(batch, said["cues_and_model"], strict=True) if p
        ][:30]
    results = {
        "examples": {
            "file": str(EXAMPLES.relative_to(ROOT)),
            "messages": len(texts),
            "frustrated": sum(labels),
            "calm_intent_examples": len(calm),
        },  # fmt: skip
        "fresh": {"messages": len(fresh_texts), "frustrated": sum(fresh_labels), **fresh},
        "selection_on_examples": selection,
        "flagged": flagged,
        "latency": {
            "cues": latency_ms(cues_only, fresh_texts),
            "cues_and_model": latency_ms(with_model, fresh_texts),
        },
        "config": {k: v for k, v in config.items() if k != "cue_weights"},
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"fresh set ({len(fresh_texts)}, {sum(fresh_labels)} frustrated):")
    for name in ("vader", "cues", "cues_and_model"):
        row = {k: v for k, v in fresh[name].items() if k != "misses"}
        print(f"  {name:15} {row}")
    print("chosen on the examples by CV:", selection["best"])
    for name, row in flagged.items():
        print(f"flagged {name}: { {k: v for k, v in row.items() if not k.endswith('examples')} }")
    print("latency", results["latency"])
    print(f"-> {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
