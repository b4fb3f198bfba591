from torchvision import datasets, transforms


def mnist_dataset(root: str, train: bool, download: bool) -> datasets.MNIST:
    """The MNIST digits under `root`, the training or the test split: 1×28×28 float32
    images normalized with MNIST's mean and standard deviation, and labels 0 to 9.

    With `download`, fetches the files into `root` when they are missing (this needs
    network access); without it, they must already be there.
    """
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    return datasets.MNIST(root, train=train, download=download, transform=transform)
