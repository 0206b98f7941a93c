"""Chooses the BM25 score threshold of the retrieval fallback on held-out questions.

tests/retrieval_heldout.jsonl holds 90 customer questions written to match a known past
transcript (paraphrased, never copied) and 60 that no transcript answers (off-topic, or shop
questions the transcripts do not cover). For each threshold, a question's best hit is shown
when its score reaches the threshold. A shown right answer counts +1, a shown wrong answer
(another transcript, or any answer to an unanswerable question) -1, declining 0: a wrong
answer costs the customer as much as a right one helps, and declining still reaches a person.
The threshold with the highest total wins (the lowest such threshold on a tie).

    .venv/bin/python bench/calibrate_retrieval.py    # writes bench/results/retrieval_threshold.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from bot.answers.retrieval.index import TranscriptIndex
    from bot.answers.retrieval.transcripts import load_transcripts

    index = TranscriptIndex(load_transcripts(ROOT / "data" / "transcripts"))
    rows = [
        json.loads(line)
        for line in (ROOT / "tests" / "retrieval_heldout.jsonl").read_text().splitlines()
        if line.strip()
    ]
    best = []
    for row in rows:
        hits = index.search(row["question"], k=1)
        best.append((hits[0].transcript.id, hits[0].score) if hits else (None, 0.0))

    table = []
    for threshold in np.arange(0.0, 30.01, 0.5):
        right = wrong = declined = 0
        for row, (hit_id, score) in zip(rows, best, strict=True):
            if score < threshold or hit_id is None:
                declined += 1
            elif hit_id == row["expected_id"]:
                right += 1
            else:
                wrong += 1
        table.append(
            {
                "threshold": float(threshold),
                "right": right,
                "wrong": wrong,
                "declined": declined,
                "utility": right - wrong,
            }
        )
    chosen = max(table, key=lambda r: (r["utility"], -r["threshold"]))
    answerable = sum(row["expected_id"] is not None for row in rows)
    top1 = sum(
        row["expected_id"] is not None and hit_id == row["expected_id"]
        for row, (hit_id, _) in zip(rows, best, strict=True)
    )
    summary = {
        "command": "python bench/calibrate_retrieval.py",
        "questions": len(rows),
        "answerable": answerable,
        "top1_right_on_answerable": top1,
        "chosen": chosen,
        "table": table,
    }
    out = ROOT / "bench" / "results" / "retrieval_threshold.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"top-1 right on answerable questions: {top1}/{answerable}")
    print(f"{'threshold':>9} {'right':>6} {'wrong':>6} {'declined':>9} {'utility':>8}")
    for row in table[::4]:
        print(
            f"{row['threshold']:9.1f} {row['right']:6d} {row['wrong']:6d} "
            f"{row['declined']:9d} {row['utility']:8d}"
        )
    print(f"chosen: {chosen}")


if __name__ == "__main__":
    main()
