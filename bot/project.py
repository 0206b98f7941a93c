"""Where things are in a shopdesk project, and whether its model needs training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"


def domain_intents(project_dir: Path = PROJECT_ROOT) -> list[str]:
    """The intents staff may choose from when correcting a prediction."""
    import yaml

    domain = yaml.safe_load((project_dir / "domain.yml").read_text(encoding="utf-8"))
    return list(domain.get("intents") or [])


def rasa_command(*args: str) -> list[str]:
    """`rasa ...` run by this environment's interpreter, whatever is on PATH."""
    return [sys.executable, "-m", "rasa", *args]


def latest_model(models_dir: Path = MODELS_DIR) -> Path | None:
    """The newest model archive, which is also what `rasa run`/`rasa shell` pick."""
    archives = sorted(models_dir.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return archives[-1] if archives else None


def model_is_up_to_date(project_dir: Path = PROJECT_ROOT) -> bool:
    """True when a model exists and Rasa's own fingerprinting finds nothing to retrain.

    `rasa train --dry-run` compares config, domain, data and our classifier's base model
    (`fingerprint_addon`) with Rasa's training cache and exits 0 when nothing changed.
    """
    if latest_model(project_dir / "models") is None:
        return False
    result = subprocess.run(
        rasa_command("train", "--dry-run", "--quiet"),
        cwd=project_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return result.returncode == 0


def train_if_needed(project_dir: Path = PROJECT_ROOT, force: bool = False) -> Path:
    """Train with `rasa train` unless the newest model already matches the project."""
    if not force and model_is_up_to_date(project_dir):
        model = latest_model(project_dir / "models")
        print(f"Model is up to date: {model}")
        return model
    subprocess.run(rasa_command("train"), cwd=project_dir, check=True)
    model = latest_model(project_dir / "models")
    if model is None:
        raise RuntimeError("`rasa train` finished but wrote no model to models/.")
    return model
