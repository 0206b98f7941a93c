"""The project's model archives: the newest, whether it matches the project, training it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.settings import MODELS_DIR, PROJECT_ROOT


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


def model_has_the_configured_components(model: Path, project_dir: Path = PROJECT_ROOT) -> bool:
    """True when the archive runs exactly the components config.yml now asks for.

    Rasa's dry run only asks whether a configured component needs training: a component
    removed from config.yml goes unnoticed, and the old archive would go on running it.
    """
    from rasa.engine.recipes.recipe import Recipe
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.shared.data import TrainingType
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        str(project_dir / "config.yml"),
        str(project_dir / "domain.yml"),
        [str(project_dir / "data")],
    )
    config = importer.get_config()
    recipe = Recipe.recipe_for_name(config.get("recipe"))
    config, _, _ = recipe.auto_configure(
        importer.get_config_file_for_auto_config(), config, TrainingType.BOTH
    )
    wanted = recipe.graph_config_for_recipe(config, {}, training_type=TrainingType.BOTH)
    served = LocalModelStorage.metadata_from_archive(model)
    return set(wanted.predict_schema.nodes) == set(served.predict_schema.nodes)


def model_is_up_to_date(project_dir: Path = PROJECT_ROOT) -> bool:
    """True when a model exists and Rasa's own fingerprinting finds nothing to retrain.

    `rasa train --dry-run` compares config, domain, data and our classifier's base model
    (`fingerprint_addon`) with Rasa's training cache and exits 0 when nothing changed; the
    archive must also hold no component config.yml no longer names.
    """
    model = latest_model(project_dir / "models")
    if model is None or not model_has_the_configured_components(model, project_dir):
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
