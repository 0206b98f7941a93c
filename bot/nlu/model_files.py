"""The classifier's files inside a Rasa model archive: what `persist` writes and `load` reads.

One directory holds the Hugging Face files of the network (config.json with the label maps,
model.safetensors, the tokenizer), `intent_head.safetensors` for the prototype head, and
`labels.json` with the intents in output order and the architecture. Archives written before
the prototype head existed have no architecture entry: they are `cls_linear` and still load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rasa.shared.exceptions import RasaException

LABELS_FILE = "labels.json"
ARCHITECTURE_COSINE = "mean_pooling_cosine"
ARCHITECTURE_LINEAR = "cls_linear"
ARCHITECTURES = (ARCHITECTURE_COSINE, ARCHITECTURE_LINEAR)


class InvalidModelArchiveError(RasaException):
    """The classifier's files in a model archive are missing pieces or contradict each other."""


def new_network(
    base: str, labels: list[str], architecture: str, local_files_only: bool
) -> tuple[Any, Any]:
    """A network to fine-tune from the base model, with its tokenizer."""
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from bot.nlu.sentence_model import SentenceClassifier

    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=local_files_only)
    label_maps = {
        "id2label": dict(enumerate(labels)),
        "label2id": {label: index for index, label in enumerate(labels)},
    }
    # transformers warns that the new classification head is untrained; that is the point.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        if architecture == ARCHITECTURE_COSINE:
            # The label maps go into the encoder's config.json, where reading checks them.
            encoder = AutoModel.from_pretrained(
                base, local_files_only=local_files_only, **label_maps
            )
            model = SentenceClassifier(encoder, len(labels))
        else:
            model = AutoModelForSequenceClassification.from_pretrained(
                base, local_files_only=local_files_only, num_labels=len(labels), **label_maps
            )
    finally:
        hf_logging.set_verbosity(verbosity)
    return model, tokenizer


def write_model_directory(directory: Path, model: Any, tokenizer: Any, labels: list[str]) -> None:
    """Weights (safetensors), tokenizer and label map, as `read_model_directory` reads them."""
    from bot.nlu.sentence_model import SentenceClassifier

    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    architecture = (
        ARCHITECTURE_COSINE if isinstance(model, SentenceClassifier) else ARCHITECTURE_LINEAR
    )
    (directory / LABELS_FILE).write_text(
        json.dumps({"labels": labels, "architecture": architecture}, ensure_ascii=False, indent=2)
    )


def read_model_directory(directory: Path) -> tuple[Any, Any, list[str]]:
    """Network, tokenizer and labels from a directory `write_model_directory` wrote.

    Refuses (InvalidModelArchiveError) an archive whose pieces are missing or disagree,
    rather than serving a model whose outputs mean other intents.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from bot.nlu.sentence_model import SentenceClassifier

    labels_path = directory / LABELS_FILE
    config_path = directory / "config.json"
    for required in (labels_path, config_path):
        if not required.is_file():
            raise InvalidModelArchiveError(
                f"BertIntentClassifier: '{required.name}' is missing from the model "
                "archive; retrain with `rasa train`."
            )
    try:
        label_file = json.loads(labels_path.read_text())
        labels = label_file["labels"]
        # Archives of shopdesk 0.x have no architecture entry: they are cls_linear.
        architecture = label_file.get("architecture", ARCHITECTURE_LINEAR)
        model_config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise InvalidModelArchiveError(
            f"BertIntentClassifier: unreadable label map or config in the model archive: {error}"
        ) from error
    if architecture not in ARCHITECTURES:
        raise InvalidModelArchiveError(
            f"BertIntentClassifier: unknown architecture '{architecture}' in the model "
            "archive; retrain with `rasa train`."
        )
    config_labels = [
        model_config.get("id2label", {}).get(str(index)) for index in range(len(labels))
    ]
    if len(model_config.get("id2label", {})) != len(labels) or config_labels != labels:
        raise InvalidModelArchiveError(
            f"BertIntentClassifier: the label map ({len(labels)} intents) does not match "
            f"the model's classification head "
            f"({len(model_config.get('id2label', {}))} outputs); refusing to load."
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        if architecture == ARCHITECTURE_COSINE:
            model = SentenceClassifier.from_directory(directory, len(labels))
        else:
            model = AutoModelForSequenceClassification.from_pretrained(
                directory, local_files_only=True
            )
    except (OSError, RuntimeError, ValueError) as error:
        raise InvalidModelArchiveError(
            f"BertIntentClassifier: cannot load weights or tokenizer from the model "
            f"archive ({error.__class__.__name__}: {str(error).splitlines()[0]})."
        ) from error
    if model.num_labels != len(labels):
        raise InvalidModelArchiveError(
            f"BertIntentClassifier: weights have {model.num_labels} outputs but the label "
            f"map has {len(labels)} intents; refusing to load."
        )
    return model, tokenizer, labels
