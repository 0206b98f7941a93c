"""The fine-tuning loop of the BERT intent classifier.

Kept apart from the Rasa component so that the loop reads like Hugging Face's
`run_classification.py`: batch, AdamW with linear warm-up and decay, cross-entropy (with label
smoothing) on noisy copies of the texts, and, when a validation share is configured, evaluate
each epoch and keep the best weights. With little data a validation share costs more than it
gives (bench/fewshot_benchmark.py), so by default every example is trained on and the number of
epochs follows from the data's size (`epochs_for`).
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm
from transformers import (
    PreTrainedModel,
    PreTrainedTokenizerBase,
    get_linear_schedule_with_warmup,
)
from transformers.trainer_pt_utils import LengthGroupedSampler

from bot.nlu.augmentation import augment
from bot.nlu.device import autocast_dtype
from bot.nlu.sentence_model import SentenceClassifier
from bot.nlu.training_levers import WeightAverage, layer_depth, r_drop_loss

logger = logging.getLogger(__name__)


@dataclass
class TrainingSettings:
    """What the loop needs from the component config (defaults live in the component)."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_ratio: float
    max_seq_length: int
    validation_fraction: float
    min_examples_for_validation: int
    early_stopping_patience: int
    random_seed: int
    mixed_precision: bool
    show_progress_bar: bool
    label_smoothing: float = 0.0
    augmentation_probability: float = 0.0
    # When true, `epochs` is a ceiling: about `example_budget` examples are seen in all,
    # in at least `min_epochs` epochs.
    epochs_by_data_size: bool = False
    example_budget: int = 6_000
    min_epochs: int = 2
    # The intent head (new weights) learns this many times faster than the encoder.
    head_learning_rate_multiplier: float = 1.0
    # Layer-wise learning-rate decay: each encoder layer below the top learns this factor
    # slower (1.0 = off), so general lower layers move less than task-specific upper ones.
    layer_decay: float = 1.0
    # R-Drop: weight of the symmetric KL between two dropout passes of a batch (0 = off).
    r_drop_alpha: float = 0.0
    # Average the weights after each of the last N epochs (0 = keep the last weights);
    # with early stopping the best epoch's weights are kept instead.
    average_last_epochs: int = 0


@dataclass
class TrainingReport:
    """What happened during training, for the log and for tests."""

    device: str
    seconds: float
    epochs_run: int
    train_examples: int
    validation_examples: int
    best_validation_accuracy: float | None
    losses: list[float] = field(default_factory=list)


def epochs_for(n_examples: int, settings: TrainingSettings) -> int:
    """The configured epochs, or by the data's size: a fixed budget of examples, so small
    data gets many passes and large data few, and training time stays about the same.

    `epochs` stays the ceiling, so `rasa train --finetune --epoch-fraction` still shortens it.
    """
    if not settings.epochs_by_data_size:
        return settings.epochs
    by_budget = math.ceil(settings.example_budget / max(n_examples, 1))
    return min(settings.epochs, max(settings.min_epochs, by_budget))


def seed_everything(seed: int) -> None:
    """Make CPU training repeatable: same data order, same initial head, same dropout."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def stratified_split(
    labels: list[int], fraction: float, min_examples: int, seed: int
) -> tuple[list[int], list[int]]:
    """Indices for training and held-out validation, stratified by intent.

    Early stopping needs a validation set that has every intent; with little data we train on
    everything instead (and run the configured number of epochs).
    """
    indices = list(range(len(labels)))
    counts = Counter(labels)
    n_validation = int(round(len(labels) * fraction))
    if (
        fraction <= 0
        or len(labels) < min_examples
        or min(counts.values()) < 2
        or n_validation < len(counts)
    ):
        return indices, []
    from sklearn.model_selection import train_test_split

    train_idx, validation_idx = train_test_split(
        indices, test_size=n_validation, stratify=labels, random_state=seed
    )
    return sorted(train_idx), sorted(validation_idx)


def _batches(
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    labels: list[int],
    settings: TrainingSettings,
    device: torch.device,
    shuffle: bool,
    augmentation_probability: float = 0.0,
) -> DataLoader:
    rng = random.Random(settings.random_seed)

    def collate(pairs: list[tuple[str, int]]) -> dict[str, torch.Tensor]:
        # Tokenize per batch: padding to the batch's longest text, not the data set's.
        batch = tokenizer(
            augment([text for text, _ in pairs], augmentation_probability, rng),
            padding=True,
            truncation=True,
            max_length=settings.max_seq_length,
            return_tensors="pt",
        )
        batch["labels"] = torch.tensor([label for _, label in pairs])
        return dict(batch)

    generator = torch.Generator().manual_seed(settings.random_seed)
    sampler = None
    if shuffle:
        # Random order, but each batch of texts of similar length: short questions and long
        # stories are not padded to the same length (about half the CPU time on shop data).
        lengths = [
            len(ids)
            for ids in tokenizer(texts, truncation=True, max_length=settings.max_seq_length)[
                "input_ids"
            ]
        ]
        sampler = LengthGroupedSampler(settings.batch_size, lengths=lengths, generator=generator)
    return DataLoader(
        list(zip(texts, labels, strict=True)),
        batch_size=settings.batch_size,
        sampler=sampler,
        collate_fn=collate,
        pin_memory=device.type == "cuda",
    )


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device_type=device.type, dtype=dtype) if dtype else nullcontext()


@torch.inference_mode()
def evaluate(
    model: PreTrainedModel, loader: DataLoader, device: torch.device, dtype: torch.dtype | None
) -> tuple[float, float]:
    """Accuracy and mean loss over a loader."""
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    for batch in loader:
        batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
        targets = batch.pop("labels")
        with _autocast(device, dtype):
            logits = model(**batch).logits.float()
        loss_sum += float(torch.nn.functional.cross_entropy(logits, targets)) * len(targets)
        correct += int((logits.argmax(dim=-1) == targets).sum())
        total += len(targets)
    return correct / max(total, 1), loss_sum / max(total, 1)


@torch.inference_mode()
def initialise_prototypes(
    model: SentenceClassifier,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    labels: list[int],
    max_seq_length: int,
    device: torch.device,
    batch_size: int = 64,
) -> None:
    """Start each intent's vector at the mean embedding of its examples (before training)."""
    model.to(device)
    model.eval()
    chunks = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(
            texts[start : start + batch_size],
            padding=True,
            truncation=True,
            max_length=max_seq_length,
            return_tensors="pt",
        ).to(device)
        chunks.append(model.embed(**encoded).float().cpu())
    model.set_prototypes(torch.cat(chunks), torch.tensor(labels))


