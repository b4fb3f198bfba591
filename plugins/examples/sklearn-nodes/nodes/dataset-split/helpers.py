from typing import Any


def sklearn_dataset_split(dataset: str, test_size: float, seed: int) -> dict[str, Any]:
    """A bundled scikit-learn dataset split, stratified by class, into train and test parts."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loaders = {
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
    }
    bunch = loaders[dataset]()
    x_train, x_test, y_train, y_test = train_test_split(
        bunch.data,
        bunch.target,
        test_size=test_size,
        random_state=seed,
        stratify=bunch.target,
    )
    return {
        "x_train": x_train,
        "x_test": x_test,
        "y_train": y_train,
        "y_test": y_test,
        "features": [str(name) for name in bunch.feature_names],
        "classes": [str(name) for name in bunch.target_names],
    }
