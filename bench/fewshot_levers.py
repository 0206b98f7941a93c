"""One training choice at a time on BANKING77 k-shot, with the training loop called directly.

Faster to iterate than bench/fewshot_benchmark.py (no Rasa graph, one process), for deciding
the classifier's defaults; the side-by-side figures come from that benchmark. Each run
appends one line to bench/results/fewshot_levers.jsonl, with the test accuracy of the
prototypes before training (`init_acc`, the nearest-prototype classifier) and after (`acc`).

    .venv/bin/python bench/fewshot_levers.py --k 10 --epochs 8              # prototypes, no noise
    .venv/bin/python bench/fewshot_levers.py --k 10 --epochs 8 --aug 0.3    # with noisy copies
    .venv/bin/python bench/fewshot_levers.py --k 10 --arch linear --epochs 15
    .venv/bin/python bench/fewshot_levers.py --k 10 --aug 0.3 --rdrop 1.0   # one lever on top
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "datasets" / "banking77"
RESULTS = ROOT / "bench" / "results" / "fewshot_levers.jsonl"


def read_split(name: str) -> list[tuple[str, str]]:
    with (DATASET / f"{name}.csv").open(newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def accuracy(model, tokenizer, test: list[tuple[str, str]], label_ids: dict[str, int]) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(test), 128):
            batch = test[start : start + 128]
            encoded = tokenizer(
                [text for text, _ in batch],
                padding=True,
                truncation=True,
                max_length=64,
                return_tensors="pt",
            )
            predicted = model(**encoded).logits.argmax(-1).tolist()
            correct += sum(
                label_ids[intent] == p for (_, intent), p in zip(batch, predicted, strict=True)
            )
    return correct / len(test)


def contrastive_pair_stage(
    model, tokenizer, texts: list[str], targets: list[int], rounds: int, seed: int
) -> None:
    """SetFit's first stage: for each text, `rounds` pairs with a same-intent text (target
    similarity 1) and `rounds` with another intent's (0); one epoch of cosine-similarity MSE
    on the encoder, batch 16, learning rate 2e-5 (SetFit's body defaults)."""
    import torch

    rng = random.Random(seed)
    by_label: dict[int, list[str]] = {}
    for text, label in zip(texts, targets, strict=True):
        by_label.setdefault(label, []).append(text)
    pairs = []
    for text, label in zip(texts, targets, strict=True):
        others = [other for other in by_label if other != label]
        for _ in range(rounds):
            pairs.append((text, rng.choice(by_label[label]), 1.0))
            pairs.append((text, rng.choice(by_label[rng.choice(others)]), 0.0))
    rng.shuffle(pairs)
    encoder = model.encoder
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=2e-5)

    def embed(batch_texts: list[str]) -> torch.Tensor:
        encoded = tokenizer(
            batch_texts, padding=True, truncation=True, max_length=64, return_tensors="pt"
        )
        return model.embed(**encoded)  # the classifier's own mean pooling

    encoder.train()
    for start in range(0, len(pairs), 16):
        batch = pairs[start : start + 16]
        left = embed([a for a, _, _ in batch])
        right = embed([b for _, b, _ in batch])
        similarity = torch.nn.functional.cosine_similarity(left, right)
        loss = torch.nn.functional.mse_loss(similarity, torch.tensor([y for _, _, y in batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    encoder.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10, help="examples per intent; 0 = all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arch", choices=["cosine", "linear"], default="cosine")
    parser.add_argument("--epochs", type=int, default=None, help="default: by the data's size")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--ls", type=float, default=0.0, help="label smoothing")
    parser.add_argument("--aug", type=float, default=0.0, help="augmentation probability")
    parser.add_argument("--budget", type=int, default=6000, help="example budget")
    parser.add_argument("--headmult", type=float, default=1.0)
    parser.add_argument("--bs", type=int, default=16)
    parser.add_argument("--layer-decay", type=float, default=1.0, help="layer-wise lr decay")
    parser.add_argument("--rdrop", type=float, default=0.0, help="R-Drop alpha")
    parser.add_argument("--avg-last", type=int, default=0, help="average the last N epochs")
    parser.add_argument(
        "--class-names", action="store_true", help="each intent's name as one more example"
    )
    parser.add_argument(
        "--pair-rounds",
        type=int,
        default=0,
        help="SetFit-style contrastive pair stage first: positive and negative pairs per text",
    )
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    from bot.nlu.base_model import packaged_minilm_path
    from bot.nlu.sentence_model import SentenceClassifier
    from bot.nlu.training import (
        TrainingSettings,
        fine_tune,
        initialise_prototypes,
        seed_everything,
    )

    torch.set_num_threads(2)
    train, test = read_split("train"), read_split("test")
    labels = sorted({intent for _, intent in train})
    label_ids = {intent: i for i, intent in enumerate(labels)}
    by_intent: dict[str, list[str]] = {}
    for text, intent in train:
        by_intent.setdefault(intent, []).append(text)
    rng = random.Random(args.seed)
    chosen = (
        [(text, i) for i in labels for text in rng.sample(by_intent[i], args.k)]
        if args.k > 0
        else train
    )
    if args.class_names:
        chosen = chosen + [(intent.replace("_", " "), intent) for intent in labels]
    texts = [text for text, _ in chosen]
    targets = [label_ids[intent] for _, intent in chosen]

    base = str(packaged_minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(base)
    seed_everything(args.seed)
    started = time.perf_counter()
    initial = None
    if args.arch == "cosine":
        model = SentenceClassifier(AutoModel.from_pretrained(base), len(labels))
        if args.pair_rounds:
            contrastive_pair_stage(model, tokenizer, texts, targets, args.pair_rounds, args.seed)
        initialise_prototypes(model, tokenizer, texts, targets, 64, torch.device("cpu"))
        init_seconds = time.perf_counter() - started
        initial = accuracy(model, tokenizer, test, label_ids)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(labels))
        init_seconds = 0.0
    settings = TrainingSettings(
        epochs=args.epochs or 15,
        batch_size=args.bs,
        learning_rate=args.lr,
        weight_decay=0.01,
        warmup_ratio=0.1,
        max_seq_length=64,
        validation_fraction=0.0,
        min_examples_for_validation=200,
        early_stopping_patience=0,
        random_seed=args.seed,
        mixed_precision=False,
        show_progress_bar=False,
        label_smoothing=args.ls,
        augmentation_probability=args.aug,
        epochs_by_data_size=args.epochs is None,
        example_budget=args.budget,
        head_learning_rate_multiplier=args.headmult,
        layer_decay=args.layer_decay,
        r_drop_alpha=args.rdrop,
        average_last_epochs=args.avg_last,
    )
    report = fine_tune(model, tokenizer, texts, targets, settings, torch.device("cpu"))
    row = {
        **vars(args),
        "init_acc": initial,
        "acc": accuracy(model, tokenizer, test, label_ids),
        "train_s": round(report.seconds + init_seconds, 1),
        "epochs": report.epochs_run,
        "losses": [round(loss, 3) for loss in report.losses],
    }
    print(json.dumps(row))
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
