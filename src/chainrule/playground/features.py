"""The input features a playground network sees: the raw coordinates and a few functions of them.

TensorFlow Playground's idea: a network given x₁² and x₂² separates the
circles with no hidden layer at all, one given x₁x₂ solves XOR the same way.
A feature is computed from the data's own columns (x₁, and x₂ for the 2-D
sets) before the first Dense layer, so the network, the ledger and the saved
model all take the feature matrix as their X.
"""
from __future__ import annotations

import numpy as np

#: name -> (what the page shows, the columns it needs, the function of X (n, d) -> (n,)).
FEATURES = {
    "x1": ("x₁", 1, lambda X: X[:, 0]),
    "x2": ("x₂", 2, lambda X: X[:, 1]),
    "x1^2": ("x₁²", 1, lambda X: X[:, 0] ** 2),
    "x2^2": ("x₂²", 2, lambda X: X[:, 1] ** 2),
    "x1x2": ("x₁x₂", 2, lambda X: X[:, 0] * X[:, 1]),
    "sin_x1": ("sin x₁", 1, lambda X: np.sin(X[:, 0])),
    "sin_x2": ("sin x₂", 2, lambda X: np.sin(X[:, 1])),
}

#: The same functions as Python source, for the exported script.
SOURCE = {
    "x1": "X[:, 0]", "x2": "X[:, 1]", "x1^2": "X[:, 0] ** 2", "x2^2": "X[:, 1] ** 2",
    "x1x2": "X[:, 0] * X[:, 1]", "sin_x1": "np.sin(X[:, 0])", "sin_x2": "np.sin(X[:, 1])",
}


def raw(n_features):
    """The features that are the data's own columns: ["x1"] or ["x1", "x2"]."""
    return ["x1", "x2"][:n_features]


def expand(X, names):
    """The feature matrix (n, len(names)) of the points X (n, d), in the order of ``names``."""
    X = np.asarray(X, dtype=np.float64)
    return np.column_stack([FEATURES[name][2](X) for name in names]) if len(X) else \
        np.empty((0, len(names)))
