"""Tiny classifier: a PyTorch MLP trained on synthetic data (``classifier.json``).

Layers chain through their default handles into a ``sequential`` node; ``train`` and ``evaluate``
take several inputs, so the edges into them name the input (``train.handle("data")``).
"""

from tensorify.workflow import Workflow


def build() -> Workflow:
    wf = Workflow("Tiny classifier", description="Trains a small PyTorch MLP on a synthetic two-class data set and reports accuracy.")
    trigger = wf.node("manual", id="trigger")
    data = wf.node("dataset-synthetic", id="data", after=trigger, samples=512, features=8, classes=2, seed=7)
    loader = wf.node("dataloader", id="loader", after=data, batchSize=32, shuffle=True)

    fc1 = wf.node("linear", id="fc1", inFeatures=8, outFeatures=16)
    act = wf.node("relu", id="act", after=fc1)
    fc2 = wf.node("linear", id="fc2", after=act, inFeatures=16, outFeatures=2)
    model = wf.node("sequential", id="model", after=fc2)

    loss = wf.node("loss-cross-entropy", id="loss")
    # A whole-value reference stays one binding, so the learning rate keeps its type (a number).
    opt = wf.node("optimizer-adam", id="opt", after=model, lr=trigger["lr"])
    train = wf.node("train", id="train", epochs=5)
    wf.edge(model.handle("model"), train.handle("model"))
    wf.edge(loader, train.handle("data"))
    wf.edge(loss, train.handle("loss"))
    wf.edge(opt, train.handle("optimizer"))

    evaluation = wf.node("evaluate", id="eval")
    wf.edge(train, evaluation.handle("model"))
    wf.edge(loader, evaluation.handle("data"))

    wf.node("return", id="out", value={"accuracy": evaluation["accuracy"], "finalLoss": train["loss"]})
    return wf


if __name__ == "__main__":
    print(build().to_json())
