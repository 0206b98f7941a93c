"""The classifier's network: a sentence encoder with mean pooling and a cosine-similarity head.

all-MiniLM-L6-v2 was trained to make the mean of its token vectors a sentence embedding in
which paraphrases lie close together. A linear head on the [CLS] pooler (what
`AutoModelForSequenceClassification` builds) throws that away and starts from random weights;
with ten examples per intent it has too little to relearn it from. Here each intent is a unit
vector in the encoder's own embedding space, initialised as the mean embedding of its
examples (a prototype), and the logits are scaled cosine similarities to those vectors (the
"normalised softmax" of FastFit and of cosine classifiers). Training then fine-tunes encoder
and prototypes together with cross-entropy, which pulls examples of one intent together and
pushes the others apart, as a batch contrastive loss does.

Persisted as the encoder's own Hugging Face files plus `intent_head.safetensors`, so the
encoder can be loaded by any transformers tool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, PreTrainedModel

HEAD_FILE = "intent_head.safetensors"
ARCHITECTURE = "mean_pooling_cosine"


@dataclass
class ClassifierOutput:
    """What `forward` returns: logits (and a loss when labels were given), like transformers."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None


def mean_pooling(token_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors, ignoring padding (sentence-transformers' pooling)."""
    mask = attention_mask.unsqueeze(-1).to(token_states.dtype)
    return (token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class SentenceClassifier(torch.nn.Module):
    """Encoder -> mean pooling -> L2 normalisation -> scaled cosine to one vector per intent."""

    def __init__(self, encoder: PreTrainedModel, num_labels: int, scale: float = 20.0) -> None:
        super().__init__()
        self.encoder = encoder
        hidden_size = int(encoder.config.hidden_size)
        self.prototypes = torch.nn.Parameter(torch.randn(num_labels, hidden_size) * 0.02)
        # Softmax temperature, learnt in log space so it stays positive.
        self.log_scale = torch.nn.Parameter(torch.tensor(math.log(scale)))
        self.num_labels = num_labels

    @property
    def config(self):  # noqa: ANN201 - the encoder's transformers config
        return self.encoder.config

    def embed(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object
    ) -> torch.Tensor:
        """Unit-length sentence embeddings."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return torch.nn.functional.normalize(mean_pooling(states, attention_mask), dim=-1)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        **_: object,
    ) -> ClassifierOutput:
        embeddings = self.embed(input_ids, attention_mask)
        prototypes = torch.nn.functional.normalize(self.prototypes, dim=-1)
        logits = self.log_scale.exp() * embeddings @ prototypes.to(embeddings.dtype).T
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        return ClassifierOutput(logits=logits, loss=loss)

    @torch.no_grad()
    def set_prototypes(self, embeddings: torch.Tensor, labels: torch.Tensor) -> None:
        """Each intent's vector := the normalised mean embedding of its examples."""
        for label in range(self.num_labels):
            members = embeddings[labels == label]
            if len(members):
                self.prototypes[label] = torch.nn.functional.normalize(
                    members.float().mean(dim=0), dim=-1
                )

    def save_pretrained(self, directory: Path, **kwargs: object) -> None:
        """The encoder as Hugging Face files, the head beside it."""
        self.encoder.save_pretrained(directory, **kwargs)
        save_file(
            {
                "prototypes": self.prototypes.detach().float().cpu().contiguous(),
                "log_scale": self.log_scale.detach().float().cpu().reshape(1),
            },
            str(Path(directory) / HEAD_FILE),
        )

    @classmethod
    def from_directory(cls, directory: Path, num_labels: int) -> SentenceClassifier:
        """Read back what `save_pretrained` wrote."""
        encoder = AutoModel.from_pretrained(directory, local_files_only=True)
        head = load_file(str(Path(directory) / HEAD_FILE))
        if tuple(head["prototypes"].shape) != (num_labels, encoder.config.hidden_size):
            raise ValueError(
                f"intent head has shape {tuple(head['prototypes'].shape)}, expected "
                f"({num_labels}, {encoder.config.hidden_size})"
            )
        model = cls(encoder, num_labels)
        with torch.no_grad():
            model.prototypes.copy_(head["prototypes"])
            model.log_scale.copy_(head["log_scale"].reshape(()))
        return model
