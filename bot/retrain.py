"""The learning loop's last step: train a candidate model, compare, promote only if not worse.

`shopdesk retrain` exports the reviewed conversations, trains a candidate with `rasa train`
into a holding folder, evaluates the candidate and the current model with `rasa test nlu` on
the same held-out file, and moves the candidate into `models/` (where `rasa run` picks the
newest) only when its intent accuracy is at least the current model's. Both scores are
printed either way; a rejected candidate is kept for inspection.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.project import MODELS_DIR, PROJECT_ROOT, latest_model, rasa_command

WORK_DIR = PROJECT_ROOT / ".shopdesk" / "retrain"
DEFAULT_TEST_DATA = PROJECT_ROOT / "tests" / "nlu_heldout.yml"


class RetrainError(RuntimeError):
    """A step failed; the message names it and where its log is."""


@dataclass(frozen=True)
class Evaluation:
    model: Path
    accuracy: float
    macro_f1: float
    weighted_f1: float
    examples: int


@dataclass(frozen=True)
class Decision:
    candidate: Evaluation
    current: Evaluation | None
    promoted: bool
    kept_at: Path  # where the candidate archive is now


def is_not_worse(candidate: Evaluation, current: Evaluation | None) -> bool:
    """Ties promote: the new model also knows the newly reviewed messages."""
    return current is None or candidate.accuracy >= current.accuracy


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


def evaluate(model: Path, test_data: Path, out_dir: Path, console: Console) -> Evaluation:
    """`rasa test nlu` on `test_data`, read back from its intent report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _run_logged(
        rasa_command(
            "test", "nlu", "--model", str(model), "--nlu", str(test_data), "--out", str(out_dir)
        ),
        out_dir / "rasa-test.log",
        f"Evaluating {model.name} on {test_data.name}",
        console,
    )
    report_path = out_dir / "intent_report.json"
    try:
        report = json.loads(report_path.read_text())
        return Evaluation(
            model=model,
            accuracy=float(report["accuracy"]),
            macro_f1=float(report["macro avg"]["f1-score"]),
            weighted_f1=float(report["weighted avg"]["f1-score"]),
            examples=int(report["weighted avg"]["support"]),
        )
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise RetrainError(f"unreadable evaluation report {report_path}: {error}") from error


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
    new = evaluate(candidate, test_data, WORK_DIR / stamp / "candidate", console)
    current = (
        evaluate(current_model, test_data, WORK_DIR / stamp / "current", console)
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
    print_decision(decision, test_data, console)
    return decision


def print_decision(decision: Decision, test_data: Path, console: Console) -> None:
    table = Table(title=f"Intent classification on {test_data.name}")
    for column in ("model", "accuracy", "macro F1", "weighted F1", "messages"):
        table.add_column(column)
    rows = [("candidate", decision.candidate)]
    if decision.current is not None:
        rows.append(("current", decision.current))
    for label, evaluation in rows:
        table.add_row(
            f"{label} ({evaluation.model.name})",
            f"{evaluation.accuracy:.4f}",
            f"{evaluation.macro_f1:.4f}",
            f"{evaluation.weighted_f1:.4f}",
            str(evaluation.examples),
        )
    console.print(table)
    if decision.promoted:
        console.print(f"[green]Promoted[/green]: {decision.kept_at} is now the served model.")
    else:
        console.print(
            f"[red]Not promoted[/red]: the candidate is worse than the current model; "
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
