"""The mini-batch loop: take a batch, forward, loss, backward, update; repeat.

Everything here is machinery around :func:`step` (``net.forward_backward``,
then the optimizer's update, guarded against divergence): checking the data
once, gathering batches by index into reused buffers, and calling callbacks.
``step`` is also the update of the scikit-learn estimators and the playground.
"""
from __future__ import annotations

import os

import numpy as np

from .. import engine
from ..network.modes import holds
from ..nn.checks import warn_user
from ..nn.init import as_generator
from ..nn.losses import BinaryCrossEntropy, CrossEntropy
from ..optim import clipping as _clipping
from ..optim.optimizers import Optimizer
from ..validation import (
    check_loss,
    check_loss_fits,
    check_trainable,
    check_X,
    check_y,
    number,
    output_width,
    prepare_data,
)
from . import metrics as _metrics
from . import sampling as _sampling
from .batching import Batches, SampledBatches, Source, Stream
from .callbacks import EpochLogger, History, LearningRateScheduler, ProgressBar
from .checkpoint import check_validation_rows, network_classes, read_checkpoint, restore
from .epochs import Epochs
from .hooks import Run, check_callbacks


def _check_objects(loss, optimizer):
    check_loss(loss)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a chainrule Optimizer such as cr.SGD(lr=0.1) or "
                        f"cr.Adam(), got {optimizer!r}")


def _is_classification(loss):
    return isinstance(loss, (CrossEntropy, BinaryCrossEntropy))


@holds("fit", fitting=True)
def fit(net, X, y=None, *, loss, optimizer, epochs=1, batch_size=32, shuffle=True, seed=None,
        validation_data=None, validation_split=0.0, sample_weight=None, class_weight=None,
        metrics=None, clip_norm=None, clip_value=None, verbose=1, callbacks=(), resume_from=None):
    """Train ``net`` on (X, y) with mini-batch gradient descent.

    Each epoch visits every row once, in batches of ``batch_size`` (reshuffled
    each epoch when ``shuffle``); for each batch: forward, loss, backward,
    ``optimizer.step(net)``.

    Parameters
    ----------
    X : array (n, n_in), or an iterable of (X_batch, y_batch) pairs
        An array (an ``np.memmap`` too) is checked once and, when it already has
        the network's dtype, never copied (convert a memmap's dtype on disk first).
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
    shuffle : bool or "stratified"
        "stratified" (classification): every batch holds each class in about
        its share of the data, a fresh random order each epoch.
    seed : int or numpy.random.Generator, optional
        Drives the shuffling; the same seed gives the same run.
    validation_data : (X_val, y_val), optional
        Evaluated at the end of each epoch, in evaluation mode: "val_loss",
        plus "val_<name>" for each of ``metrics``.
    validation_split : float in [0, 1), default 0
        Hold out this share of (X, y) as validation data instead, chosen at
        random (by ``seed``) and, for a classification loss, stratified: each
        class keeps its share in both parts.
    sample_weight : array (n,), optional
        A weight >= 0 per row. Each batch's loss becomes the weighted mean
        ``Σ wᵢ·Lᵢ / Σ wᵢ`` (torch's weighted CrossEntropyLoss, scikit-learn's
        ``sample_weight``), and its gradient likewise. Validation losses are
        not weighted. Only ratios matter: weights are divided by the largest,
        in float64, so equal weights of any scale train exactly as none.
    class_weight : "balanced" or dict {class: weight}, optional
        Weight of each row by its class (labels for CrossEntropy, 0/1 for
        BinaryCrossEntropy); missing classes weigh 1. "balanced" is
        scikit-learn's n / (k · count(class)). Multiplies ``sample_weight``.
    metrics : sequence of names or callables, optional
        Computed on the validation data each epoch (see chainrule.metrics);
        default ("accuracy",) for a classification loss, () otherwise.
    clip_norm : float, optional
        Rescale the gradient, all parameters together, to a global L2 norm of
        at most ``clip_norm`` (torch's ``clip_grad_norm_``).
    clip_value : float, optional
        Clip every gradient entry to [−clip_value, clip_value] (applied before
        clip_norm when both are given).
    verbose : {0, 1, 2}
        0 silent, 1 a progress bar, 2 one line per epoch.
    callbacks : sequence of Callback, or None
    resume_from : str or os.PathLike, optional
        A checkpoint written by ``cr.ModelCheckpoint``: the weights, optimizer
        state, random generator, History, the callbacks' states and the rows
        of ``validation_split`` are restored from it and training continues
        with the epoch after the saved one, up to ``epochs`` in all (so
        resuming a 2-epoch checkpoint with ``epochs=4`` runs 2 more). A
        checkpoint that already holds ``epochs`` epochs, or one saved when a
        callback had stopped training, trains no further (a warning says so);
        one that holds more is a ValueError. ``net`` and ``optimizer`` must be
        of the saved kind; ``seed`` should be the original one (it is
        overwritten by the saved state). The file may build only chainrule's
        layers and the classes of ``net``'s own layers (so a network with a
        layer class of your own resumes with no more said).

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        When a batch's loss or gradient is NaN or infinite; the weights are
        those before that batch.
    RuntimeError
        When another thread is using ``net`` (fit, predict, ...): fit holds the
        network for its whole run, from before its first check, and does not
        wait (see :mod:`chainrule.modes`). Nothing has changed then.
    """
    _check_objects(loss, optimizer)
    check_trainable(net)
    epochs, batch_size = _check_settings(epochs, batch_size, shuffle, verbose, metrics,
                                         validation_data, validation_split, y)
    callbacks = check_callbacks(callbacks)
    rng = as_generator(seed)
    metric_functions = _metric_functions(metrics, loss)
    clip = _clipping.clipping(clip_norm, clip_value)
    check_loss_fits(net, loss)
    checkpoint = None
    if resume_from is not None:  # read first: it holds the validation rows, if any
        # the file may build only the classes of net's layers: those the program chose
        checkpoint = read_checkpoint(resume_from, layers=network_classes(net))
    if y is None:
        plan = _stream_plan(net, X, loss, epochs, validation_data, validation_split,
                            sample_weight, class_weight)
    else:
        def saved_rows(n):
            return _saved_validation_rows(checkpoint, resume_from, validation_split, n, seed)
        plan = _array_plan(net, X, y, loss, batch_size, shuffle, validation_data,
                           validation_split, sample_weight, class_weight, rng, saved_rows)
    if plan.validation is not None:
        _check_metric_targets(metric_functions, net, plan.validation[1])
    run = _new_run(net, optimizer, loss, epochs, plan, callbacks, verbose, rng)
    start = 0
    if checkpoint is not None:
        start = _resume_start(checkpoint[1]["epoch"] + 1, epochs, checkpoint[1], resume_from)
        restore(resume_from, run, checkpoint)
    _FitEpochs(run, plan, loss, metric_functions, shuffle=shuffle, clip=clip)("fit", start)
    return run.history


