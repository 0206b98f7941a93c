"""Prints the NLU scores of `scripts/test.sh` side by side, from Rasa's own reports.

    python scripts/nlu_report.py results

reads what `rasa test` wrote: `results/intent_report.json` (tests/nlu_heldout.yml) and
`results/unseen/` (tests/nlu_robustness.yml and tests/offtopic_heldout.yml in one run, since
`rasa test nlu` skips a file with a single intent), and splits the second by source file.
`rasa test nlu` scores the classifier's top intent (it undoes FallbackClassifier's
nlu_fallback), so an off-topic message counts as declined here only when the classifier
itself chose out_of_scope; bench/robustness_benchmark.py scores the fallback threshold too.
Reporting only: it never fails the build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def texts_of(path: Path) -> set[str]:
    """The messages of a Rasa NLU YAML file as `rasa test` reports them (annotations removed)."""
    from rasa.shared.nlu.training_data.loading import load_data

    return {example.get("text") for example in load_data(str(path)).intent_examples}


def main(results: Path) -> None:
    heldout = results / "intent_report.json"
    if heldout.is_file():
        report = json.loads(heldout.read_text())
        print(
            f"   tests/nlu_heldout.yml       {int(report['weighted avg']['support']):4} messages  "
            f"accuracy {100 * report['accuracy']:5.1f} %  macro-F1 "
            f"{report['macro avg']['f1-score']:.3f}"
        )
    errors_path = results / "unseen" / "intent_errors.json"
    if not (results / "unseen" / "intent_report.json").is_file():
        print("   tests/nlu_robustness.yml, tests/offtopic_heldout.yml: no report")
        return
    errors = json.loads(errors_path.read_text()) if errors_path.is_file() else []
    wrong = {error["text"] for error in errors}
    robustness = texts_of(ROOT / "tests" / "nlu_robustness.yml")
    offtopic = texts_of(ROOT / "tests" / "offtopic_heldout.yml")
    right = len(robustness - wrong)
    print(
        f"   tests/nlu_robustness.yml    {len(robustness):4} messages  "
        f"accuracy {100 * right / len(robustness):5.1f} % (top intent)"
    )
    declined = len(offtopic - wrong)
    print(
        f"   tests/offtopic_heldout.yml  {len(offtopic):4} messages  "
        f"declined as out_of_scope {100 * declined / len(offtopic):5.1f} %"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results"))
