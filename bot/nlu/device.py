"""Picks the torch device the classifier trains and predicts on."""

from __future__ import annotations

import torch
from rasa.shared.exceptions import InvalidConfigException

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def choose_device(setting: str) -> torch.device:
    """Resolve the `device` config value; `auto` means the GPU when there is one."""
    setting = (setting or "auto").lower()
    if setting not in DEVICE_CHOICES and not setting.startswith("cuda:"):
        raise InvalidConfigException(
            f"BertIntentClassifier: device must be one of {', '.join(DEVICE_CHOICES)} "
            f"or 'cuda:N', got '{setting}'."
        )
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidConfigException(
            f"BertIntentClassifier: device '{setting}' was configured but torch sees no "
            "CUDA GPU. Use device: auto to fall back to the CPU."
        )
    return torch.device(setting)


def autocast_dtype(device: torch.device, mixed_precision: bool) -> torch.dtype | None:
    """The reduced-precision dtype for autocast, or None to run in float32.

    Mixed precision only pays off on a GPU; bfloat16 where the card has it (no loss
    scaling needed), float16 otherwise.
    """
    if not mixed_precision or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
