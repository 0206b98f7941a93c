"""The learning loop's last step: train a candidate model, compare, promote only if not worse.

`shopdesk retrain` exports the reviewed conversations, trains a candidate with `rasa train`
into a holding folder, evaluates the candidate and the current model with `rasa test nlu` on
the same test sets, and moves the candidate into `models/` (where `rasa run` picks the newest)
only when it passes the rule in `is_not_worse`. Every set's score is printed either way; a
rejected candidate is kept for inspection.

The sets: the held-out file written with the training data, the robustness set (customers'
styles, written apart) and the off-topic set, plus any `--test-data`. The first alone could
not tell models apart (both a model and one trained on 1,000 more reviewed messages scored
169/170 on it), so the gate reads all of them, each on its own line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.nlu_files import HELD_OUT_FILES
from bot.project import MODELS_DIR, PROJECT_ROOT, latest_model, rasa_command

WORK_DIR = PROJECT_ROOT / ".shopdesk" / "retrain"
DEFAULT_TEST_DATA = PROJECT_ROOT / "tests" / "nlu_heldout.yml"
# What the gate scores on besides `--test-data`; the same files export never writes from.
GATE_SETS = HELD_OUT_FILES
# How far a candidate may fall on one set, in accuracy, and still be promoted: one message
# of the 170 held-out ones is 0.6 points, so noise of one message never blocks a better model.
SET_TOLERANCE = 0.01


class RetrainError(RuntimeError):
    """A step failed; the message names it and where its log is."""


@dataclass(frozen=True)
class Evaluation:
    """One model's scores: over all test messages, and the accuracy on each set."""

    model: Path
    accuracy: float
    macro_f1: float
    weighted_f1: float
    examples: int
    by_set: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    candidate: Evaluation
    current: Evaluation | None
    promoted: bool
    kept_at: Path  # where the candidate archive is now


def is_not_worse(candidate: Evaluation, current: Evaluation | None) -> bool:
    """Promote when the mean accuracy over the sets is at least the served model's and no
    set falls by more than SET_TOLERANCE. Ties promote: the new model also knows the newly
    reviewed messages."""
    if current is None:
        return True
    sets = sorted(set(candidate.by_set) & set(current.by_set))
    if not sets:
        return candidate.accuracy >= current.accuracy
    mean = sum(candidate.by_set[name] for name in sets) / len(sets)
    served_mean = sum(current.by_set[name] for name in sets) / len(sets)
    no_set_fell = all(
        candidate.by_set[name] >= current.by_set[name] - SET_TOLERANCE for name in sets
    )
    return mean >= served_mean and no_set_fell


def _run_logged(args: list[str], log: Path, what: str, console: Console) -> None:
    """Run a long step behind a spinner with its elapsed time; its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as stream, console.status(what) as status:
        process = subprocess.Popen(args, cwd=PROJECT_ROOT, stdout=stream, stderr=subprocess.STDOUT)
        while process.poll() is None:
            status.update(f"{what} ({time.monotonic() - started:.0f} s, log: {log})")
            time.sleep(0.5)
    if process.returncode != 0:
        tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(True)[-15:])
        raise RetrainError(f"{what} failed (exit {process.returncode}); log {log}:\n{tail}")
    console.print(f"[green]✓[/green] {what} ({time.monotonic() - started:.0f} s)")


def test_texts(path: Path) -> set[str]:
    """A test file's messages as `rasa test` reports them (annotations removed)."""
    from rasa.shared.nlu.training_data.loading import load_data

    return {example.get("text") for example in load_data(str(path)).intent_examples}