# -- the phases of fit --------------------------------------------------------------------

def _check_settings(epochs, batch_size, shuffle, verbose, metrics, validation_data,
                    validation_split, y):
    """fit's settings checked; returns (epochs, batch_size) as numbers."""
    epochs = number("epochs", epochs, integer=True, at_least=1)
    batch_size = number("batch_size", batch_size, integer=True, at_least=1, allow_none=True)
    if shuffle not in (True, False, "stratified"):
        raise ValueError(f"shuffle must be True, False or 'stratified', got {shuffle!r}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    if metrics is not None and validation_data is None and not validation_split:
        raise ValueError("fit computes metrics on validation data: pass validation_data or "
                         "validation_split along with metrics (or use net.evaluate afterwards)")
    if shuffle == "stratified" and y is None:
        raise ValueError("shuffle='stratified' needs arrays fit(X, y), not a stream of batches")
    return epochs, batch_size


class _Plan:
    """What fit trains on: the batches, the loss the steps take (weighted or not), the
    validation triple, and the held-out rows' record for checkpoints (or None)."""

    def __init__(self, batches, train_loss, validation, held_out=None):
        self.batches, self.train_loss = batches, train_loss
        self.validation, self.held_out = validation, held_out


def _stream_plan(net, X, loss, epochs, validation_data, validation_split, sample_weight,
                 class_weight):
    """A stream of (X_batch, y_batch): checked batch by batch as it comes."""
    if callable(X) and not hasattr(X, "__iter__"):
        X = Source(X)
    if isinstance(X, np.ndarray) or not hasattr(X, "__iter__"):
        raise TypeError("fit(X) without y needs an iterable of (X_batch, y_batch) pairs; "
                        "for arrays pass fit(X, y)")
    for name, given in (("validation_split", bool(validation_split)),
                        ("sample_weight", sample_weight is not None),
                        ("class_weight", class_weight is not None)):
        if given:
            raise ValueError(f"{name} needs arrays fit(X, y), not a stream of batches")
    return _Plan(Stream(X, net, loss, epochs), loss, _validation(net, loss, validation_data))


def _array_plan(net, X, y, loss, batch_size, shuffle, validation_data, validation_split,
                sample_weight, class_weight, rng, saved_rows):
    """Arrays: checked once, the validation rows held out, batches gathered by index
    (sampled when rows are weighted or the shuffle is stratified)."""
    X, y, Y = prepare_data(net, X, y, loss)
    n_out = output_width(net, y)
    weights = _sampling.row_weights(y, loss, n_out, sample_weight, class_weight)
    n = len(X)
    X, y, Y, weights, validation, val_rows = _split_validation(
        net, loss, X, y, Y, weights, validation_data, validation_split, rng, saved_rows(n))
    held_out = None if val_rows is None else (validation_split, n, val_rows)
    size = len(X) if batch_size is None else min(batch_size, len(X))
    labels = None
    if shuffle == "stratified":
        labels = _sampling.class_labels(y, loss, n_out)
        if labels is None:
            raise ValueError("shuffle='stratified' needs class labels: a CrossEntropy loss, "
                             "or BinaryCrossEntropy with one output and 0/1 targets")
    if weights is None and labels is None:
        return _Plan(Batches(X, Y, size), loss, validation, held_out)
    train_loss = loss if weights is None else _sampling.WeightedLoss(loss)
    return _Plan(SampledBatches(X, Y, size, weights, train_loss, labels), train_loss,
                 validation, held_out)


def _new_run(net, optimizer, loss, epochs, plan, callbacks, verbose, rng):
    """The Run, its callbacks (History, the progress bar or the epoch lines, the optimizer's
    schedule, then the user's) told of it, and the engine ready for its work."""
    extra = [ProgressBar()] if verbose == 1 else [EpochLogger()] if verbose == 2 else []
    if getattr(optimizer, "schedule", None) is not None:
        if any(isinstance(cb, LearningRateScheduler) for cb in callbacks):
            raise ValueError("the optimizer was given a schedule as lr and callbacks has a "
                             "LearningRateScheduler too: use one of them")
        extra.append(LearningRateScheduler(optimizer.schedule))
    history = History()
    count = plan.batches.count
    engine.prepare(epochs * (count or 1) * net.n_params)  # load the kernels if it pays
    return Run(net, optimizer, loss, history, epochs, count, rng=rng,
               callbacks=[history, *extra, *callbacks], validation=plan.held_out)


class _FitEpochs(Epochs):
    """fit's epochs: the mean loss over the epoch's rows, then the validation logs."""

    def __init__(self, run, plan, loss, metric_functions, **options):
        super().__init__(run, plan.batches, plan.train_loss, **options)
        self.validation, self.val_loss, self.metric_functions = plan.validation, loss, metric_functions

    def logs(self, epoch, total, weight, rows):
        if not weight:
            raise ValueError(f"the data stream gave no batches in epoch {epoch}")
        logs = {"loss": total / weight}
        if self.validation is not None:
            logs.update(_validation_logs(self.run.net, self.validation, self.val_loss,
                                         self.metric_functions))
        return logs


def loss_and_gradient(net, X, Y, loss, penalty=None):
    """The loss of (X, Y), its gradient left in ``net.flat_grads``, without an update
    (L-BFGS); ``penalty`` as in :func:`step`."""
    value = net.forward_backward(X, Y, loss)
    return value if penalty is None else value + penalty(net, Y)


def _validation_logs(net, validation, loss, metric_functions):
    """val_loss (penalties included) and val_<metric>, from one forward pass in evaluation mode."""
    X_val, y_val, Y_val = validation
    value, A = net.loss_and_output(X_val, Y_val, loss)
    logs = {"val_loss": value}
    for name, function in metric_functions:
        logs["val_" + name] = function(A, y_val)
    return logs


# -- the options of fit, each set up once before the loop ---------------------------------

def _metric_functions(metrics, loss):
    """``[(name, f(A, y)), ...]`` from names or callables; None means accuracy for
    classification losses and nothing otherwise."""
    if metrics is None:
        metrics = ("accuracy",) if _is_classification(loss) else ()
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    return [(m if isinstance(m, str) else getattr(m, "__name__", "metric"), _metrics.get(m))
            for m in metrics]


def _check_metric_targets(metric_functions, net, y):
    """Refuse, before training or a forward pass, a named metric that cannot read y."""
    if net.n_out is not None:
        for name, _ in metric_functions:
            _metrics.check_targets(name, (len(y), net.n_out), y)


def _validation(net, loss, validation_data):
    """The validation triple (X_val, y_val, Y_val) from a pair (X_val, y_val), or None."""
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    return prepare_data(net, *validation_data, loss, name="X_val")


def _resume_start(start, epochs, info, path):
    """The first epoch to train after restoring a checkpoint that holds ``start`` epochs.

    A checkpoint that already holds every epoch asked for (a restarted job that had
    finished) trains no further, with a warning; asking for fewer epochs than it holds
    cannot give the weights of such a run, so that is an error.
    """
    where = os.fspath(path)
    if start > epochs:
        raise ValueError(f"resume_from={where!r} holds {start} epochs, more than epochs={epochs}: "
                         "epochs counts every epoch, the saved ones included; pass "
                         f"epochs > {start} to train further")
    if start == epochs:
        warn_user(f"resume_from={where!r} already holds all epochs={epochs} epochs: nothing "
                  f"left to train (pass epochs > {start} to train further)")
    elif info.get("stopped") is True:
        warn_user(f"resume_from={where!r} was saved when a callback (such as EarlyStopping) had "
                  f"stopped training after epoch {start - 1}: nothing left to train")
        return epochs
    return start


def _saved_validation_rows(checkpoint, path, split, n, seed):
    """The rows a checkpoint's run held out by validation_split, or None to draw them."""
    if checkpoint is None or not split or isinstance(split, bool) or \
            not isinstance(split, (int, float)):
        return None
    rows = check_validation_rows(checkpoint[1], split, n, os.fspath(path))
    if rows is None and seed is None:
        warn_user(f"resume_from={os.fspath(path)!r} holds no validation rows (it was written "
                  "by an older chainrule): validation_split draws them again, and with "
                  "seed=None they differ from the original run's")
    return rows


def _split_validation(net, loss, X, y, Y, weights, validation_data, split, rng, rows=None):
    """The training part, the validation triple and the validation rows (None without a
    split), from validation_data or validation_split; ``rows``, if given, are the
    validation rows to hold out (a resumed run's), else they are drawn from ``rng``."""
    split = number("validation_split", split, at_least=0, less_than=1)
    if validation_data is not None and split:
        raise ValueError("give either validation_data or validation_split, not both")
    if not split:
        return X, y, Y, weights, _validation(net, loss, validation_data), None
    n_out = output_width(net, y)
    val = rows if rows is not None else _sampling.validation_rows(
        len(X), split, _sampling.class_labels(y, loss, n_out), rng)
    if len(val) == 0 or len(val) == len(X):
        raise ValueError(f"validation_split={split} of {len(X)} rows leaves "
                         f"{len(X) - len(val)} for training and {len(val)} for validation; "
                         "both need at least one")
    train = np.setdiff1d(np.arange(len(X)), val)
    if weights is not None and not weights[train].any():
        raise ValueError(f"validation_split={split} holds out every row of positive weight: "
                         "the rows left for training all have weight 0")
    def part(a):
        return None if a is None else a[train]
    return part(X), part(y), part(Y), part(weights), (X[val], y[val], Y[val]), val


@holds("evaluate")
def evaluate(net, X, y, loss=None, metrics=("accuracy",)):
    """Loss and metrics of ``net`` on (X, y), in evaluation mode.

    Returns a dict: "loss" when a loss is given, then one entry per metric
    (names from ``chainrule.metrics.METRICS``, or callables ``f(A, y)``). The
    network is held for the call (see :mod:`chainrule.modes`): loss and metrics
    come from the same weights.
    """
    X = check_X(X, net.n_in, net.dtype)
    y = check_y(y, len(X))
    functions = _metric_functions(metrics, loss)
    _check_metric_targets(functions, net, y)
    out = {}
    if loss is not None:
        check_loss(loss)
        check_loss_fits(net, loss)
        n_out = output_width(net, y)
        out["loss"] = net.loss_value(X, loss.prepare(y, n_out, net.dtype), loss)
    if functions:
        with net.evaluating():
            A = net.forward(X)
        for name, function in functions:
            out[name] = function(A, y)
    return out
