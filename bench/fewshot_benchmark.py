"""How well the intent classifier learns from few examples: BANKING77 k-shot, side by side.

For k examples per intent (5, 10, 20, sampled with seeds 0, 1, 2) and the full training set,
three pipelines are trained on the same messages through `rasa.model_training.train_nlu` (as
`rasa train nlu` does) and parse the 3,080 test messages through the loaded model
(`Agent.load(...).processor`, as the Rasa server does):

- ours: `config.yml`'s pipeline with the classifier's current defaults;
- today: the same pipeline with the settings shopdesk shipped before this benchmark
  (linear head on [CLS], 15 epochs, 10 % validation hold-out with early stopping);
- diet: Rasa's default pipeline (`bench/config_diet_default.yml`).

The FallbackClassifier (and the language and frustration signals) are left out of every
pipeline: the score is the classifier's choice.
BANKING77 is banking, not retail: it measures whether the training method generalises, not
whether it fits one shop (`../shared/datasets/README.md`).

    .venv/bin/python bench/fewshot_benchmark.py                      # everything (hours)
    .venv/bin/python bench/fewshot_benchmark.py --k 10 --pipelines ours diet
    .venv/bin/python bench/fewshot_benchmark.py --plot-only          # redraw from the JSON

Each finished cell is written to `bench/results/fewshot.json` at once (an interrupted run
keeps what it finished; `--resume` skips cells already there); `--plot-only` draws
`bench/results/fewshot.png` from it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "datasets" / "banking77"
RESULTS = ROOT / "bench" / "results" / "fewshot.json"
PLOT = ROOT / "bench" / "results" / "fewshot.png"
CLASSIFIER = "bot.nlu.bert_intent_classifier.BertIntentClassifier"

# The classifier settings shopdesk shipped before this benchmark, for the "today" column.
TODAY_SETTINGS = {
    "architecture": "cls_linear",
    "epochs": 15,
    "epochs_by_data_size": False,
    "validation_fraction": 0.1,
    "min_examples_for_validation": 200,
    "early_stopping_patience": 4,
    "augmentation_probability": 0.0,
    "label_smoothing": 0.0,
}


def read_split(name: str) -> list[tuple[str, str]]:
    with (DATASET / f"{name}.csv").open(newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def sample_k_shot(train: list[tuple[str, str]], k: int | None, seed: int) -> list[tuple[str, str]]:
    """k messages per intent, drawn with `random.Random(seed)`; None = the whole set."""
    if k is None:
        return list(train)
    by_intent: dict[str, list[str]] = {}
    for text, intent in train:
        by_intent.setdefault(intent, []).append(text)
    rng = random.Random(seed)
    return [
        (text, intent) for intent in sorted(by_intent) for text in rng.sample(by_intent[intent], k)
    ]


NOT_SCORED = {
    "FallbackClassifier",
    "bot.nlu.language_detector.LanguageDetector",
    "bot.nlu.frustration_detector.FrustrationDetector",
}


def pipeline_config(name: str, workdir: Path) -> Path:
    """The pipeline's config file, without the components that would override or follow the
    classifier's choice (fallback, language, frustration)."""
    source = ROOT / ("bench/config_diet_default.yml" if name == "diet" else "config.yml")
    config = yaml.safe_load(source.read_text())
    config["pipeline"] = [
        dict(component) for component in config["pipeline"] if component["name"] not in NOT_SCORED
    ]
    for component in config["pipeline"]:
        if component["name"] == CLASSIFIER:
            component["show_progress_bar"] = False
            if name == "today":
                component.update(TODAY_SETTINGS)
    config.pop("policies", None)
    path = workdir / f"config_{name}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_nlu(examples: list[tuple[str, str]], path: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={"text": text, "intent": intent}) for text, intent in examples]
    RasaYAMLWriter().dump(path, TrainingData(training_examples=messages))


async def run_cell(name: str, k: int | None, seed: int, train, test, workdir: Path) -> dict:
    import rasa.model_training
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from sklearn.metrics import accuracy_score, f1_score

    examples = sample_k_shot(train, k, seed)
    data_file = workdir / f"train_{k}_{seed}.yml"
    write_nlu(examples, data_file)
    config = pipeline_config(name, workdir)
    started = time.perf_counter()
    model = rasa.model_training.train_nlu(
        str(config), str(data_file), str(workdir / "models"), fixed_model_name=f"{name}-{k}-{seed}"
    )
    train_seconds = time.perf_counter() - started
    processor = Agent.load(model).processor
    gold, predicted = [], []
    for text, intent in test:
        parsed = await processor.parse_message(UserMessage(text))
        gold.append(intent)
        predicted.append(parsed["intent"]["name"])
    return {
        "pipeline": name,
        "k": k if k is not None else "full",
        "seed": seed,
        "train_examples": len(examples),
        "accuracy": accuracy_score(gold, predicted),
        "macro_f1": f1_score(gold, predicted, average="macro"),
        "train_seconds": round(train_seconds, 1),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def load_results() -> dict:
    if RESULTS.exists():
        return json.loads(RESULTS.read_text())
    return {"cells": []}


def save_results(results: dict) -> None:
    temporary = RESULTS.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(results, indent=2))
    temporary.replace(RESULTS)


