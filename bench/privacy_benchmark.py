"""Precision and recall of the personal-data masker, per kind, on a labelled set.

Why: the export masks e-mails, phones, card numbers, addresses and names before chat logs
become training data; this says how much it finds and how much it takes that is not there.
The set, `tests/privacy_eval.yml`, was written by us (see its header), so the figures are
optimistic: a masker does better on messages written by the people who know its rules.

Matching is span-level, for each kind (EMAIL, PHONE, CARD, ADDRESS, NAME):

- overlap (the headline figure): a predicted span of a kind is correct if it shares at least
  one character with a labelled span of the same kind; a labelled span is found if at least
  one predicted span of the same kind shares a character with it. Precision = correct
  predicted / predicted, recall = found labelled / labelled. One address masked in two
  pieces is one labelled span found and two correct predictions.
- exact: the same, but start and end must both be equal.
- hidden: a labelled span whose every non-space character is inside some predicted span of
  any kind (an address masked as a name is still hidden). What matters for privacy.

On the messages without personal data: the share with at least one predicted span (the
false-positive rate), and the predicted spans by kind. The JSON holds only what the masker
decides (no timings, no module name), so two runs on the same set can be compared with
`diff`; `predictions_sha256` is a digest of every predicted span of every message.

    .venv/bin/python bench/privacy_benchmark.py   # -> bench/results/privacy.json

`--module` scores another module with the same `find_personal_data` (the figures before
issue 15 split the masker into a package came from `--module bot.privacy`).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVAL_SET = ROOT / "tests" / "privacy_eval.yml"
RESULT = ROOT / "bench" / "results" / "privacy.json"
KINDS = ("EMAIL", "PHONE", "CARD", "ADDRESS", "NAME")
FIGURES = ("precision_overlap", "recall_overlap", "precision_exact", "recall_exact", "hidden")


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Message:
    group: str
    text: str
    gold: tuple[Span, ...]


def load_set(path: Path) -> list[Message]:
    """The labelled messages; refuses a span whose offsets do not point at its value."""
    messages = []
    for i, item in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]):
        text = str(item["text"])
        gold = []
        for span in item["spans"]:
            if span["type"] not in KINDS or text[span["start"] : span["end"]] != span["value"]:
                raise ValueError(f"{path.name} message {i}: bad span {span!r}")
            gold.append(Span(span["type"], span["start"], span["end"]))
        messages.append(Message(str(item["group"]), text, tuple(gold)))
    return messages


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def hidden(text: str, gold: Span, predicted: list[Span]) -> bool:
    covered = set()
    for p in predicted:
        covered.update(range(p.start, p.end))
    return all(i in covered or text[i].isspace() for i in range(gold.start, gold.end))


def score(messages: list[Message], predictions: list[list[Span]]) -> dict:
    counts: dict[str, Counter] = {kind: Counter() for kind in KINDS}
    by_group: dict[str, Counter] = defaultdict(Counter)
    misses, false_positives = [], []
    clean_flagged = 0
    clean_kinds: Counter = Counter()
    for message, predicted in zip(messages, predictions, strict=True):
        for p in predicted:
            same = [g for g in message.gold if g.kind == p.kind]
            c = counts[p.kind]
            c["predicted"] += 1
            c["predicted_overlap"] += any(p.overlaps(g) for g in same)
            c["predicted_exact"] += any((p.start, p.end) == (g.start, g.end) for g in same)
            if not any(p.overlaps(g) for g in same):
                false_positives.append(
                    {"kind": p.kind, "value": message.text[p.start : p.end], "text": message.text}
                )
        for g in message.gold:
            same = [p for p in predicted if p.kind == g.kind]
            c = counts[g.kind]
            c["labelled"] += 1
            found = any(p.overlaps(g) for p in same)
            c["found_overlap"] += found
            c["found_exact"] += any((p.start, p.end) == (g.start, g.end) for p in same)
            c["hidden"] += hidden(message.text, g, predicted)
            by_group[message.group]["labelled"] += 1
            by_group[message.group]["found"] += found
            if not found:
                misses.append(
                    {
                        "kind": g.kind,
                        "group": message.group,
                        "value": message.text[g.start : g.end],
                        "masked_as": sorted({p.kind for p in predicted if p.overlaps(g)}),
                        "text": message.text,
                    }
                )
        if not message.gold:
            by_group[message.group]["messages"] += 1
            by_group[message.group]["flagged"] += bool(predicted)
            clean_flagged += bool(predicted)
            clean_kinds.update(p.kind for p in predicted)

    per_kind = {}
    for kind, c in counts.items():
        per_kind[kind] = {
            "messages": sum(any(g.kind == kind for g in m.gold) for m in messages),
            "labelled_spans": c["labelled"],
            "predicted_spans": c["predicted"],
            "precision_overlap": ratio(c["predicted_overlap"], c["predicted"]),
            "recall_overlap": ratio(c["found_overlap"], c["labelled"]),
            "precision_exact": ratio(c["predicted_exact"], c["predicted"]),
            "recall_exact": ratio(c["found_exact"], c["labelled"]),
            "hidden": ratio(c["hidden"], c["labelled"]),
        }
    clean = sum(not m.gold for m in messages)
    groups = {}
    for group, c in by_group.items():
        if c["labelled"]:
            groups[group] = {
                "labelled": c["labelled"],
                "recall_overlap": ratio(c["found"], c["labelled"]),
            }
        else:
            groups[group] = {"messages": c["messages"], "flagged": c["flagged"]}
    return {
        "per_kind": per_kind,
        "clean": {
            "messages": clean,
            "flagged": clean_flagged,
            "false_positive_rate": ratio(clean_flagged, clean),
            "predicted_spans_by_kind": dict(sorted(clean_kinds.items())),
        },
        "groups": groups,
        "misses": misses,
        "false_positives": false_positives,
    }


def digest(predictions: list[list[Span]]) -> str:
    rows = [[[p.kind, p.start, p.end] for p in predicted] for predicted in predictions]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def print_table(results: dict) -> None:
    headings = ("P ovl", "R ovl", "P ex", "R ex", "hidden")
    print(f"{'kind':8} {'msgs':>5} {'spans':>5} " + " ".join(f"{h:>6}" for h in headings))
    for kind, r in results["per_kind"].items():
        figures = [r[k] for k in FIGURES]
        cells = " ".join(f"{f:6.3f}" if f is not None else "     -" for f in figures)
        print(f"{kind:8} {r['messages']:5d} {r['labelled_spans']:5d} {cells}")
    clean = results["clean"]
    print(
        f"clean messages: {clean['messages']}, with a false positive: {clean['flagged']}"
        f" ({clean['false_positive_rate']:.3f}) {clean['predicted_spans_by_kind']}"
    )


def display_path(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", default="bot.learning.privacy", help="the masker's module")
    parser.add_argument("--set", type=Path, default=EVAL_SET, help="the labelled messages")
    parser.add_argument("--out", type=Path, default=RESULT, help="where the JSON goes")
    args = parser.parse_args()

    masker = importlib.import_module(args.module)
    messages = load_set(args.set)
    started = time.perf_counter()
    predictions = [
        [Span(r.kind, r.start, r.end) for r in masker.find_personal_data(m.text)] for m in messages
    ]
    seconds = time.perf_counter() - started

    results = {
        "set": display_path(args.set),
        "messages": len(messages),
        "matching": "span-level per kind; overlap: one shared character; exact: same start and end",
        **score(messages, predictions),
        "predictions_sha256": digest(predictions),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(results)
    print(f"{len(messages)} messages in {seconds:.2f} s with {args.module} -> {args.out}")


if __name__ == "__main__":
    main()
