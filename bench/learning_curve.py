"""How fast the classifier improves per message a person reviews: review strategies side by side.

BANKING77 (`../shared/datasets/banking77/`) plays a shop's traffic. The bot starts from k
examples per intent (`--start-k`, 10); the rest of the 10,003 training messages are the stream
of customer messages, their labels hidden until "reviewed". Each round the served model
classifies the unreviewed stream, the review queue picks the next `--batch` messages by its
strategy, their gold labels join the training data, and the model is fine-tuned from the served
one as `shopdesk retrain --finetune` does (`rasa.model_training.train_nlu` with
`model_to_finetune`, `--epoch-fraction`, 0.3 as in bot/learning/retrain.py), or trained anew with
`--full-retrain`. Accuracy on the 3,080 test messages is recorded after every round.

Strategies (the review queue's orders):
- random: the stream in random order (what reviewing "whatever comes" gives);
- lowest_confidence: the smallest top-1 confidence first;
- margin: the smallest gap between the top-1 and top-2 confidences first;
- cluster_margin: the stream cut into `--batch` clusters (k-means over the packaged encoder's
  sentence embeddings), the smallest-margin message of each: uncertain and diverse.

The pipeline is config.yml's without the fallback and the signals (as bench/fewshot_benchmark.py).

    .venv/bin/python bench/learning_curve.py                  # rounds of 250: random to 1,000,
                                                              # the others to 500 (the target)
    .venv/bin/python bench/learning_curve.py --plot-only      # redraw from the JSON

Results go to `bench/results/learning_curve.json` after every round (an interrupted run keeps
what it finished) and the plot to `bench/results/learning_curve.png`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fewshot_benchmark import ROOT, pipeline_config, read_split, sample_k_shot, write_nlu  # noqa: E402
from inference_benchmark import load_classifier  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "learning_curve.json"
PLOT = ROOT / "bench" / "results" / "learning_curve.png"
STRATEGIES = ("random", "lowest_confidence", "margin", "cluster_margin")


def uncertainty(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 confidence and top-1 minus top-2 margin, one per row."""
    ordered = np.sort(probabilities, axis=1)
    return ordered[:, -1], ordered[:, -1] - ordered[:, -2]


def pick(
    strategy: str,
    probabilities: np.ndarray,
    embeddings: np.ndarray,
    batch: int,
    rng: random.Random,
) -> list[int]:
    """Row numbers of the unreviewed stream to review next, by the strategy."""
    rows = len(probabilities)
    if rows <= batch:
        return list(range(rows))
    confidence, margin = uncertainty(probabilities)
    if strategy == "random":
        return rng.sample(range(rows), batch)
    if strategy == "lowest_confidence":
        return [int(i) for i in np.argsort(confidence, kind="stable")[:batch]]
    if strategy == "margin":
        return [int(i) for i in np.argsort(margin, kind="stable")[:batch]]
    if strategy == "cluster_margin":
        from sklearn.cluster import MiniBatchKMeans

        clusters = MiniBatchKMeans(n_clusters=batch, random_state=rng.randrange(2**31), n_init=3)
        labels = clusters.fit_predict(embeddings)
        chosen = []
        for cluster in range(batch):
            members = np.flatnonzero(labels == cluster)
            if len(members):
                chosen.append(int(members[np.argmin(margin[members])]))
        return chosen
    raise ValueError(f"unknown strategy {strategy!r}")


def sentence_embeddings(texts: list[str]) -> np.ndarray:
    """Unit-length embeddings of the packaged encoder (for cluster_margin), as discovery makes."""
    from bot.learning.discovery import embed
    from bot.nlu.base_model import packaged_minilm_path

    return embed(texts, packaged_minilm_path())


def train(examples, workdir: Path, name: str, args, served: Path | None) -> tuple[Path, float]:
    import rasa.model_training

    data_file = workdir / f"{name}.yml"
    write_nlu(examples, data_file)
    started = time.perf_counter()
    finetune = served is not None and not args.full_retrain
    model = rasa.model_training.train_nlu(
        str(pipeline_config("ours", workdir)),
        str(data_file),
        str(workdir / "models"),
        fixed_model_name=name,
        model_to_finetune=str(served) if finetune else None,
        finetuning_epoch_fraction=args.epoch_fraction if finetune else 1.0,
    )
    return Path(model), time.perf_counter() - started


def classify(model: Path, texts: list[str], workdir: Path) -> tuple[np.ndarray, list[str]]:
    storage = Path(tempfile.mkdtemp(dir=workdir, prefix="storage-"))
    classifier = load_classifier(model, storage)
    return classifier.predict_proba(texts), list(classifier.labels)


def test_accuracy(model: Path, test: list[tuple[str, str]], workdir: Path) -> float:
    probabilities, labels = classify(model, [t for t, _ in test], workdir)
    predicted = np.array(labels)[probabilities.argmax(axis=1)]
    return float(np.mean(predicted == np.array([i for _, i in test])))


def save(results: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))


