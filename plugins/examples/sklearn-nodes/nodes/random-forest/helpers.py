from typing import Any


def sklearn_fit_random_forest(
    split: dict[str, Any], trees: int, max_depth: int | None, seed: int
) -> Any:
    """A random forest classifier fitted on the training part of `split`."""
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(
        n_estimators=trees, max_depth=max_depth, random_state=seed
    )
    model.fit(split["x_train"], split["y_train"])
    return model
