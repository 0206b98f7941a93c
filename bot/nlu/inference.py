"""The classifier's serving form on a CPU: dynamic int8 quantisation of its linear layers.

Weights of the linear layers are stored as int8 with one scale per output channel, and
activations are quantised on the fly, so nothing needs calibration data and the persisted
model stays float32. One scale per channel rather than per tensor is what keeps accuracy
close to float32 (bench/inference_benchmark.py compares float32, per-tensor and per-channel
int8 on the same cross-validation folds).
"""

from __future__ import annotations

import warnings

import torch


def quantize_for_cpu(model: torch.nn.Module) -> torch.nn.Module:
    """An int8 copy of `model` for CPU inference (the original is left as it is)."""
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; the API works as documented.
        warnings.simplefilter("ignore", DeprecationWarning)
        quantized = torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}
        )
    return quantized.eval()
