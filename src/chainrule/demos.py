"""The classic examples, runnable as ``chainrule demo NAME``.

Each demo is a function ``demo(seed, verbose, plot) -> dict`` that trains,
prints what it learned, and returns its results (so tests can check them).
"""
from __future__ import annotations

import numpy as np

from .activations import Sigmoid
from .losses import BinaryCrossEntropy
from .network import mlp
from .optimizers import SGD


def xor(seed=0, verbose=1, plot=None, epochs=10_000):
    """XOR with a 2-4-1 sigmoid network, binary cross-entropy, full-batch gradient descent (lr 0.1)."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    net = mlp([2, 4, 1], hidden="sigmoid", output=Sigmoid(), init="normal", seed=seed)
    history = net.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.1), epochs=epochs,
                      batch_size=None, verbose=verbose)
    proba = net.predict(X)[:, 0]
    predicted = (proba > 0.5).astype(int)
    accuracy = float(np.mean(predicted == y))
    if verbose:
        print(f"final loss {history['loss'][-1]:.4f}")
        print("x1 x2 | target  output  predicted")
        for (a, b), target, p, c in zip(X.astype(int), y, proba, predicted):
            print(f" {a}  {b} |   {target}     {p:.4f}     {c}")
        print(f"accuracy {accuracy:.2f}")
    if plot:
        from . import plot as _plot
        _plot.save(_plot.decision_boundary(net, X, y, history=history), plot)
    return {"net": net, "history": history, "proba": proba, "accuracy": accuracy}


DEMOS = {"xor": xor}
