"""Optional training techniques for the fine-tuning loop, each off by default.

They were measured one at a time on BANKING77 10-shot (bench/fewshot_levers.py,
docs/benchmarks.md); the component exposes them so a shop can try them on its own data.
"""

from __future__ import annotations

import re

import torch


def layer_depth(name: str, num_layers: int) -> int:
    """How far below the top a parameter sits: 0 for the head, num_layers + 1 for embeddings.

    For layer-wise learning-rate decay: a parameter's rate is multiplied by decay ** depth.
    """
    match = re.search(r"\.layer\.(\d+)\.", name)
    if match:
        return num_layers - int(match.group(1))
    return num_layers + 1 if "embeddings." in name else 0


def r_drop_loss(
    model: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    first_logits: torch.Tensor,
    targets: torch.Tensor,
    loss_function: torch.nn.Module,
    alpha: float,
) -> torch.Tensor:
    """R-Drop (Liang et al. 2021): a second dropout pass of the batch; the mean cross-entropy
    of both passes plus alpha times the symmetric KL between their predictions."""
    second_logits = model(**batch).logits.float()
    first_log, second_log = first_logits.log_softmax(-1), second_logits.log_softmax(-1)
    kl = torch.nn.functional.kl_div(first_log, second_log, log_target=True, reduction="batchmean")
    kl_back = torch.nn.functional.kl_div(
        second_log, first_log, log_target=True, reduction="batchmean"
    )
    cross_entropy = (
        loss_function(first_logits, targets) + loss_function(second_logits, targets)
    ) / 2
    return cross_entropy + alpha * (kl + kl_back) / 2


class WeightAverage:
    """The mean of the model's weights over the epochs it is given (checkpoint averaging)."""

    def __init__(self) -> None:
        self.count = 0
        self.state: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def add(self, model: torch.nn.Module) -> None:
        self.count += 1
        for key, value in model.state_dict().items():
            if not value.is_floating_point() or key not in self.state:
                self.state[key] = value.detach().clone()
            else:
                self.state[key] += (value.detach() - self.state[key]) / self.count
