"""Classifier inference on the CPU: float32 vs dynamic int8, side by side on the same models.

For each of 5 stratified folds of the NLU data in data/nlu/ (the folds of intent_benchmark.py), our
pipeline (config.yml) is trained once on the other four folds; its classifier is then loaded
from the model archive as float32, as the int8 copy with one scale per output channel that
`cpu_quantization` serves, and as plain per-tensor int8, and all three classify the held-out
fold. Reported: accuracy of each (the
classifier's own top intent, and with the FallbackClassifier's 0.4 threshold as served), and
single-message latency p50/p95 of `process` for 1 and 2 torch threads, measured interleaved
so that machine noise hits both variants alike.

    .venv/bin/python bench/inference_benchmark.py     # bench/results/inference.json + .png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from intent_benchmark import folds  # noqa: E402  (same folds as the DIET comparison)

ROOT = Path(__file__).resolve().parent.parent
FALLBACK_THRESHOLD = 0.4  # config.yml's FallbackClassifier
VARIANTS = ("float32", "int8 per-tensor", "int8 per-channel (served)")


def load_variant(archive: Path, storage_dir: Path, variant: str):
    import torch

    if variant == "int8 per-channel (served)":
        return load_classifier(archive, storage_dir, cpu_quantization=True)
    classifier = load_classifier(archive, storage_dir, cpu_quantization=False)
    if variant == "int8 per-tensor":
        classifier.model = torch.ao.quantization.quantize_dynamic(
            classifier.model, {torch.nn.Linear}, dtype=torch.qint8
        )
    return classifier


def load_classifier(archive: Path, storage_dir: Path, **overrides):
    """Our classifier from a model archive, as the Rasa server loads it, with config changes."""
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from bot.nlu.bert_intent_classifier import BertIntentClassifier

    storage, metadata = LocalModelStorage.from_model_archive(storage_dir, archive)
    node = next(
        node for node in metadata.predict_schema.nodes.values() if node.uses is BertIntentClassifier
    )
    context = ExecutionContext(metadata.predict_schema, metadata.model_id)
    return BertIntentClassifier.load({**node.config, **overrides}, storage, node.resource, context)


def accuracy(classifier, texts: list[str], gold: list[str]) -> dict[str, float]:
    probabilities = classifier.predict_proba(texts)
    top = probabilities.argmax(axis=1)
    predicted = [classifier.labels[i] for i in top]
    served = [
        p if probabilities[row, top[row]] >= FALLBACK_THRESHOLD else "nlu_fallback"
        for row, p in enumerate(predicted)
    ]
    return {
        "classifier": float(np.mean(np.array(predicted) == np.array(gold))),
        "with_fallback": float(np.mean(np.array(served) == np.array(gold))),
    }


def latencies(classifiers: dict, texts: list[str], threads: int, rounds: int) -> dict:
    """ms per single-message `process`, variants interleaved message by message."""
    import torch
    from rasa.shared.nlu.training_data.message import Message

    torch.set_num_threads(threads)
    timings: dict[str, list[float]] = {name: [] for name in classifiers}
    for _ in range(rounds):
        for text in texts:
            for name, classifier in classifiers.items():
                message = Message(data={"text": text})
                started = time.perf_counter()
                classifier.process([message])
                timings[name].append((time.perf_counter() - started) * 1000)
    return {
        name: {
            "p50_ms": float(np.percentile(values, 50)),
            "p95_ms": float(np.percentile(values, 95)),
            "messages": len(values),
        }
        for name, values in timings.items()
    }


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4))
    axes = figure.subplots()
    labels, p50, p95 = [], [], []
    for threads, by_variant in summary["latency"].items():
        for variant, numbers in by_variant.items():
            labels.append(f"{variant}\n{threads} thread{'s' if threads != '1' else ''}")
            p50.append(numbers["p50_ms"])
            p95.append(numbers["p95_ms"])
    x = np.arange(len(labels))
    axes.bar(x - 0.2, p50, 0.4, label="p50")
    axes.bar(x + 0.2, p95, 0.4, label="p95")
    axes.set_xticks(x, labels)
    axes.set_ylabel("ms per message")
    axes.set_title("BertIntentClassifier.process, one message, 2-core CPU")
    axes.axhline(5, color="grey", linestyle=":", linewidth=1)
    axes.axhline(10, color="grey", linestyle="--", linewidth=1)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3, help="latency passes over a fold")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "inference.json")
    args = parser.parse_args()

    import rasa.model_training
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    per_fold: list[dict] = []
    latency: dict[str, dict] = {}
    for fold, (train, test) in enumerate(folds(data, args.folds, args.seed)):
        with tempfile.TemporaryDirectory() as workdir:
            work = Path(workdir)
            RasaYAMLWriter().dump(work / "train.yml", train)
            started = time.perf_counter()
            archive = rasa.model_training.train_nlu(
                str(ROOT / "config.yml"), str(work / "train.yml"), str(work)
            )
            trained_in = time.perf_counter() - started
            classifiers = {
                name: load_variant(Path(archive), work / f"storage-{number}", name)
                for number, name in enumerate(VARIANTS)
            }
            texts = [example.get("text") for example in test]
            gold = [example.get("intent") for example in test]
            result = {
                "fold": fold + 1,
                "messages": len(texts),
                "train_seconds": trained_in,
                **{name: accuracy(c, texts, gold) for name, c in classifiers.items()},
            }
            if fold == 0:  # latency on the first fold's model and messages
                for threads in (1, 2):
                    latency[str(threads)] = latencies(classifiers, texts, threads, args.rounds)
        per_fold.append(result)
        scores = ", ".join(f"{name} {result[name]['classifier']:.4f}" for name in VARIANTS)
        print(f"fold {fold + 1} ({len(texts)} messages): {scores}", flush=True)
        args.out.with_suffix(".folds.json").write_text(json.dumps(per_fold, indent=2))

    total = sum(r["messages"] for r in per_fold)

    def pooled(variant: str, key: str) -> float:
        return sum(r[variant][key] * r["messages"] for r in per_fold) / total

    summary = {
        "command": f"python bench/inference_benchmark.py --folds {args.folds} --seed {args.seed}",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "messages": total,
        "accuracy": {
            variant: {key: pooled(variant, key) for key in ("classifier", "with_fallback")}
            for variant in VARIANTS
        },
        "latency": latency,
        "folds": per_fold,
    }
    summary["accuracy_drop_points"] = {
        name: 100
        * (summary["accuracy"]["float32"]["classifier"] - summary["accuracy"][name]["classifier"])
        for name in VARIANTS[1:]
    }
    args.out.write_text(json.dumps(summary, indent=2))
    plot(summary, args.out.with_name("classifier_latency.png"))
    print(
        json.dumps(
            {k: summary[k] for k in ("accuracy", "latency", "accuracy_drop_points")}, indent=2
        )
    )


if __name__ == "__main__":
    main()
