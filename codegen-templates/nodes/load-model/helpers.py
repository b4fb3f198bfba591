import os

import torch
from torch import nn


def load_state_dict(model: nn.Module, path: str) -> nn.Module:
    """Loads the weights saved at `path` (a state_dict, as save-model writes it) into
    `model`, checking that the file holds the model's layers with the model's shapes,
    and returns the model in evaluation mode."""
    source = os.path.abspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"no saved model at {source}")
    state = torch.load(source, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(
            f"{source} holds no state_dict (save it with a save-model node)"
        )
    expected = model.state_dict()
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{source} was saved from a model with other layers: "
            f"the model has {', '.join(missing) or 'nothing'} that the file lacks, "
            f"the file has {', '.join(unexpected) or 'nothing'} that the model lacks"
        )
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(
                f"{source}: {name} has shape {list(tensor.shape)} in the file but "
                f"{list(expected[name].shape)} in the model; give the model the layers "
                "it was saved from"
            )
    model.load_state_dict(state)
    model.eval()
    return model
