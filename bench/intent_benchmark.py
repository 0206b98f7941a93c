"""Our BERT pipeline vs Rasa's default DIET pipeline, side by side on the same folds.

For each of 5 stratified folds of the NLU data in data/nlu/, both pipelines are trained on the other
four folds (`rasa.model_training.train_nlu`, as `rasa train nlu` does) and parse the held-out
fold one message at a time through the loaded model (`Agent.load(...).processor`, as the Rasa
server does). Reported per pipeline: intent accuracy and macro-F1 over all folds, training
time per fold, and single-message latency (p50/p95) of the intent classifier's `process`
call alone and of the whole NLU pipeline.

    .venv/bin/python bench/intent_benchmark.py            # writes bench/results/intent.json
    .venv/bin/python bench/intent_benchmark.py --folds 2  # quicker look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = {
    "bert (ours, config.yml)": ROOT / "config.yml",
    "diet (rasa default)": ROOT / "bench" / "config_diet_default.yml",
}
CLASSIFIER_CLASSES = ("BertIntentClassifier", "DIETClassifier")


def folds(data, n_folds: int, seed: int):
    """The same stratified folds for every pipeline."""
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    examples = data.intent_examples
    labels = [example.get("intent") for example in examples]
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(examples, labels):
        train = TrainingData(
            training_examples=[examples[i] for i in train_idx],
            regex_features=data.regex_features,
        )
        yield train, [examples[i] for i in test_idx]


def time_classifier_calls(processor) -> list[float]:
    """Wrap the intent classifier's `process` in the loaded graph to time it alone.

    Rasa's GraphNode calls the class function it looked up at start (`node._fn(component,
    ...)`), so that is what gets wrapped, not the instance's method.
    """
    timings: list[float] = []
    for node in processor.graph_runner._instantiated_nodes.values():
        if type(node._component).__name__ in CLASSIFIER_CLASSES and node._fn_name == "process":
            original = node._fn

            def timed(component, _original=original, **kwargs):
                started = time.perf_counter()
                result = _original(component, **kwargs)
                timings.append(time.perf_counter() - started)
                return result

            node._fn = timed
    return timings


async def evaluate_fold(config: Path, train, test, workdir: Path) -> dict:
    import rasa.model_training
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    data_file = workdir / "train.yml"
    RasaYAMLWriter().dump(data_file, train)
    started = time.perf_counter()
    model = rasa.model_training.train_nlu(str(config), str(data_file), str(workdir))
    train_seconds = time.perf_counter() - started

    processor = Agent.load(model).processor
    classifier_seconds = time_classifier_calls(processor)
    await processor.parse_message(UserMessage("warm up"))
    classifier_seconds.clear()
    gold, predicted, pipeline_seconds = [], [], []
    for example in test:
        started = time.perf_counter()
        parsed = await processor.parse_message(UserMessage(example.get("text")))
        pipeline_seconds.append(time.perf_counter() - started)
        gold.append(example.get("intent"))
        # nlu_fallback counts as wrong: the customer would not get the intent's answer.
        predicted.append(parsed["intent"]["name"])
    return {
        "train_seconds": train_seconds,
        "gold": gold,
        "predicted": predicted,
        "classifier_ms": [s * 1000 for s in classifier_seconds],
        "pipeline_ms": [s * 1000 for s in pipeline_seconds],
    }


def summarise(fold_results: list[dict]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    gold = [g for r in fold_results for g in r["gold"]]
    predicted = [p for r in fold_results for p in r["predicted"]]
    classifier_ms = np.array([t for r in fold_results for t in r["classifier_ms"]])
    pipeline_ms = np.array([t for r in fold_results for t in r["pipeline_ms"]])
    return {
        "accuracy": accuracy_score(gold, predicted),
        "macro_f1": f1_score(gold, predicted, average="macro", labels=sorted(set(gold))),
        "fold_accuracy": [accuracy_score(r["gold"], r["predicted"]) for r in fold_results],
        "train_seconds_per_fold": float(np.mean([r["train_seconds"] for r in fold_results])),
        "classifier_latency_ms_p50": float(np.percentile(classifier_ms, 50)),
        "classifier_latency_ms_p95": float(np.percentile(classifier_ms, 95)),
        "pipeline_latency_ms_p50": float(np.percentile(pipeline_ms, 50)),
        "pipeline_latency_ms_p95": float(np.percentile(pipeline_ms, 95)),
        "test_messages": len(gold),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--only-folds", type=int, default=None, help="evaluate just the first N of the folds"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "intent.json")
    args = parser.parse_args()

    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(args.data))
    results: dict[str, list[dict]] = {name: [] for name in PIPELINES}
    for fold, (train, test) in enumerate(folds(data, args.folds, args.seed)):
        if args.only_folds is not None and fold >= args.only_folds:
            break
        for name, config in PIPELINES.items():
            with tempfile.TemporaryDirectory() as workdir:
                result = await evaluate_fold(config, train, test, Path(workdir))
            assert result["classifier_ms"], f"{name}: the classifier's process was not timed"
            results[name].append(result)
            partial = args.out.with_suffix(".folds.json")  # kept if a later fold fails
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(results))
            accuracy = np.mean(np.array(result["gold"]) == np.array(result["predicted"]))
            print(
                f"fold {fold + 1}/{args.folds} {name}: accuracy {accuracy:.3f}, "
                f"trained in {result['train_seconds']:.0f} s",
                flush=True,
            )

    summary = {
        "command": "python bench/intent_benchmark.py "
        + f"--folds {args.folds} --seed {args.seed}"
        + (f" --only-folds {args.only_folds}" if args.only_folds else ""),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "data": str(args.data.relative_to(ROOT)),
        "pipelines": {name: summarise(fold_results) for name, fold_results in results.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    header = f"{'pipeline':26} {'acc':>6} {'macroF1':>8} {'train s':>8} {'clf p50/p95 ms':>15}"
    print("\n" + header + f" {'pipeline p50/p95 ms':>20}")
    for name, s in summary["pipelines"].items():
        print(
            f"{name:26} {s['accuracy']:6.3f} {s['macro_f1']:8.3f} "
            f"{s['train_seconds_per_fold']:8.0f} "
            f"{s['classifier_latency_ms_p50']:7.1f}/{s['classifier_latency_ms_p95']:<7.1f} "
            f"{s['pipeline_latency_ms_p50']:10.1f}/{s['pipeline_latency_ms_p95']:<8.1f}"
        )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