def summary(cells: list[dict]) -> list[dict]:
    """Mean and spread over seeds for each (pipeline, k)."""
    import numpy as np

    groups: dict[tuple[str, str], list[dict]] = {}
    for cell in cells:
        groups.setdefault((cell["pipeline"], str(cell["k"])), []).append(cell)
    rows = []
    for (name, k), group in sorted(groups.items()):
        accuracies = [cell["accuracy"] for cell in group]
        rows.append(
            {
                "pipeline": name,
                "k": k,
                "seeds": sorted(cell["seed"] for cell in group),
                "accuracy_mean": float(np.mean(accuracies)),
                "accuracy_std": float(np.std(accuracies)),
                "macro_f1_mean": float(np.mean([cell["macro_f1"] for cell in group])),
                "train_seconds_mean": float(np.mean([cell["train_seconds"] for cell in group])),
            }
        )
    return rows


def plot(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = ["5", "10", "20", "full"]
    labels = {"ours": "ours (config.yml)", "today": "before (0.x settings)", "diet": "Rasa DIET"}
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name in ("ours", "today", "diet"):
        rows = {row["k"]: row for row in results["summary"] if row["pipeline"] == name}
        xs = [i for i, k in enumerate(order) if k in rows]
        if not xs:
            continue
        axes.errorbar(
            xs,
            [100 * rows[order[i]]["accuracy_mean"] for i in xs],
            yerr=[100 * rows[order[i]]["accuracy_std"] for i in xs],
            marker="o",
            capsize=3,
            label=labels[name],
        )
    axes.axhline(85.19, color="grey", linestyle="--", linewidth=0.8)
    axes.text(0, 85.6, "USE+ConveRT 10-shot (85.2)", fontsize=8, color="grey")
    axes.set_xticks(range(len(order)), ["5", "10", "20", "full (~130)"])
    axes.set_xlabel("training messages per intent")
    axes.set_ylabel("test accuracy, % (3,080 messages)")
    axes.set_title("BANKING77, all-MiniLM-L6-v2, 2 CPU cores (mean ± sd over seeds)")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(PLOT, dpi=120)


def markdown_table(results: dict) -> str:
    """The summary as the table in docs/benchmarks.md."""
    lines = [
        "| pipeline | k per intent | seeds | accuracy (mean ± sd) | macro-F1 | train s (mean) |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in results["summary"]:
        lines.append(
            f"| {row['pipeline']} | {row['k']} | {', '.join(map(str, row['seeds']))} | "
            f"{100 * row['accuracy_mean']:.1f} ± {100 * row['accuracy_std']:.1f} % | "
            f"{row['macro_f1_mean']:.3f} | {row['train_seconds_mean']:.0f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", nargs="+", default=["5", "10", "20", "full"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--pipelines", nargs="+", default=["ours", "today", "diet"])
    parser.add_argument("--resume", action="store_true", help="skip cells already in the JSON")
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args()

    results = load_results()
    if not args.plot_only:
        train, test = read_split("train"), read_split("test")
        results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
        done = {(c["pipeline"], str(c["k"]), c["seed"]) for c in results["cells"]}
        with tempfile.TemporaryDirectory() as tmp:
            for k_text in args.k:
                k = None if k_text == "full" else int(k_text)
                # The full set is one training run; seeds only change which k are drawn.
                seeds = [0] if k is None else args.seeds
                for seed in seeds:
                    for name in args.pipelines:
                        if args.resume and (name, k_text, seed) in done:
                            continue
                        cell = await run_cell(name, k, seed, train, test, Path(tmp))
                        print(json.dumps(cell), flush=True)
                        results["cells"] = [
                            c
                            for c in results["cells"]
                            if (c["pipeline"], str(c["k"]), c["seed"]) != (name, k_text, seed)
                        ] + [cell]
                        results["summary"] = summary(results["cells"])
                        save_results(results)
    results["summary"] = summary(results["cells"])
    save_results(results)
    plot(results)
    print(markdown_table(results))
    for row in results["summary"]:
        print(
            f"{row['pipeline']:6} k={row['k']:>4}  acc {100 * row['accuracy_mean']:.1f} "
            f"± {100 * row['accuracy_std']:.1f}  train {row['train_seconds_mean']:.0f} s  "
            f"seeds {row['seeds']}"
        )


if __name__ == "__main__":
    asyncio.run(main())
