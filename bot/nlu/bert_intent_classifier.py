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

import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
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

from bot.nlu.model_files import (  # noqa: F401 - LABELS_FILE and the error are public here
    ARCHITECTURE_COSINE,
    ARCHITECTURES,
    LABELS_FILE,
    InvalidModelArchiveError,
)
from bot.nlu.question_split import OTHER_QUESTIONS, other_questions

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class BertIntentClassifier(GraphComponent, IntentClassifier):
    """Intent classifier that fine-tunes a BERT-architecture transformer on the NLU data.

    By default the network is a sentence encoder with mean pooling and one prototype vector
    per intent (bot/nlu/sentence_model.py); `architecture: cls_linear` gives the linear head
    on [CLS] of shopdesk 0.x, whose model archives still load.
    """

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
            # "mean_pooling_cosine": intents as prototype vectors in the encoder's sentence
            # space (few-shot friendly); "cls_linear": a linear head on [CLS].
            "architecture": ARCHITECTURE_COSINE,
            # With epochs_by_data_size, EPOCHS is a ceiling and about `example_budget`
            # examples are seen in all (at least `min_epochs` epochs): many passes over a
            # few examples, few over many (bench/fewshot_benchmark.py).
            EPOCHS: 15,
            "epochs_by_data_size": True,
            "example_budget": 6_000,
            "min_epochs": 2,
            "batch_size": 16,
            "learning_rate": 1e-4,
            "head_learning_rate_multiplier": 1.0,
            "weight_decay": 0.01,
            "warmup_ratio": 0.1,
            "max_seq_length": 64,
            "label_smoothing": 0.0,
            # Measured on BANKING77 10-shot and left off (docs/benchmarks.md): layer-wise
            # learning-rate decay (1.0 = off), R-Drop's KL weight (0 = off), averaging the
            # weights of the last N epochs (0 = off).
            "layer_decay": 1.0,
            "r_drop_alpha": 0.0,
            "average_last_epochs": 0,
            # Share of training texts replaced each epoch by a noisy copy (typos, lower case,
            # no punctuation, filler openers): bot/nlu/augmentation.py.
            "augmentation_probability": 0.3,
            # Stratified held-out share for early stopping; 0 trains on everything, which
            # measured better with little data (bench/fewshot_benchmark.py).
            "validation_fraction": 0.0,
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
            # A second question in the message ("... and can I still change the address?")
            # classified this confidently is kept in `other_questions` (bot/nlu/question_split.py);
            # None turns the extra clause predictions off.
            "other_question_threshold": 0.8,
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
        if not 0 < float(config["layer_decay"]) <= 1:
            raise InvalidConfigException("BertIntentClassifier: 'layer_decay' must be in (0, 1].")
        if float(config["r_drop_alpha"]) < 0 or int(config["average_last_epochs"]) < 0:
            raise InvalidConfigException(
                "BertIntentClassifier: 'r_drop_alpha' and 'average_last_epochs' must be >= 0."
            )
        threshold = config["other_question_threshold"]
        if threshold is not None and not 0 < float(threshold) <= 1:
            raise InvalidConfigException(
                "BertIntentClassifier: 'other_question_threshold' must be in (0, 1] or null."
            )
        if config["architecture"] not in ARCHITECTURES:
            raise InvalidConfigException(
                f"BertIntentClassifier: 'architecture' must be one of {', '.join(ARCHITECTURES)}, "
                f"got '{config['architecture']}'."
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
        from bot.nlu.sentence_model import SentenceClassifier
        from bot.nlu.training import TrainingSettings, fine_tune, initialise_prototypes

        examples = [
            example
            for example in training_data.intent_examples
            if example.get(INTENT) and example.get(TEXT) is not None
        ]
        if not examples:
            logger.debug("BertIntentClassifier: no intent examples, nothing to train.")
            return self._resource

        labels = sorted({example.get(INTENT) for example in examples})
        fresh = self.model is None
        if fresh:
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
        texts = [example.get(TEXT) for example in examples]
        label_list = [label_ids[example.get(INTENT)] for example in examples]
        if fresh and isinstance(self.model, SentenceClassifier):
            initialise_prototypes(
                self.model,
                self.tokenizer,
                texts,
                label_list,
                int(self.config["max_seq_length"]),
                self.device,
            )
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
            label_smoothing=float(self.config["label_smoothing"]),
            augmentation_probability=float(self.config["augmentation_probability"]),
            epochs_by_data_size=bool(self.config["epochs_by_data_size"]),
            example_budget=int(self.config["example_budget"]),
            min_epochs=int(self.config["min_epochs"]),
            head_learning_rate_multiplier=float(self.config["head_learning_rate_multiplier"]),
            layer_decay=float(self.config["layer_decay"]),
            r_drop_alpha=float(self.config["r_drop_alpha"]),
            average_last_epochs=int(self.config["average_last_epochs"]),
        )
        report = fine_tune(self.model, self.tokenizer, texts, label_list, settings, self.device)
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
        from bot.nlu.base_model import resolve_base_model
        from bot.nlu.model_files import new_network
        from bot.nlu.training import seed_everything

        base = resolve_base_model(
            self.config["model_name_or_path"], self.config["local_files_only"]
        )
        seed_everything(int(self.config["random_seed"]))  # the new head's initial weights
        self.model, self.tokenizer = new_network(
            base, labels, self.config["architecture"], bool(self.config["local_files_only"])
        )
        logger.info("BertIntentClassifier: fine-tuning %s for %d intents.", base, len(labels))
        self.labels = labels

    # ------------------------------------------------------------- persistence

    def persist(self) -> None:
        """Write weights (safetensors), tokenizer and label map into the model archive."""
        from bot.nlu.model_files import write_model_directory

        with self._model_storage.write_to(self._resource) as directory:
            write_model_directory(directory, self.model, self.tokenizer, self.labels)

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
        from bot.nlu.model_files import read_model_directory

        try:
            with model_storage.read_from(resource) as directory:
                model, tokenizer, labels = read_model_directory(directory)
        except ValueError:
            # Rasa's way of saying the resource was never written (no NLU data to train on).
            logger.debug("BertIntentClassifier: no trained model in the archive; untrained.")
            return cls.create(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, execution_context, model, tokenizer, labels)

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
            threshold = self.config["other_question_threshold"]
            if threshold is not None:
                others = other_questions(
                    str(message.get(TEXT)), ranking[0][INTENT_NAME_KEY], self.predict_proba,
                    self.labels, float(threshold),
                )  # fmt: skip
                message.set(OTHER_QUESTIONS, others, add_to_output=True)
        return messages
