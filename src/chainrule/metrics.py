"""Metrics ``f(A, y) -> float`` on a network's output A (n, n_out) and raw targets y."""
from __future__ import annotations

import numpy as np

from . import names


def _labels(A, y):
    """Predicted and true class labels for a classification output."""
    y = np.asarray(y)
    if A.shape[1] == 1:
        truth = y.reshape(-1)
        if not np.isin(truth, (0, 1)).all():
            raise ValueError("accuracy needs class labels 0/1 for a one-output network; "
                             "for regression ask for metrics=('mse',) or ('r2',)")
        return (A[:, 0] > 0.5).astype(int), truth.astype(int)
    truth = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)
    if truth.dtype.kind == "f" and not np.all(truth == np.round(truth)):
        raise ValueError("accuracy needs whole class labels; for regression ask for "
                         "metrics=('mse',) or ('r2',)")
    return A.argmax(axis=1), truth.astype(int)


def accuracy(A, y):
    """Share of rows whose predicted class (argmax, or A > 0.5 for one output) is right."""
    predicted, truth = _labels(A, y)
    return float(np.mean(predicted == truth))


def _targets(A, y):
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(A.shape) if y.size == A.size else y


def mse(A, y):
    """Mean squared error over all elements."""
    return float(np.mean((A - _targets(A, y)) ** 2))


def mae(A, y):
    """Mean absolute error over all elements."""
    return float(np.mean(np.abs(A - _targets(A, y))))


def r2(A, y):
    """Coefficient of determination 1 − SS_res/SS_tot, averaged over outputs (as scikit-learn)."""
    y = _targets(A, y)
    ss_res = ((y - A) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return float(scores.mean())


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae, "r2": r2}


def get(name):
    """The metric function for ``name`` (or a callable passed through)."""
    return name if callable(name) else names.lookup(METRICS, name, "metric")
