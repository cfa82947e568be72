"""The mini-batch loop: take a batch, forward, loss, backward, update; repeat.

Everything here is machinery around ``net.forward_backward`` and
``optimizer.step``: checking the data once, gathering batches by index into
reused buffers, detecting divergence before it can damage the weights, and
calling callbacks.
"""
from __future__ import annotations

import math

import numpy as np

from . import metrics as _metrics
from .callbacks import Callback, EpochLogger, History, ProgressBar, Run, overrides
from .init import as_generator
from .losses import BinaryCrossEntropy, CrossEntropy, Loss
from .optimizers import Optimizer
from .validation import check_positive_int, check_X, check_y


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or gradient and was stopped.

    The network keeps the weights it had before the step that would have
    applied it. Attributes: ``epoch``, ``batch`` (0-based), ``layer`` (index of
    the first layer that went non-finite, or None), ``history`` (the History up
    to the last completed epoch).
    """

    def __init__(self, message, epoch, batch, layer, history):
        super().__init__(message)
        self.epoch, self.batch, self.layer, self.history = epoch, batch, layer, history


def check_loss(loss):
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a chainrule Loss such as cr.MSE() or cr.CrossEntropy(), "
                        f"got {loss!r}")


def _check_objects(loss, optimizer):
    check_loss(loss)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a chainrule Optimizer such as cr.SGD(lr=0.1) or "
                        f"cr.Adam(), got {optimizer!r}")


def _prepare(net, X, y, loss, name="X"):
    X = check_X(X, net.n_in, net.dtype, name=name)
    y = check_y(y, len(X), name="y" if name == "X" else f"{name[0]}_val")
    n_out = net.n_out if net.n_out is not None else (y.shape[1] if y.ndim == 2 else 1)
    return X, y, loss.prepare(y, n_out, net.dtype)


def _is_classification(loss):
    return isinstance(loss, (CrossEntropy, BinaryCrossEntropy))


class _Batches:
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
        return np.take(A, idx, axis=0, out=buf)

    def __call__(self, rng, shuffle):
        if self.count == 1:
            yield self.X, self.Y
            return
        order = rng.permutation(self.n) if shuffle else None
        for start in range(0, self.n, self.size):
            if order is None:
                yield self.X[start:start + self.size], self.Y[start:start + self.size]
            else:
                idx = order[start:start + self.size]
                yield self.gather(self.X, idx, "X"), self.gather(self.Y, idx, "Y")


class _Stream:
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
            X, _, Y = _prepare(self.net, pair[0], pair[1], self.loss)
            yield X, Y


class _Source:
    """Wraps a callable that returns a fresh iterable of batches each epoch."""

    def __init__(self, make):
        self.make = make

    def __iter__(self):
        return iter(self.make())


def fit(net, X, y=None, *, loss, optimizer, epochs=1, batch_size=32, shuffle=True, seed=None,
        validation_data=None, verbose=1, callbacks=()):
    """Train ``net`` on (X, y) with mini-batch gradient descent.

    Each epoch visits every row once, in batches of ``batch_size`` (reshuffled
    each epoch when ``shuffle``); for each batch: forward, loss, backward,
    ``optimizer.step(net)``.

    Parameters
    ----------
    X : array (n, n_in), or an iterable of (X_batch, y_batch) pairs
        An array (an ``np.memmap`` too) is checked once and never copied.
        Without ``y``, X is a stream of batches, checked batch by batch: a
        list, any re-iterable object, a callable returning a fresh iterable
        each epoch, or a generator (one epoch only). Streams are not shuffled.
    y : array (n,) or (n, n_out), or None for a stream
        Targets as ``loss`` takes them (class labels for CrossEntropy).
    loss : Loss
    optimizer : Optimizer
    epochs : int
    batch_size : int or None
        None (or >= n) trains full-batch: one step per epoch on all the data.
    shuffle : bool
    seed : int or numpy.random.Generator, optional
        Drives the shuffling; the same seed gives the same run.
    validation_data : (X_val, y_val), optional
        Evaluated at the end of each epoch: "val_loss", plus "val_accuracy"
        for classification losses.
    verbose : {0, 1, 2}
        0 silent, 1 a progress bar, 2 one line per epoch.
    callbacks : sequence of Callback

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        When a batch's loss or gradient is NaN or infinite; the weights are
        those before that batch.
    """
    _check_objects(loss, optimizer)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size", allow_none=True)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks[{i}] must be a chainrule Callback, got {cb!r}")
    if y is None:  # a stream of (X_batch, y_batch)
        if callable(X) and not hasattr(X, "__iter__"):
            X = _Source(X)
        if isinstance(X, np.ndarray) or not hasattr(X, "__iter__"):
            raise TypeError("fit(X) without y needs an iterable of (X_batch, y_batch) pairs; "
                            "for arrays pass fit(X, y)")
        batches = _Stream(X, net, loss, epochs)
    else:
        X, _, Y = _prepare(net, X, y, loss)
        batches = _Batches(X, Y, len(X) if batch_size is None else min(batch_size, len(X)))
    validation = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        validation = _prepare(net, *validation_data, loss, name="X_val")

    rng = as_generator(seed)
    history = History()
    extra = [ProgressBar()] if verbose == 1 else [EpochLogger()] if verbose == 2 else []
    all_callbacks = [history, *extra, *callbacks]
    run = Run(net, optimizer, loss, history, epochs, batches.count)
    run.rng = rng
    for cb in all_callbacks:
        cb.run = run
    hooks = {name: [getattr(cb, name) for cb in all_callbacks if overrides(cb, name)]
             for name in ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end",
                          "on_train_end")}
    batch_hooks = hooks["on_batch_end"]
    grads = net.flat_grads

    with _TrainingMode(net), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for hook in hooks["on_train_begin"]:
            hook({})
        for epoch in range(epochs):
            for hook in hooks["on_epoch_begin"]:
                hook(epoch, {})
            total = seen = 0.0
            for b, (Xb, Yb) in enumerate(batches(rng, shuffle)):
                value = net.forward_backward(Xb, Yb, loss)
                # ‖g‖² is NaN or inf when any gradient is (or when the gradient is so
                # large that its square overflows: divergence all the same).
                if not (math.isfinite(value) and math.isfinite(np.dot(grads, grads))):
                    raise _diverged(net, Xb, value, epoch, b, history, optimizer)
                optimizer.step(net)
                total += value * len(Xb)
                seen += len(Xb)
                for hook in batch_hooks:
                    hook(b, {"loss": value, "size": len(Xb)})
                if run.stop_training:
                    break
            if not seen:
                raise ValueError(f"the data stream gave no batches in epoch {epoch}")
            logs = {"loss": total / seen}
            if validation is not None:
                logs.update(_validation_logs(net, validation, loss))
            for hook in hooks["on_epoch_end"]:
                hook(epoch, logs)
            if run.stop_training:
                break
        for hook in hooks["on_train_end"]:
            hook({})
    return history


class _TrainingMode:
    """Inside fit: training mode, scratch reuse on, and no dX for the first layer."""

    def __init__(self, net):
        self.net = net

    def __enter__(self):
        self.saved = [(layer.training, layer._reuse, layer._needs_dX) for layer in self.net.layers]
        for layer in self.net.layers:
            layer.training, layer._reuse = True, True
        if self.net.layers and self.net.layers[0].params:
            # nobody reads ∂L/∂X of the data: skip the largest product of the backward pass
            self.net.layers[0]._needs_dX = False

    def __exit__(self, *exc):
        for layer, (training, reuse, needs_dX) in zip(self.net.layers, self.saved):
            layer.training, layer._needs_dX = training, needs_dX
            layer._reuse = reuse
            layer.__dict__.pop("_pool", None)  # release the scratch arrays


def _validation_logs(net, validation, loss):
    X_val, y_val, Y_val = validation
    logs = {"val_loss": net.loss_value(X_val, Y_val, loss)}
    if _is_classification(loss):
        with net.evaluating():
            logs["val_accuracy"] = _metrics.accuracy(net.forward(X_val), y_val)
    return logs


def _diverged(net, Xb, value, epoch, batch, history, optimizer):
    """Build the DivergenceError: find the first layer that went non-finite."""
    layer, where = None, None
    A = Xb
    with net.evaluating():
        for i, lyr in enumerate(net.layers):
            A = lyr.forward(A)
            if not np.all(np.isfinite(A)):
                layer, where = i, "output"
                break
    if layer is None:
        for i in reversed(range(len(net.layers))):
            grads = [g for _, _, g in net.layers[i].parameters()]
            if any(not np.all(np.isfinite(g)) for g in grads):
                layer, where = i, "gradient"
                break
    lr = getattr(optimizer, "lr", None)
    scale = float(np.max(np.abs(Xb))) if Xb.size else 0.0
    cause = (f"The learning rate (lr={lr:g}) is likely too high" if lr is not None else
             "The step size is likely too large")
    if scale > 1e3:
        cause += f", or the inputs are unscaled (largest |x| in the batch is {scale:.3g}): standardise them"
    site = (f"; the first non-finite value is in the {where} of layer {layer} "
            f"({net.layers[layer]!r})" if layer is not None else "")
    message = (f"training diverged at epoch {epoch}, batch {batch}: the loss is {value!r}"
               f"{site}. {cause}. The weights are those before this batch.")
    return DivergenceError(message, epoch, batch, layer, history)


def evaluate(net, X, y, loss=None, metrics=("accuracy",)):
    """Loss and metrics of ``net`` on (X, y), in evaluation mode.

    Returns a dict: "loss" when a loss is given, then one entry per metric
    (names from ``chainrule.metrics.METRICS``, or callables ``f(A, y)``).
    """
    X = check_X(X, net.n_in, net.dtype)
    y = check_y(y, len(X))
    functions = [(m if isinstance(m, str) else getattr(m, "__name__", "metric"), _metrics.get(m))
                 for m in metrics]
    out = {}
    if loss is not None:
        check_loss(loss)
        n_out = net.n_out if net.n_out is not None else (y.shape[1] if y.ndim == 2 else 1)
        out["loss"] = net.loss_value(X, loss.prepare(y, n_out, net.dtype), loss)
    if functions:
        with net.evaluating():
            A = net.forward(X)
        for name, function in functions:
            out[name] = function(A, y)
    return out