def run(args: argparse.Namespace) -> dict:
    train_set, test = read_split("train"), read_split("test")
    seed_set = sample_k_shot(train_set, args.start_k, args.seed)
    seen = set(seed_set)
    stream = [example for example in train_set if example not in seen]
    rng = random.Random(args.seed)
    if args.stream_size:
        stream = rng.sample(stream, args.stream_size)
    if args.test_size:
        test = random.Random(args.seed + 1).sample(test, args.test_size)
    results = {
        "command": "python bench/learning_curve.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs",
        "start_k": args.start_k, "batch": args.batch, "rounds": args.rounds,
        "other_rounds": args.other_rounds or args.rounds,
        "stream": len(stream), "test": len(test),
        "retrain": "full" if args.full_retrain else f"finetune x{args.epoch_fraction}",
        "curves": {},
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="learning-curve-") as folder:
        workdir = Path(folder)
        start_model, seconds = train(seed_set, workdir, "start", args, None)
        start = {"reviewed": 0, "accuracy": test_accuracy(start_model, test, workdir),
                 "train_seconds": round(seconds, 1)}  # fmt: skip
        print(f"start: {start['accuracy']:.4f} ({seconds:.0f} s)", flush=True)
        needs_embeddings = "cluster_margin" in args.strategies
        embeddings = sentence_embeddings([t for t, _ in stream]) if needs_embeddings else None
        for strategy in args.strategies:
            curve, served, reviewed = [start], start_model, list(seed_set)
            unreviewed = list(range(len(stream)))
            strategy_rng = random.Random(args.seed)
            rounds = args.rounds if strategy == "random" else args.other_rounds or args.rounds
            for round_number in range(1, rounds + 1):
                texts = [stream[i][0] for i in unreviewed]
                probabilities, _ = classify(served, texts, workdir)
                vectors = embeddings[unreviewed] if embeddings is not None else np.zeros((0,))
                chosen = pick(strategy, probabilities, vectors, args.batch, strategy_rng)
                picked = {unreviewed[row] for row in chosen}
                reviewed += [stream[i] for i in sorted(picked)]
                unreviewed = [i for i in unreviewed if i not in picked]
                name = f"{strategy}-{round_number}"
                served, seconds = train(reviewed, workdir, name, args, served)
                point = {
                    "reviewed": round_number * args.batch,
                    "accuracy": test_accuracy(served, test, workdir),
                    "train_seconds": round(seconds, 1),
                    "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(
                        timespec="seconds"
                    ),
                }
                curve.append(point)
                print(f"{name}: {point['accuracy']:.4f} ({seconds:.0f} s)", flush=True)
                results["curves"][strategy] = curve
                save(results)
    results["verdict"] = verdict(results)
    save(results)
    return results


def labels_to_reach(curve: list[dict], accuracy: float) -> int | None:
    return next((p["reviewed"] for p in curve if p["accuracy"] >= accuracy), None)


def verdict(results: dict) -> dict:
    """Labels each strategy needs to reach random's final accuracy, and the winner."""
    curves = results["curves"]
    if "random" not in curves:
        return {}
    target = curves["random"][-1]["accuracy"]
    needed = {name: labels_to_reach(curve, target) for name, curve in curves.items()}
    reached = {name: n for name, n in needed.items() if n is not None}
    random_labels = curves["random"][-1]["reviewed"]
    others = {name: n for name, n in reached.items() if name != "random"}
    # The winner matches random's final accuracy with the fewest labels; when none does within
    # its rounds, the one with the best accuracy at its last point.
    if others:
        winner = min(others, key=lambda name: (others[name], -curves[name][-1]["accuracy"]))
    else:
        candidates = [name for name in curves if name != "random"] or ["random"]
        winner = max(candidates, key=lambda name: curves[name][-1]["accuracy"])
    return {
        "random_final_accuracy": target,
        "random_labels": random_labels,
        "labels_to_match_random": needed,  # None: not matched within the strategy's rounds
        "reviewed_per_strategy": {name: curve[-1]["reviewed"] for name, curve in curves.items()},
        "winner": winner,
        "target_met": winner in others and others[winner] <= random_labels / 2,
    }


def plot(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for name, curve in results["curves"].items():
        axes.plot([p["reviewed"] for p in curve], [100 * p["accuracy"] for p in curve],
                  marker="o", label=name)  # fmt: skip
    axes.set_xlabel("messages reviewed")
    axes.set_ylabel("BANKING77 test accuracy (%)")
    axes.set_title(f"Review order, from {results['start_k']} examples per intent")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.savefig(PLOT, dpi=120, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start-k", type=int, default=10)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--other-rounds",
        type=int,
        default=2,
        help="rounds of the strategies other than random (0: --rounds): the target asks whether "
        "they match random's final accuracy with at most half its labels, so half is enough",
    )
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch-fraction", type=float, default=0.3)
    parser.add_argument("--full-retrain", action="store_true")
    parser.add_argument("--stream-size", type=int, help="a random share of the stream only")
    parser.add_argument("--test-size", type=int, help="a random share of the test set only")
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if args.plot_only else run(args)
    plot(results)
    print(json.dumps(results.get("verdict", {}), indent=2))


if __name__ == "__main__":
    main()
