"""Several networks trained alike, their outputs averaged: ``chainrule train --ensemble K``.

Each member is the recipe's network trained again with another seed (its
initial weights, its batches and its dropout masks differ; the rows, the
validation split and the preprocessing are the same). Averaging members whose
errors are partly independent lowers the variance of the prediction: for a
classifier the members' probabilities are averaged, ``P = (1/k) Σⱼ Pⱼ``, then
the likeliest class is taken; for a regressor the network outputs (the
transformed target, or the Poisson rate) are averaged, ``A = (1/k) Σⱼ Aⱼ``,
before the target transform is undone.

A time budget (``--time-limit SECONDS``, :class:`Budget`) bounds the training:
the first member always trains (stopped at the limit, its best epoch kept); a
further member starts only if the time left is at least what the members
before it took on average, and one that the limit still cuts short is left
out. The summary says how many members the time allowed.

The model file (:meth:`Ensemble.save`) is the first member's file, exactly as
a single network's, with each further member's parameters as one flat tensor
``extra.ensemble.{j}`` (j = 1 … k−1, the network's dtype, in the order of
``Sequential.flat_params``) and the list of those names in the ``tabular``
record's ``ensemble`` entry. A program that reads only the first network
(``chainrule.sklearn.load``) gets member 0; ``chainrule predict`` averages all.
"""
from __future__ import annotations

import time

import numpy as np

from ..train.callbacks import Callback

#: The prefix of the further members' tensors in a model file (``extra.ensemble.1``, ...).
TENSOR = "ensemble."


class TimeLimit(Callback):
    """Stop training at the first batch that ends after ``deadline`` (on ``clock``,
    ``time.perf_counter`` by default); ``hit`` says whether it did.

    Checked after every batch, not only at an epoch's end: one epoch of a large table can
    take minutes, and the limit is the user's. The epoch cut short still ends as every
    epoch does (its logs, the early stopping's check of the validation loss), so the
    best epoch's weights are kept as without a limit.
    """

    def __init__(self, deadline, clock=time.perf_counter):
        self.deadline, self.clock, self.hit = deadline, clock, False

    def on_batch_end(self, batch, logs):
        if self.deadline is not None and self.clock() >= self.deadline:
            self.hit = True
            self.run.stop_training = True


class Budget:
    """The time of one ``chainrule train`` run: ``limit`` seconds from now (None: no limit)."""

    def __init__(self, limit, clock=time.perf_counter):
        self.limit, self.clock = limit, clock
        self.deadline = None if limit is None else clock() + limit

    def left(self):
        return np.inf if self.deadline is None else self.deadline - self.clock()

    def another(self, seconds):
        """Whether a further member fits: the time left is at least the mean of ``seconds``,
        what each member so far took."""
        return self.left() >= float(np.mean(seconds))

    def callback(self):
        return TimeLimit(self.deadline, self.clock)


class Ensemble:
    """Fitted chainrule estimators of one architecture, their outputs averaged.

    ``members``: the estimators (MLPClassifier or MLPRegressor, same classes and
    widths); ``records``: one dict per member (its seed, epochs, seconds, ...).
    """

    def __init__(self, members, records=None):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members, self.records = list(members), list(records or [{} for _ in members])
        first = members[0]
        self.classify = hasattr(first, "classes_")
        if self.classify:
            self.classes_ = first.classes_

    def __len__(self):
        return len(self.members)

    first = property(lambda self: self.members[0], doc="Member 0 (the file's own network).")

    def predict_proba(self, X):
        """The members' class probabilities averaged, shape (n, k)."""
        return np.mean([m.predict_proba(X) for m in self.members], axis=0)

    def predict(self, X):
        """The likeliest class of the averaged probabilities, or the averaged outputs (n,)."""
        if self.classify:
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return np.mean([np.asarray(m.predict(X), dtype=np.float64) for m in self.members], axis=0)

    def score(self, X, y):
        """Accuracy (a classifier) or R² (a regressor, in the units the members fit)."""
        pred = self.predict(X)
        if self.classify:
            return float(np.mean(pred == np.asarray(y)))
        y = np.asarray(y, dtype=np.float64)
        total = float(np.sum((y - y.mean()) ** 2))
        residual = float(np.sum((y - pred) ** 2))
        return 1.0 - residual / total if total > 0 else float(residual == 0)

    def tensor_names(self):
        """The model file's names of the further members' tensors (member 1 on)."""
        return [f"{TENSOR}{j}" for j in range(1, len(self.members))]

    def tensors(self):
        """``{"ensemble.j": member j's flat parameters}`` for j ≥ 1 (the model file's extras)."""
        out = {}
        for j, m in enumerate(self.members[1:], start=1):
            net = m.network_
            if any(layer.buffers for layer in net.layers):  # not in the recipe's networks
                raise ValueError("an ensemble member with layer buffers (BatchNorm) cannot be "
                                 "saved as flat parameters")
            out[f"{TENSOR}{j}"] = net.flat_params.copy()
        return out

    def save(self, path, metadata):
        """Member 0's model file with the others' parameters as extra tensors (module docstring)."""
        self.first.save(path, metadata=metadata, extra_tensors=self.tensors())


def read_members(net, record, extras, where):
    """The networks of a model file: ``net`` (member 0) and a copy of it per further member,
    its parameters from ``extras`` as ``record`` (the ``ensemble`` entry) names them.

    Every name must be present, each tensor 1-D with exactly ``net``'s parameter count and
    dtype; anything else is a ValueError naming the file and the rule."""
    if record is None:
        return [net]
    names = record.get("tensors") if isinstance(record, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) \
            or len(set(names)) != len(names):
        raise ValueError(f"{where}: the ensemble record must list its members' tensors by "
                         f"distinct names, got {str(record)[:200]}")
    networks = [net]
    for name in names:
        W = extras.get(name)
        if W is None:
            raise ValueError(f"{where}: the ensemble names the tensor {name[:80]!r}, which the "
                             "file does not hold")
        if W.ndim != 1 or W.shape[0] != net.flat_params.shape[0] or W.dtype != net.dtype:
            raise ValueError(f"{where}: the ensemble tensor {name[:80]!r} must be 1-D with "
                             f"{net.flat_params.shape[0]} {net.dtype.name} values (the "
                             f"network's parameters), got shape {W.shape}, {W.dtype}")
        member = net.copy()
        member.flat_params[...] = W
        networks.append(member)
    return networks
