"""The learned half of the frustration signal: sentence embeddings and a logistic-regression head.

Rules catch the insults and threats their authors thought of; on messages written by someone
who never saw them (tests/frustration_fresh.yml) they found 38 % of the frustrated ones.
Sarcasm ("great, another bot. just great"), fatigue ("I give up") and courier rage share no
word list, but they lie close together in a sentence encoder's space. So the frozen
all-MiniLM-L6-v2 (mean pooling, as sentence-transformers trained it) embeds each message and a
scikit-learn logistic regression, fitted on `data/frustration.yml`, says how frustrated it
sounds. The encoder is not fine-tuned: a few hundred examples would only overfit it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

HEAD_FILE = "frustration_head.json"
BATCH_SIZE = 32
MAX_TOKENS = 64


class FrustrationExamplesError(ValueError):
    """The examples file is missing or not in the expected shape."""


def load_examples(path: str | Path) -> tuple[list[str], list[bool]]:
    """`frustrated:` and `not_frustrated:` lists of messages, as texts and labels."""
    file = Path(path)
    if not file.is_file():
        raise FrustrationExamplesError(f"{file}: no such file (FrustrationDetector 'examples')")
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    frustrated = data.get("frustrated") if isinstance(data, dict) else None
    calm = data.get("not_frustrated") if isinstance(data, dict) else None
    if not isinstance(frustrated, list) or not isinstance(calm, list) or not frustrated or not calm:
        raise FrustrationExamplesError(
            f"{file}: needs two non-empty lists, 'frustrated:' and 'not_frustrated:'"
        )
    texts = [str(text) for text in [*frustrated, *calm]]
    return texts, [True] * len(frustrated) + [False] * len(calm)


class SentenceEncoder:
    """A frozen Hugging Face encoder whose mean-pooled, normalised token vectors embed a text."""

    def __init__(self, base_path: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(base_path)
        self.model = AutoModel.from_pretrained(base_path).eval()

    def embed(self, texts: list[str]) -> np.ndarray:
        torch = self.torch
        batches = []
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                batch = self.tokenizer(
                    texts[start : start + BATCH_SIZE],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                states = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                batches.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(batches) if batches else np.zeros((0, 0), dtype=np.float32)


class FrustrationModel:
    """Encoder plus logistic-regression head; `save` and `load` are a pair."""

    def __init__(self, encoder: SentenceEncoder, coef: np.ndarray, intercept: float) -> None:
        self.encoder = encoder
        self.coef = coef
        self.intercept = intercept

    @classmethod
    def fit(
        cls, encoder: SentenceEncoder, texts: list[str], labels: list[bool], c: float
    ) -> FrustrationModel:
        return cls.fit_embeddings(encoder, encoder.embed(texts), labels, c)

    @classmethod
    def fit_embeddings(
        cls, encoder: SentenceEncoder, embeddings: np.ndarray, labels: list[bool], c: float
    ) -> FrustrationModel:
        """`fit` on texts embedded already (cross-validation embeds once)."""
        from sklearn.linear_model import LogisticRegression

        head = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        head.fit(embeddings, np.asarray(labels, dtype=int))
        return cls(encoder, head.coef_[0].astype(np.float32), float(head.intercept_[0]))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """P(frustrated) for each text."""
        if not texts:
            return np.zeros(0)
        return self.probabilities_of(self.encoder.embed(texts))

    def probabilities_of(self, embeddings: np.ndarray) -> np.ndarray:
        logits = embeddings @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def save(self, directory: Path) -> None:
        head = {"coef": [float(x) for x in self.coef], "intercept": self.intercept}
        (directory / HEAD_FILE).write_text(json.dumps(head), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, encoder: SentenceEncoder) -> FrustrationModel:
        head = json.loads((directory / HEAD_FILE).read_text(encoding="utf-8"))
        return cls(encoder, np.asarray(head["coef"], dtype=np.float32), float(head["intercept"]))
