"""shopdesk's intent classifier: a fine-tuned BERT-architecture model as a Rasa 3.6 component.

Use it in `config.yml` by its import path:

    pipeline:
      - name: bot.nlu.bert_intent_classifier.BertIntentClassifier

It tokenizes raw text itself, so it needs no featurizer before it. The contract follows
Rasa's `LogisticRegressionClassifier`: create/load build the component, train/persist and
load write and read the same files inside Rasa's model archive, process sets `intent` and
`intent_ranking` exactly as Rasa's own classifiers do.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException, RasaException
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import EPOCHS, RANKING_LENGTH

logger = logging.getLogger(__name__)

LABELS_FILE = "labels.json"


class InvalidModelArchiveError(RasaException):
    """The classifier's files in a model archive are missing pieces or contradict each other."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class BertIntentClassifier(GraphComponent, IntentClassifier):
    """Intent classifier that fine-tunes a BERT-architecture transformer on the NLU data."""

    @staticmethod
    def required_packages() -> list[str]:
        return ["torch", "transformers"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Hugging Face hub name or local directory; None = packaged all-MiniLM-L6-v2.
            "model_name_or_path": None,
            # Never reach for the network: hub names must already be in the local HF cache.
            "local_files_only": True,
            # "auto" trains and predicts on the GPU when torch sees one, else on the CPU.
            "device": "auto",
            # bfloat16/float16 autocast on a GPU; ignored on the CPU.
            "mixed_precision": True,
            EPOCHS: 15,
            "batch_size": 16,
            "learning_rate": 1e-4,
            "weight_decay": 0.01,
            "warmup_ratio": 0.1,
            "max_seq_length": 64,
            # Stratified held-out share used for early stopping when the data is large enough.
            "validation_fraction": 0.1,
            "min_examples_for_validation": 200,
            "early_stopping_patience": 4,
            "random_seed": 42,
            "inference_batch_size": 64,
            # Serve a dynamically int8-quantised copy on the CPU: about twice as fast, with
            # accuracy within 0.5 points of float32 (bench/inference_benchmark.py).
            "cpu_quantization": True,
            # torch's intra-op threads for CPU inference; None keeps torch's default.
            "cpu_threads": None,
            RANKING_LENGTH: LABEL_RANKING_LENGTH,
            "show_progress_bar": True,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        from bot.nlu.device import choose_device

        for key in (EPOCHS, "batch_size", "max_seq_length", "inference_batch_size"):
            if int(config[key]) < 1:
                raise InvalidConfigException(
                    f"BertIntentClassifier: '{key}' must be at least 1, got {config[key]}."
                )
        if not 0 <= float(config["validation_fraction"]) < 1:
            raise InvalidConfigException(
                "BertIntentClassifier: 'validation_fraction' must be in [0, 1)."
            )
        choose_device(config["device"])

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the base model's files change, not only when its name does."""
        from bot.nlu.base_model import fingerprint_directory, resolve_base_model

        config = {**cls.get_default_config(), **config}
        return fingerprint_directory(
            resolve_base_model(config["model_name_or_path"], config["local_files_only"])
        )

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        model: Any = None,
        tokenizer: Any = None,
        labels: list[str] | None = None,
    ) -> None:
        from bot.nlu.device import choose_device

        self.config = {**self.get_default_config(), **config}
        self.validate_config(self.config)
        self._model_storage = model_storage
        self._resource = resource
        self._execution_context = execution_context
        self.device = choose_device(self.config["device"])
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels or []
        if self.model is not None:
            self._prepare_for_inference()

    def _prepare_for_inference(self) -> None:
        """Put a loaded model in its serving form and run it once, at load, not per message.

        Fine-tuning (`rasa train --finetune`) loads the same files to keep training them, so
        it gets the float32 weights untouched.
        """
        import torch

        self.model.to(self.device)
        self.model.eval()
        if self._execution_context.is_finetuning:
            return
        if self.device.type == "cpu":
            if self.config["cpu_threads"]:
                torch.set_num_threads(int(self.config["cpu_threads"]))
            if self.config["cpu_quantization"]:
                from bot.nlu.inference import quantize_for_cpu

                self.model = quantize_for_cpu(self.model)
        elif self.config["mixed_precision"]:
            self.model.half()  # float16 weights: half the memory, tensor-core matmuls
        self.predict_proba(["warm up"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BertIntentClassifier:
        return cls(config, model_storage, resource, execution_context)

    # ------------------------------------------------------------------ training

    def train(self, training_data: TrainingData) -> Resource:
        from bot.nlu.training import TrainingSettings, fine_tune

        examples = [
            example
            for example in training_data.intent_examples
            if example.get(INTENT) and example.get(TEXT) is not None
        ]
        if not examples:
            logger.debug("BertIntentClassifier: no intent examples, nothing to train.")
            return self._resource

        labels = sorted({example.get(INTENT) for example in examples})
        if self.model is None:
            self._init_from_base_model(labels)
        elif labels != self.labels:
            # Rasa's FinetuningValidator normally refuses this first; keep the check for
            # direct use of the component.
            raise InvalidConfigException(
                "BertIntentClassifier: the intents in the training data differ from those of "
                f"the model being fine-tuned (added: {sorted(set(labels) - set(self.labels))}, "
                f"removed: {sorted(set(self.labels) - set(labels))}). "
                "Run a full `rasa train` (without --finetune) after changing intents."
            )

        label_ids = {label: index for index, label in enumerate(self.labels)}
        settings = TrainingSettings(
            epochs=int(self.config[EPOCHS]),
            batch_size=int(self.config["batch_size"]),
            learning_rate=float(self.config["learning_rate"]),
            weight_decay=float(self.config["weight_decay"]),
            warmup_ratio=float(self.config["warmup_ratio"]),
            max_seq_length=int(self.config["max_seq_length"]),
            validation_fraction=float(self.config["validation_fraction"]),
            min_examples_for_validation=int(self.config["min_examples_for_validation"]),
            early_stopping_patience=int(self.config["early_stopping_patience"]),
            random_seed=int(self.config["random_seed"]),
            mixed_precision=bool(self.config["mixed_precision"]),
            show_progress_bar=bool(self.config["show_progress_bar"]),
        )
        report = fine_tune(
            self.model,
            self.tokenizer,
            [example.get(TEXT) for example in examples],
            [label_ids[example.get(INTENT)] for example in examples],
            settings,
            self.device,
        )
        self.training_report = report
        validation = (
            f", held-out accuracy {report.best_validation_accuracy:.3f} "
            f"on {report.validation_examples} examples"
            if report.best_validation_accuracy is not None
            else ""
        )
        logger.info(
            "BertIntentClassifier trained on %s in %.1f s: %d epochs, %d examples, %d intents%s.",
            report.device,
            report.seconds,
            report.epochs_run,
            report.train_examples,
            len(self.labels),
            validation,
        )
        self.persist()
        return self._resource

    def _init_from_base_model(self, labels: list[str]) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from bot.nlu.base_model import resolve_base_model
        from bot.nlu.training import seed_everything

        base = resolve_base_model(
            self.config["model_name_or_path"], self.config["local_files_only"]
        )
        seed_everything(int(self.config["random_seed"]))  # the new head's initial weights
        local_only = bool(self.config["local_files_only"])
        self.tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=local_only)
        # transformers warns that the new classification head is untrained; that is the point.
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            self.model = AutoModelForSequenceClassification.from_pretrained(
                base,
                local_files_only=local_only,
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={label: index for index, label in enumerate(labels)},
            )
        finally:
            hf_logging.set_verbosity(verbosity)
        logger.info("BertIntentClassifier: fine-tuning %s for %d intents.", base, len(labels))
        self.labels = labels

    # ------------------------------------------------------------- persistence

    def persist(self) -> None:
        """Write weights (safetensors), tokenizer and label map into the model archive."""
        with self._model_storage.write_to(self._resource) as directory:
            self.model.save_pretrained(directory, safe_serialization=True)
            self.tokenizer.save_pretrained(directory)
            (directory / LABELS_FILE).write_text(
                json.dumps({"labels": self.labels}, ensure_ascii=False, indent=2)
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> BertIntentClassifier:
        """Read back what `persist` wrote; never touches the network."""
        try:
            with model_storage.read_from(resource) as directory:
                model, tokenizer, labels = cls._read_model_directory(directory)
        except ValueError:
            # Rasa's way of saying the resource was never written (no NLU data to train on).
            logger.debug("BertIntentClassifier: no trained model in the archive; untrained.")
            return cls.create(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, execution_context, model, tokenizer, labels)

    @staticmethod
    def _read_model_directory(directory: Path) -> tuple[Any, Any, list[str]]:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        labels_path = directory / LABELS_FILE
        config_path = directory / "config.json"
        for required in (labels_path, config_path):
            if not required.is_file():
                raise InvalidModelArchiveError(
                    f"BertIntentClassifier: '{required.name}' is missing from the model "
                    "archive; retrain with `rasa train`."
                )
        try:
            labels = json.loads(labels_path.read_text())["labels"]
            model_config = json.loads(config_path.read_text())
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise InvalidModelArchiveError(
                f"BertIntentClassifier: unreadable label map or config in the model archive: "
                f"{error}"
            ) from error
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

    # --------------------------------------------------------------- inference

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Softmax probabilities over `self.labels`, one row per text."""
        import torch

        batch_size = int(self.config["inference_batch_size"])
        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                encoded = self.tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=int(self.config["max_seq_length"]),
                    return_tensors="pt",
                )
                encoded = {k: v.to(self.device, non_blocking=True) for k, v in encoded.items()}
                logits = self.model(**encoded).logits
                rows.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, len(self.labels)))

    def process(self, messages: list[Message]) -> list[Message]:
        """Set `intent` and `intent_ranking` on every message that has text."""
        if self.model is None:
            return messages
        with_text = [message for message in messages if message.get(TEXT) is not None]
        if not with_text:
            return messages
        probabilities = self.predict_proba([str(message.get(TEXT)) for message in with_text])
        ranking_length = int(self.config[RANKING_LENGTH])
        for message, row in zip(with_text, probabilities, strict=True):
            order = np.argsort(-row, kind="stable")
            ranking = [
                {INTENT_NAME_KEY: self.labels[i], PREDICTED_CONFIDENCE_KEY: float(row[i])}
                for i in order
            ]
            if ranking_length > 0:
                ranking = ranking[:ranking_length]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