def _parameter_groups(model: torch.nn.Module, settings: TrainingSettings) -> list[dict]:
    """AdamW groups: no weight decay on biases and LayerNorm; the head at its own rate; with
    `layer_decay` < 1, each encoder layer at a rate that shrinks with its depth."""
    no_decay = ("bias", "LayerNorm.weight")
    head = ("prototypes", "log_scale", "classifier.weight", "classifier.bias")
    num_layers = int(getattr(model.config, "num_hidden_layers", 0))
    groups: dict[tuple[bool, bool, int], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            depth = layer_depth(name, num_layers) if settings.layer_decay != 1.0 else 0
            key = (name.endswith(no_decay) or name == "log_scale", name.endswith(head), depth)
            groups.setdefault(key, []).append(parameter)
    return [
        {
            "params": parameters,
            "weight_decay": 0.0 if no_decay_group else settings.weight_decay,
            "lr": settings.learning_rate
            * (settings.head_learning_rate_multiplier if head_group else 1.0)
            * settings.layer_decay**depth,
        }
        for (no_decay_group, head_group, depth), parameters in groups.items()
    ]


def fine_tune(
    model: PreTrainedModel | SentenceClassifier,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    labels: list[int],
    settings: TrainingSettings,
    device: torch.device,
) -> TrainingReport:
    """Fine-tune `model` in place on (text, label id) pairs and return what happened."""
    started = time.perf_counter()
    seed_everything(settings.random_seed)
    train_idx, validation_idx = stratified_split(
        labels,
        settings.validation_fraction,
        settings.min_examples_for_validation,
        settings.random_seed,
    )
    train_loader = _batches(
        tokenizer,
        [texts[i] for i in train_idx],
        [labels[i] for i in train_idx],
        settings,
        device,
        shuffle=True,
        augmentation_probability=settings.augmentation_probability,
    )
    validation_loader = (
        _batches(
            tokenizer,
            [texts[i] for i in validation_idx],
            [labels[i] for i in validation_idx],
            settings,
            device,
            shuffle=False,
        )
        if validation_idx
        else None
    )

    model.to(device)
    dtype = autocast_dtype(device, settings.mixed_precision)
    # float16 needs loss scaling to keep small gradients from underflowing; bfloat16 does not.
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    optimizer = torch.optim.AdamW(_parameter_groups(model, settings), lr=settings.learning_rate)
    epochs = epochs_for(len(train_idx), settings)
    total_steps = max(1, epochs * len(train_loader))
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup_ratio * total_steps), total_steps
    )
    loss_function = torch.nn.CrossEntropyLoss(label_smoothing=settings.label_smoothing)

    report = TrainingReport(
        device=str(device),
        seconds=0.0,
        epochs_run=0,
        train_examples=len(train_idx),
        validation_examples=len(validation_idx),
        best_validation_accuracy=None,
    )
    best_state: dict[str, torch.Tensor] | None = None
    best_key: tuple[float, float] | None = None
    epochs_without_improvement = 0
    average = WeightAverage()

    progress = tqdm(
        range(epochs), desc="BertIntentClassifier", disable=not settings.show_progress_bar
    )
    for _epoch in progress:
        model.train()
        epoch_loss, seen = 0.0, 0
        for batch in train_loader:
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            targets = batch.pop("labels")
            with _autocast(device, dtype):
                logits = model(**batch).logits.float()
                if settings.r_drop_alpha > 0:  # a second pass, under the same autocast
                    loss = r_drop_loss(
                        model, batch, logits, targets, loss_function, settings.r_drop_alpha
                    )
                else:
                    loss = loss_function(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            epoch_loss += loss.item() * len(targets)
            seen += len(targets)
        report.epochs_run += 1
        report.losses.append(epoch_loss / max(seen, 1))
        if epochs - report.epochs_run < settings.average_last_epochs:
            average.add(model)
        postfix = {"loss": f"{report.losses[-1]:.3f}"}

        if validation_loader is not None:
            accuracy, validation_loss = evaluate(model, validation_loader, device, dtype)
            postfix["val_acc"] = f"{accuracy:.3f}"
            key = (accuracy, -validation_loss)
            if best_key is None or key > best_key:
                best_key = key
                best_state = copy.deepcopy(model.state_dict())
                epochs_without_improvement = 0
            else:
                epochs_without_improvement += 1
        progress.set_postfix(postfix)
        if epochs_without_improvement >= settings.early_stopping_patience > 0:
            logger.info("Early stopping after %d epochs.", report.epochs_run)
            break

    if average.count and best_state is None:
        model.load_state_dict(average.state)
    if best_state is not None:
        model.load_state_dict(best_state)
        report.best_validation_accuracy = best_key[0] if best_key else None
    model.eval()
    report.seconds = time.perf_counter() - started
    return report
