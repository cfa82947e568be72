"""Rows of a training set: which are held out for validation, and how much each counts.

* ``validation_rows``: a random share of the rows, stratified by class for
  classification so that each class keeps its proportion in both parts.
* ``stratified_order``: a random order of the rows in which every stretch
  (every mini-batch) holds each class in about its overall proportion.
* ``row_weights``: one weight per row from ``sample_weight`` and
  ``class_weight`` ("balanced" as scikit-learn's ``compute_class_weight``).
* ``WeightedLoss``: a loss whose value is the weighted mean Σ wᵢLᵢ / Σ wᵢ of its
  rows (torch's weighted CrossEntropyLoss, scikit-learn's ``sample_weight``).
"""
from __future__ import annotations

import numpy as np

from ..nn.losses import BinaryCrossEntropy, CrossEntropy
from ..validation import as_array, number


def class_labels(y, loss, n_out):
    """Integer class labels (n,) for a classification loss's targets, or None."""
    if isinstance(loss, CrossEntropy):
        return (y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)).astype(np.intp)
    if isinstance(loss, BinaryCrossEntropy) and n_out == 1 and np.isin(y, (0, 1)).all():
        return y.reshape(-1).astype(np.intp)
    return None


def row_weights(y, loss, n_out, sample_weight, class_weight):
    """One weight per row from sample_weight and class_weight, in float64 with largest 1;
    or None (the plain path) when there are none or all are equal.

    Only ratios of weights matter (each batch's loss is Σ wᵢLᵢ / Σ wᵢ), so each
    factor is divided by its largest value, in float64, before anything else:
    weights of 1e-50 or 1e300 neither vanish nor overflow in a float32 network,
    and equal weights of any scale train exactly as no weights.
    """
    if sample_weight is None and class_weight is None:
        return None
    weights = np.ones(len(y))
    if sample_weight is not None:
        w = as_array(sample_weight, "sample_weight").astype(np.float64)
        if w.shape != (len(y),):
            raise ValueError(f"sample_weight must have shape ({len(y)},), one weight per row, "
                             f"got {w.shape}")
        if not np.all(np.isfinite(w)) or (w < 0).any():
            bad = w[~np.isfinite(w) | (w < 0)][0]
            raise ValueError(f"sample_weight must be finite and >= 0, found {float(bad)!r}")
        weights = _relative(w, "sample_weight")
    if class_weight is not None:
        labels = class_labels(y, loss, n_out)
        if labels is None:
            raise ValueError("class_weight needs class labels: a CrossEntropy loss, or "
                             "BinaryCrossEntropy with one output and 0/1 targets")
        weights *= _relative(_class_weight_per_row(class_weight, labels, max(n_out, 2)),
                             "class_weight (for the classes present)")
        weights = _relative(weights, "sample_weight times class_weight")
    if weights.min() == weights.max():  # all 1: the plain mean, bitwise
        return None
    return weights


def _relative(w, name):
    """``w / max(w)`` (float64); ValueError if no weight is positive."""
    largest = w.max()
    if not largest > 0:
        raise ValueError(f"{name} must have at least one positive weight, got all {len(w)} "
                         "equal to 0")
    return w / largest


def _class_weight_per_row(class_weight, labels, k):
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced' or a dict {{class: weight}}, "
                             f"got {class_weight!r}")
        classes, counts = np.unique(labels, return_counts=True)
        # scikit-learn's compute_class_weight("balanced"): n / (classes present · count)
        table = np.ones(k)
        table[classes] = len(labels) / (len(classes) * counts)
        return table[labels]
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be 'balanced' or a dict {{class: weight}}, "
                        f"got {class_weight!r}")
    table = np.ones(k)
    for c, w in class_weight.items():
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < k:
            raise ValueError(f"class_weight has key {c!r}: classes are the integers 0 to {k - 1}")
        table[c] = number(f"class_weight[{c}]", w, at_least=0)
    return table[labels]


def validation_rows(n, share, labels, rng):
    """Sorted indices of a random validation part; per class when labels are given."""
    if labels is None:
        return np.sort(rng.permutation(n)[:round(share * n)])
    val = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        val.append(rng.permutation(members)[:round(share * len(members))])
    return np.sort(np.concatenate(val))


class WeightedLoss:
    """``loss`` with row weights: value Σ wᵢLᵢ/Σ wᵢ, rows of the gradient scaled likewise.

    Every loss is a mean over rows, so with the batch's weights normalised to
    mean 1 (ŵ = w / mean(w)) the weighted loss is mean(ŵᵢ·Lᵢ) and its gradient
    is the plain gradient with row i multiplied by ŵᵢ.
    """

    def __init__(self, loss):
        self.loss, self.fuses_with, self.w = loss, loss.fuses_with, None

    def forward(self, A, Y):
        self.loss.forward(A, Y)
        return float(np.mean(self.w * self.loss.rows(A, Y)))

    def backward(self):
        d = self.loss.backward()
        d *= self.w[:, None]
        return d

    def forward_logits(self, Z, Y):
        self.loss.forward_logits(Z, Y)
        return float(np.mean(self.w * self.loss.rows_logits(Z, Y)))

    def backward_logits(self):
        d = self.loss.backward_logits()
        d *= self.w[:, None]
        return d


def stratified_order(labels, rng):
    """A permutation of the rows that spreads every class evenly along it.

    Each class's rows, in random order, are placed at evenly spaced positions
    (rank + u_c) / count_c in [0, 1), with a random offset u_c per class; sorting
    by position interleaves the classes, so any run of B consecutive rows holds
    about B·count_c/n of class c (within one row).
    """
    position = np.empty(len(labels))
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        position[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(position, kind="stable")
