import torch
from torch import nn


def sgd_optimizer(
    model: nn.Module, lr: float | str, momentum: float, weight_decay: float
) -> torch.optim.SGD:
    """SGD over the model's parameters; `lr` may come from a binding as a str."""
    return torch.optim.SGD(
        model.parameters(), lr=float(lr), momentum=momentum, weight_decay=weight_decay
    )
