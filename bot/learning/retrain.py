"""The learning loop's last step: train a candidate model, compare, promote only if not worse.

`shopdesk retrain` exports the reviewed conversations, trains a candidate with `rasa train`
into a holding folder, evaluates the candidate and the current model with `rasa test nlu` on
the same test sets, and moves the candidate into `models/` (where `rasa run` picks the newest)
only when it passes the rule in `is_not_worse`. Every set's score is printed either way; a
rejected candidate is kept for inspection.

The sets: the held-out file written with the training data, the robustness set (customers'
styles, written apart), the off-topic set, the held-back share of reviewed messages
(`bot.learning.held_back`: real customers' words, never trained on) and any `--test-data`. The first
alone could not tell models apart (both a model and one trained on 1,000 more reviewed
messages scored 169/170 on it), so the gate reads all of them, each on its own line.
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

from bot.learning.held_back import HELD_BACK_FILE
from bot.learning.nlu_files import HELD_OUT_FILES, examples_of
from bot.runtime.models import latest_model, rasa_command
from bot.settings import MODELS_DIR, PROJECT_ROOT

WORK_DIR = PROJECT_ROOT / ".shopdesk" / "retrain"
DEFAULT_TEST_DATA = PROJECT_ROOT / "tests" / "nlu_heldout.yml"
# What the gate scores on besides `--test-data` and the held-back share of reviewed messages;
# the same files export never writes from.
GATE_SETS = HELD_OUT_FILES
# How far a candidate may fall on one set, in accuracy, and still be promoted: one message
# of the 170 held-out ones is 0.6 points, so noise of one message never blocks a better model.
# On a smaller set (the held-back share starts small) one message is allowed, whatever it weighs.
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
    sizes: dict[str, int] = field(default_factory=dict)  # messages in each set


@dataclass(frozen=True)
class Decision:
    candidate: Evaluation
    current: Evaluation | None
    promoted: bool
    kept_at: Path  # where the candidate archive is now


def set_tolerance(evaluation: Evaluation, name: str) -> float:
    """How far a set may fall: SET_TOLERANCE, or one of its messages where that weighs more."""
    size = evaluation.sizes.get(name, 0)
    return max(SET_TOLERANCE, 1 / size) if size else SET_TOLERANCE


def fallen_sets(candidate: Evaluation, current: Evaluation) -> list[str]:
    """The sets scored for both on which the candidate fell by more than their tolerance."""
    return [
        name
        for name in sorted(set(candidate.by_set) & set(current.by_set))
        if candidate.by_set[name] < current.by_set[name] - set_tolerance(candidate, name)
    ]


def is_not_worse(candidate: Evaluation, current: Evaluation | None) -> bool:
    """Promote when the mean accuracy over the sets is at least the served model's and no
    set falls by more than its tolerance. Every set with messages counts, the held-back
    share of reviewed messages too: a candidate worse on it alone is not promoted. Ties
    promote: the new model also knows the newly reviewed messages."""
    if current is None:
        return True
    sets = sorted(set(candidate.by_set) & set(current.by_set))
    if not sets:
        return candidate.accuracy >= current.accuracy
    mean = sum(candidate.by_set[name] for name in sets) / len(sets)
    served_mean = sum(current.by_set[name] for name in sets) / len(sets)
    return mean >= served_mean and not fallen_sets(candidate, current)


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
        by_set, sizes = {}, {}
        for path in test_sets:
            texts = test_texts(path)
            if texts:
                by_set[path.name] = len(texts - wrong) / len(texts)
                sizes[path.name] = len(texts)
        return Evaluation(
            model=model,
            accuracy=float(report["accuracy"]),
            macro_f1=float(report["macro avg"]["f1-score"]),
            weighted_f1=float(report["weighted avg"]["f1-score"]),
            examples=int(report["weighted avg"]["support"]),
            by_set=by_set,
            sizes=sizes,
        )
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise RetrainError(f"unreadable evaluation report {report_path}: {error}") from error


def gate_sets(test_data: Path | None = None, held_back: Path = HELD_BACK_FILE) -> list[Path]:
    """The sets the gate scores on: the standard ones that exist, the held-back share of
    reviewed messages once export has written some, and `test_data`."""
    sets = [path for path in GATE_SETS if path.is_file()]
    if held_back.is_file() and examples_of(held_back):
        sets.append(held_back)
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
    held_back: Path = HELD_BACK_FILE,
) -> Decision:
    """Compare `candidate` with the newest model in `models_dir`; move it there if not worse."""
    console = console or Console()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    current_model = latest_model(models_dir)
    test_sets = gate_sets(test_data, held_back)
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
    """One line per test set (the held-back share of reviewed messages named as such), then
    all their messages together, and the decision with the sets that fell."""
    candidate, current = decision.candidate, decision.current
    table = Table(title="Intent accuracy on each test set, and over all their messages")
    for column in ("test set", "messages", f"candidate ({candidate.model.name})"):
        table.add_column(column)
    if current is not None:
        table.add_column(f"current ({current.model.name})")
        table.add_column("change")

    def row(label: str, size: int, new: float, served: float | None) -> None:
        scores = [f"{new:.4f}"]
        if current is not None:
            scores += [f"{served:.4f}", f"{new - served:+.4f}"] if served is not None else ["-"] * 2
        table.add_row(label, str(size), *scores)

    for name, accuracy in candidate.by_set.items():
        label = f"{name} (held-back reviewed)" if name == HELD_BACK_FILE.name else name
        row(label, candidate.sizes.get(name, 0), accuracy, current and current.by_set.get(name))
    row("all: accuracy", candidate.examples, candidate.accuracy, current and current.accuracy)
    row("all: macro F1", candidate.examples, candidate.macro_f1, current and current.macro_f1)
    console.print(table)
    if decision.promoted:
        console.print(f"[green]Promoted[/green]: {decision.kept_at} is now the served model.")
    else:
        fell = fallen_sets(candidate, current) if current is not None else []
        console.print(
            "[red]Not promoted[/red]: "
            + (f"it fell on {', '.join(fell)}" if fell else "its mean over the sets is lower")
            + f" (tolerance {SET_TOLERANCE:.0%} or one message a set); kept at {decision.kept_at}."
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
