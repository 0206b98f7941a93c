"""Reading Rasa NLU example files as sets of normalised messages, and writing ours safely.

Export compares reviewed messages with two kinds of file: the hand-written training data
(a reviewed message already there is not written again) and the held-out test sets the
retrain gate scores on (a reviewed message found there is never written, or the gate would
score the candidate on messages it trained on).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bot.nlu.text import normalise
from bot.settings import PROJECT_ROOT

# The test sets `shopdesk retrain` and `scripts/test.sh` score on: never training data.
HELD_OUT_FILES = (
    PROJECT_ROOT / "tests" / "nlu_heldout.yml",
    PROJECT_ROOT / "tests" / "nlu_robustness.yml",
    PROJECT_ROOT / "tests" / "offtopic_heldout.yml",
)


def read_nlu_messages(path: Path) -> dict[str, Any]:
    """normalised text -> Rasa `Message` of one NLU file we write, to merge into; {} if none."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    if not path.exists():
        return {}
    return {
        normalise(message.get("text")): message
        for message in RasaYAMLReader().read(path).intent_examples
    }


def write_nlu_messages(path: Path, header: str, examples: dict[str, Any]) -> int:
    """Sorted, so a re-export without news rewrites the same bytes; returns the count.

    Nothing is created for no examples, but a file that had some is emptied.
    """
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    ordered = sorted(examples.values(), key=lambda m: (m.get("intent"), normalise(m.get("text"))))
    if ordered or path.exists():
        atomic_write(path, header + RasaYAMLWriter().dumps(TrainingData(ordered)))
    return len(ordered)


def atomic_write(path: Path, text: str) -> None:
    """Write through a temporary file, so a crash never leaves half a training file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def examples_of(path: Path) -> dict[str, str]:
    """normalised text -> intent of every example in one NLU file; {} for other YAML."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(content, dict) or "nlu" not in content:
        return {}
    return {
        normalise(message.get("text")): message.get("intent")
        for message in RasaYAMLReader().read(path).intent_examples
    }


def hand_written_examples(data_dir: Path, skip: Path) -> dict[str, str]:
    """normalised text -> intent of every NLU example under `data_dir` except `skip`."""
    examples: dict[str, str] = {}
    for path in sorted(data_dir.rglob("*.yml")):
        if path.resolve() != skip.resolve():
            examples.update(examples_of(path))
    return examples


def held_out_texts(paths: Iterable[Path]) -> set[str]:
    """The normalised messages of the held-out test sets that exist among `paths`."""
    texts: set[str] = set()
    for path in paths:
        if path.is_file():
            texts.update(examples_of(path))
    return texts
