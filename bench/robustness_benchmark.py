"""Store accuracy against off-topic rejection, for trained models side by side.

Every model given with `--model NAME=ARCHIVE` parses, through the loaded Rasa pipeline, the
three sets that were never trained on:

- `tests/nlu_heldout.yml`: store and small-talk messages written with the training data;
- `tests/nlu_robustness.yml`: store messages written separately, in real customers' styles;
- `tests/offtopic_heldout.yml`: messages about other domains, written separately.

For each FallbackClassifier threshold in `--thresholds` (the ambiguity threshold stays as in
config.yml) it reports store accuracy (a fallback counts as wrong) and the share of off-topic
messages declined (out_of_scope or nlu_fallback), computed from the classifier's own ranking,
so one parse serves every threshold.

    .venv/bin/python bench/robustness_benchmark.py --model after=models/latest.tar.gz \\
        --model before=/tmp/before/models/old.tar.gz     # -> bench/results/robustness.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "heldout": ROOT / "tests" / "nlu_heldout.yml",
    "robustness": ROOT / "tests" / "nlu_robustness.yml",
    "offtopic": ROOT / "tests" / "offtopic_heldout.yml",
}
DECLINED = {"out_of_scope", "nlu_fallback"}
FALLBACK = "nlu_fallback"


def decide(ranking: list[dict], threshold: float, ambiguity: float) -> str:
    """What FallbackClassifier makes of a ranking (rasa/nlu/classifiers/fallback_classifier.py)."""
    ranking = [entry for entry in ranking if entry["name"] != FALLBACK]
    top = ranking[0]["confidence"]
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    if top < threshold or top - second < ambiguity:
        return FALLBACK
    return ranking[0]["name"]


async def parse_sets(archive: Path) -> dict[str, list[tuple[str, str, list[dict]]]]:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.nlu.training_data.loading import load_data

    processor = Agent.load(str(archive)).processor
    parsed = {}
    for name, path in SETS.items():
        rows = []
        for example in load_data(str(path)).intent_examples:
            result = await processor.parse_message(UserMessage(example.get("text")))
            rows.append((example.get("text"), example.get("intent"), result["intent_ranking"]))
        parsed[name] = rows
    return parsed


def score(parsed: dict, threshold: float, ambiguity: float) -> dict:
    out = {}
    for name, rows in parsed.items():
        predicted = [decide(ranking, threshold, ambiguity) for _, _, ranking in rows]
        gold = [intent for _, intent, _ in rows]
        if name == "offtopic":
            out["offtopic_declined"] = sum(p in DECLINED for p in predicted) / len(rows)
            claimed: dict[str, int] = {}
            for p in predicted:
                if p not in DECLINED:
                    claimed[p] = claimed.get(p, 0) + 1
            out["offtopic_claimed_as"] = dict(sorted(claimed.items(), key=lambda kv: -kv[1]))
        else:
            out[f"{name}_accuracy"] = sum(
                p == g for p, g in zip(predicted, gold, strict=True)
            ) / len(rows)
            out[f"{name}_fallback"] = sum(p == FALLBACK for p in predicted) / len(rows)
        out[f"{name}_messages"] = len(rows)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="NAME=ARCHIVE")
    parser.add_argument(
        "--thresholds", nargs="+", type=float, default=[0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    )
    parser.add_argument("--ambiguity", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "robustness.json")
    args = parser.parse_args()

    results: dict = {"ambiguity_threshold": args.ambiguity, "models": {}}
    for spec in args.model:
        name, archive = spec.split("=", 1)
        parsed = await parse_sets(Path(archive))
        results["models"][name] = {
            "archive": archive,
            "by_threshold": {str(t): score(parsed, t, args.ambiguity) for t in args.thresholds},
            "misses_at_0.4": [
                {"text": text, "gold": gold, "predicted": decide(ranking, 0.4, args.ambiguity)}
                for rows in parsed.values()
                for text, gold, ranking in rows
                if decide(ranking, 0.4, args.ambiguity) != gold
                and not (
                    gold == "out_of_scope" and decide(ranking, 0.4, args.ambiguity) in DECLINED
                )
            ],
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"{'model':8} {'thr':>4} {'heldout':>8} {'robust':>8} {'r-fallb':>8} {'offtopic':>9}")
    for name, model in results["models"].items():
        for threshold, s in model["by_threshold"].items():
            print(
                f"{name:8} {threshold:>4} {100 * s['heldout_accuracy']:8.1f} "
                f"{100 * s['robustness_accuracy']:8.1f} {100 * s['robustness_fallback']:8.1f} "
                f"{100 * s['offtopic_declined']:9.1f}"
            )
    print(f"written to {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
