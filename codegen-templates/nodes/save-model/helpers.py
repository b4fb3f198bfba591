import os
from typing import Any

import torch
from torch import nn


def save_state_dict(model: nn.Module, path: str) -> dict[str, Any]:
    """Saves the model's weights (its state_dict) to `path`, creating the directories
    it needs, and returns {"path": the file's absolute path}."""
    target = os.path.abspath(path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    torch.save(model.state_dict(), target)
    return {"path": target}