def evaluate(model: Path, test_sets: list[Path], out_dir: Path, console: Console) -> Evaluation:
    """One `rasa test nlu` over all `test_sets` (Rasa skips a file with a single intent, like
    the off-topic set, so they are scored together) and each set's accuracy from its errors."""
    data = out_dir / "test-data"
    data.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(test_sets):
        shutil.copy2(path, data / f"{index}-{path.name}")
    _run_logged(
        rasa_command(
            "test", "nlu", "--model", str(model), "--nlu", str(data), "--out", str(out_dir)
        ),
        out_dir / "rasa-test.log",
        f"Evaluating {model.name} on {', '.join(path.name for path in test_sets)}",
        console,
    )
    report_path = out_dir / "intent_report.json"
    try:
        report = json.loads(report_path.read_text())
        errors_path = out_dir / "intent_errors.json"
        errors = json.loads(errors_path.read_text()) if errors_path.is_file() else []
        wrong = {error["text"] for error in errors}
        by_set = {}
        for path in test_sets:
            texts = test_texts(path)
            if texts:
                by_set[path.name] = len(texts - wrong) / len(texts)
        return Evaluation(
            model=model,
            accuracy=float(report["accuracy"]),
            macro_f1=float(report["macro avg"]["f1-score"]),
            weighted_f1=float(report["weighted avg"]["f1-score"]),
            examples=int(report["weighted avg"]["support"]),
            by_set=by_set,
        )
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise RetrainError(f"unreadable evaluation report {report_path}: {error}") from error


def gate_sets(test_data: Path | None = None) -> list[Path]:
    """The sets the gate scores on: the standard ones that exist, and `test_data`."""
    sets = [path for path in GATE_SETS if path.is_file()]
    if test_data is not None and test_data.resolve() not in {path.resolve() for path in sets}:
        if not test_data.is_file():
            raise RetrainError(f"no test data at {test_data}")
        sets.append(test_data)
    return sets


def promote_if_not_worse(
    candidate: Path,
    models_dir: Path = MODELS_DIR,
    test_data: Path = DEFAULT_TEST_DATA,
    console: Console | None = None,
) -> Decision:
    """Compare `candidate` with the newest model in `models_dir`; move it there if not worse."""
    console = console or Console()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    current_model = latest_model(models_dir)
    test_sets = gate_sets(test_data)
    new = evaluate(candidate, test_sets, WORK_DIR / stamp / "candidate", console)
    current = (
        evaluate(current_model, test_sets, WORK_DIR / stamp / "current", console)
        if current_model is not None
        else None
    )
    promoted = is_not_worse(new, current)
    if promoted:
        models_dir.mkdir(parents=True, exist_ok=True)
        kept_at = models_dir / candidate.name
        shutil.move(str(candidate), kept_at)
        kept_at.touch()  # the newest archive is the one `rasa run` and `shopdesk up` load
    else:
        kept_at = candidate
    decision = Decision(new, current, promoted, kept_at)
    print_decision(decision, console)
    return decision


def print_decision(decision: Decision, console: Console) -> None:
    rows = [("candidate", decision.candidate)]
    if decision.current is not None:
        rows.append(("current", decision.current))
    set_names = list(decision.candidate.by_set)
    table = Table(title="Intent accuracy on each test set, and over all their messages")
    for column in ("model", *set_names, "all: accuracy", "macro F1", "messages"):
        table.add_column(column)
    for label, evaluation in rows:
        table.add_row(
            f"{label} ({evaluation.model.name})",
            *(f"{evaluation.by_set.get(name, float('nan')):.4f}" for name in set_names),
            f"{evaluation.accuracy:.4f}",
            f"{evaluation.macro_f1:.4f}",
            str(evaluation.examples),
        )
    console.print(table)
    if decision.promoted:
        console.print(f"[green]Promoted[/green]: {decision.kept_at} is now the served model.")
    else:
        console.print(
            "[red]Not promoted[/red]: its mean accuracy over the sets is below the current "
            f"model's, or one set fell by more than {SET_TOLERANCE:.0%}; "
            f"kept at {decision.kept_at}."
        )


def train_candidate(
    console: Console,
    config: Path | None = None,
    finetune_from: Path | None = None,
    epoch_fraction: float = 0.3,
) -> Path:
    """`rasa train` into a holding folder, so a worse model is never served by accident."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = WORK_DIR / "candidates"
    args = ["train", "--out", str(out), "--fixed-model-name", f"candidate-{stamp}"]
    if config is not None:
        args += ["--config", str(config)]
    if finetune_from is not None:
        args += ["--finetune", str(finetune_from), "--epoch-fraction", str(epoch_fraction)]
    _run_logged(
        rasa_command(*args), WORK_DIR / stamp / "train.log", "Training the candidate", console
    )
    candidate = out / f"candidate-{stamp}.tar.gz"
    if not candidate.is_file():
        raise RetrainError(f"`rasa train` finished but wrote no {candidate}.")
    return candidate
