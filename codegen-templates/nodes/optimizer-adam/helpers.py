import torch
from torch import nn


def adam_optimizer(
    model: nn.Module, lr: float | str, weight_decay: float
) -> torch.optim.Adam:
    """Adam over the model's parameters; `lr` may come from a binding as a str."""
    return torch.optim.Adam(model.parameters(), lr=float(lr), weight_decay=weight_decay)
