"""Metrics ``f(A, y) -> float`` on a network's output A (n, n_out) and raw targets y.

Chosen by name in ``fit(..., metrics=(...))`` and ``evaluate``: "accuracy",
"top_k_accuracy" (k = 5) or "top_3_accuracy" (any k), "precision", "recall",
"f1" (macro averages over classes, as scikit-learn's ``average="macro"``),
"mse", "mae", "r2"; or any callable ``f(A, y)``.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from .. import names


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


def check_targets(metric, shape, y):
    """ValueError, before any work, when the named ``metric`` cannot compare outputs of
    ``shape`` (n, n_out) with targets ``y``: mse, mae and r2 go entry by entry."""
    if metric in ("mse", "mae", "r2") and np.size(y) != np.prod(shape):
        hint = (" (y holds one class label per row: ask for metrics=('accuracy',) instead)"
                if np.size(y) == shape[0] else "")
        raise ValueError(f"metric {metric!r} compares each output with a target, so y must have "
                         f"the outputs' shape {tuple(shape)}, got {np.shape(y)}{hint}")


def _targets(A, y, metric):
    """y as float64 of A's shape."""
    check_targets(metric, A.shape, y)
    return np.asarray(y, dtype=np.float64).reshape(A.shape)


def mse(A, y):
    """Mean squared error over all elements."""
    return float(np.mean((A - _targets(A, y, "mse")) ** 2))


def mae(A, y):
    """Mean absolute error over all elements."""
    return float(np.mean(np.abs(A - _targets(A, y, "mae"))))


def r2(A, y):
    """Coefficient of determination 1 − SS_res/SS_tot, averaged over outputs (as scikit-learn)."""
    y = _targets(A, y, "r2")
    ss_res = ((y - A) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return float(scores.mean())


def top_k_accuracy(A, y, k=5):
    """Share of rows whose true class is among the k highest outputs."""
    if A.shape[1] < 2:
        raise ValueError("top-k accuracy needs one output per class (at least 2 outputs), "
                         f"the network has {A.shape[1]}")
    _, truth = _labels(A, y)
    if k >= A.shape[1]:
        return 1.0
    top = np.argpartition(-A, k - 1, axis=1)[:, :k]
    return float(np.mean((top == truth[:, None]).any(axis=1)))


def _per_class(A, y):
    """Counts per class (over the labels seen in truth or prediction): tp, predicted, actual."""
    predicted, truth = _labels(A, y)
    classes = np.union1d(predicted, truth)
    tp = np.array([np.sum((predicted == c) & (truth == c)) for c in classes], dtype=float)
    n_pred = np.array([np.sum(predicted == c) for c in classes], dtype=float)
    n_true = np.array([np.sum(truth == c) for c in classes], dtype=float)
    return tp, n_pred, n_true


def _ratio(a, b):
    """a / b per class, 0 where b = 0 (scikit-learn's zero_division=0)."""
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def precision(A, y):
    """Macro precision: the mean over classes of tp / (tp + fp)."""
    tp, n_pred, _ = _per_class(A, y)
    return float(_ratio(tp, n_pred).mean())


def recall(A, y):
    """Macro recall: the mean over classes of tp / (tp + fn)."""
    tp, _, n_true = _per_class(A, y)
    return float(_ratio(tp, n_true).mean())


def f1(A, y):
    """Macro F1: the mean over classes of 2·tp / (2·tp + fp + fn)."""
    tp, n_pred, n_true = _per_class(A, y)
    return float(_ratio(2 * tp, n_pred + n_true).mean())


METRICS = {"accuracy": accuracy, "top_k_accuracy": top_k_accuracy, "precision": precision,
           "recall": recall, "f1": f1, "mse": mse, "mae": mae, "r2": r2}


def get(name):
    """The metric function for ``name`` (or a callable passed through)."""
    if callable(name):
        return name
    match = re.fullmatch(r"top_(\d+)_accuracy", name) if isinstance(name, str) else None
    if match and int(match.group(1)) >= 1:
        return functools.partial(top_k_accuracy, k=int(match.group(1)))
    return names.lookup(METRICS, name, "metric")
