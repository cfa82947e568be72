"""Mini-batches for fit: views or index gathers over arrays, and streams of batches.

Gathering by index (``np.take`` into a reused buffer) never copies the data
set, so an ``np.memmap`` larger than memory trains with flat memory use.
"""
from __future__ import annotations

import numpy as np

from ..validation import prepare_data
from . import sampling as _sampling


class Batches:
    """Mini-batches of (X, Y): views when in order, gathered by index into reused buffers when shuffled.

    Gathering by index (``np.take`` into a buffer) never copies the data set,
    so an ``np.memmap`` larger than memory trains with flat memory use.
    """

    def __init__(self, X, Y, batch_size):
        self.X, self.Y, self.size = X, Y, batch_size
        self.n = len(X)
        self.count = -(-self.n // batch_size)
        self.buffers = {}

    def gather(self, A, idx, key):
        shape = (len(idx),) + A.shape[1:]
        buf = self.buffers.get((key, shape))
        if buf is None:
            buf = self.buffers[(key, shape)] = np.empty(shape, A.dtype)
        # the indices come from a permutation of range(n): mode="clip" skips the bounds
        # check, with which np.take would gather into a temporary and copy that into buf
        return np.take(A, idx, axis=0, out=buf, mode="clip")

    def __call__(self, rng, shuffle):
        if self.count == 1:  # full batch: the data as it is, in any order
            return ((self.X, self.Y),)
        return self._batches(rng.permutation(self.n) if shuffle else None)

    def _batches(self, order):
        for start in range(0, self.n, self.size):
            if order is None:
                yield self.X[start:start + self.size], self.Y[start:start + self.size]
            else:
                idx = order[start:start + self.size]
                yield self.gather(self.X, idx, "X"), self.gather(self.Y, idx, "Y")


class Stream:
    """Batches from an iterable of ``(X_batch, y_batch)`` pairs, checked one by one.

    ``source`` is re-iterated each epoch; a one-shot iterator (a generator)
    serves a single epoch, and a callable returning a fresh iterable serves many.
    """

    def __init__(self, source, net, loss, epochs):
        if iter(source) is source and epochs > 1:
            raise ValueError("a generator or iterator can be read only once, but epochs="
                             f"{epochs}: pass a callable that returns a fresh iterable of "
                             "(X_batch, y_batch), or a re-iterable object such as a list")
        self.source, self.net, self.loss = source, net, loss
        self.count = len(source) if hasattr(source, "__len__") else None

    def __call__(self, rng, shuffle):
        for i, pair in enumerate(self.source):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"batch {i} of the data stream is not a pair (X_batch, y_batch)")
            try:
                X, _, Y = prepare_data(self.net, pair[0], pair[1], self.loss)
            except (ValueError, TypeError) as error:  # say which batch the row numbers refer to
                raise type(error)(f"batch {i} of the data stream: {error}") from None
            yield X, Y


class Source:
    """Wraps a callable that returns a fresh iterable of batches each epoch."""

    def __init__(self, make):
        self.make = make

    def __iter__(self):
        return iter(self.make())


class SampledBatches(Batches):
    """``Batches`` with the options of fit that act on rows: a stratified order
    (``labels`` given, ``shuffle="stratified"``) and row weights (``weights`` given:
    each batch's weights, normalised to mean 1, go to ``weighted_loss`` before
    the batch is used). The plain path keeps ``Batches`` itself."""

    def __init__(self, X, Y, batch_size, weights=None, weighted_loss=None, labels=None):
        super().__init__(X, Y, batch_size)
        self.weights = weights  # float64: each batch's are normalised before the cast
        self.loss, self.labels = weighted_loss, labels

    def __call__(self, rng, shuffle):
        order = None
        if shuffle and self.count > 1:
            order = rng.permutation(self.n) if self.labels is None \
                else _sampling.stratified_order(self.labels, rng)
        for start in range(0, self.n, self.size):
            rows = slice(start, start + self.size) if order is None else order[start:start + self.size]
            if self.weights is not None:
                w = self.weights[rows]
                mean = w.mean()
                self.loss.w = (w / mean if mean > 0 else np.zeros_like(w)).astype(self.X.dtype)
            if order is None:
                yield self.X[rows], self.Y[rows]
            else:
                yield self.gather(self.X, rows, "X"), self.gather(self.Y, rows, "Y")
