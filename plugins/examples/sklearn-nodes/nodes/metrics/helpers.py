from typing import Any


def sklearn_classification_metrics(model: Any, split: dict[str, Any]) -> dict[str, Any]:
    """Accuracy, macro F1 and the confusion matrix of `model` on the test part of `split`."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    predicted = model.predict(split["x_test"])
    actual = split["y_test"]
    return {
        "accuracy": float(accuracy_score(actual, predicted)),
        "f1": float(f1_score(actual, predicted, average="macro")),
        "confusion": confusion_matrix(actual, predicted).tolist(),
        "classes": split["classes"],
        "testSamples": int(len(actual)),
    }
