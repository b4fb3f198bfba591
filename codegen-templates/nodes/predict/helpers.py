import os
from typing import Any

import torch
from torch import nn


def first_layer_shape(model: nn.Module) -> tuple[int, ...] | None:
    """The sample shape the model's first layer fixes: [in_features] for a linear
    layer; None when it does not fix one (a convolution takes any height and width)."""
    for layer in model.modules():
        if isinstance(layer, nn.Sequential):
            continue
        return (layer.in_features,) if isinstance(layer, nn.Linear) else None
    return None


def predict_samples(
    model: nn.Module,
    samples: Any,
    sample_shape: list[int] | None = None,
    task: str = "classification",
) -> dict[str, Any]:
    """Runs `model` on `samples` (a list of samples, or one sample) in evaluation mode
    without gradients, after checking their shape, and returns its outputs (and, for a
    classifier, each sample's class)."""
    try:
        batch = torch.as_tensor(samples, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            "the samples must be numbers, or lists of numbers of equal lengths: "
            f"{error}"
        ) from None
    expected = tuple(sample_shape) if sample_shape is not None else None
    expected = expected or first_layer_shape(model)
    if expected is not None:
        if tuple(batch.shape) == expected:
            batch = batch.unsqueeze(0)
        elif tuple(batch.shape[1:]) != expected:
            raise ValueError(
                f"the model takes samples of shape {list(expected)}, but the samples "
                f"have shape {list(batch.shape)} (a list of samples, or one sample)"
            )
    elif batch.dim() < 2:
        batch = batch.reshape(1, -1)
    if len(batch) == 0:
        raise ValueError("no samples to predict")
    device = torch.device(os.environ.get("TENSORIFY_DEVICE") or "cpu")
    model.to(device)
    model.eval()
    with torch.no_grad():
        outputs = model(batch.to(device)).cpu()
    result: dict[str, Any] = {"outputs": outputs.tolist()}
    if task == "classification":
        result["classes"] = outputs.argmax(dim=1).tolist()
    return result
