import torch
from torch.utils.data import TensorDataset


def synthetic_dataset(
    samples: int,
    features: int,
    classes: int,
    seed: int,
    noise: float = 1.0,
    image_shape: list[int] | None = None,
    task: str = "classification",
) -> TensorDataset:
    """A learnable data set of `samples` float32 inputs and their targets.

    Each input is a vector of `features` numbers, or an image tensor of `image_shape`
    ([channels, height, width]) when that is given. Classification: each class has a
    random centre (standard deviation 2), its inputs are the centre plus `noise` times
    Gaussian noise, and the targets are int64 class indices. Regression: the inputs
    are Gaussian and each target, of shape [1], is a fixed random linear function of
    its input plus `noise` / 10 times Gaussian noise. The same seed gives the same data.
    """
    generator = torch.Generator().manual_seed(seed)
    shape = tuple(image_shape) if image_shape else (features,)
    if task == "regression":
        inputs = torch.randn(samples, *shape, generator=generator)
        size = inputs[0].numel()
        weights = torch.randn(size, 1, generator=generator) / size**0.5
        jitter = torch.randn(samples, 1, generator=generator)
        targets = inputs.reshape(samples, size) @ weights + noise / 10 * jitter
        return TensorDataset(inputs, targets)
    centres = 2 * torch.randn(classes, *shape, generator=generator)
    labels = torch.randint(classes, (samples,), generator=generator)
    scatter = noise * torch.randn(samples, *shape, generator=generator)
    return TensorDataset(centres[labels] + scatter, labels)
