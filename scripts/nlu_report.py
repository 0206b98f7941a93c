"""Prints the NLU scores of `scripts/test.sh` side by side, from Rasa's own reports.

    python scripts/nlu_report.py results

reads what `rasa test` wrote: `results/intent_report.json` (tests/nlu_heldout.yml),
`results/robustness/` (tests/nlu_robustness.yml) and `results/offtopic/`
(tests/offtopic_heldout.yml). For the off-topic set, a message counts as declined when it
ended as out_of_scope or nlu_fallback. Reporting only: it never fails the build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DECLINED = {"out_of_scope", "nlu_fallback"}


def scores(directory: Path) -> dict | None:
    report_path = directory / "intent_report.json"
    if not report_path.is_file():
        return None
    report = json.loads(report_path.read_text())
    errors_path = directory / "intent_errors.json"
    errors = json.loads(errors_path.read_text()) if errors_path.is_file() else []
    total = int(report["weighted avg"]["support"])
    claimed = [e for e in errors if e["intent_prediction"]["name"] not in DECLINED]
    return {
        "messages": total,
        "accuracy": report["accuracy"],
        "macro_f1": report["macro avg"]["f1-score"],
        "declined": 1 - len(claimed) / total if total else 0.0,
    }


def main(results: Path) -> None:
    rows = {
        "tests/nlu_heldout.yml": (scores(results), "accuracy"),
        "tests/nlu_robustness.yml": (scores(results / "robustness"), "accuracy"),
        "tests/offtopic_heldout.yml": (scores(results / "offtopic"), "declined"),
    }
    for name, (row, measure) in rows.items():
        if row is None:
            print(f"   {name:28} no report")
        elif measure == "accuracy":
            print(
                f"   {name:28} {row['messages']:4} messages  "
                f"accuracy {100 * row['accuracy']:5.1f} %  macro-F1 {row['macro_f1']:.3f}"
            )
        else:
            print(
                f"   {name:28} {row['messages']:4} messages  declined (out_of_scope or "
                f"nlu_fallback) {100 * row['declined']:5.1f} %"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results"))
