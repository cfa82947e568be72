"""The recipe ``chainrule train`` follows on a table, and the one ``predict`` undoes.

The tabular-MLP baselines (Gorishniy et al., "Revisiting Deep Learning Models
for Tabular Data", 2021; AutoGluon's and pytorch-tabular's defaults) agree on:

1. standardised (or quantile-transformed) features, one-hot categories
   (:mod:`chainrule.preprocessing`); optionally a periodic embedding of each
   numeric column (``numeric_embedding="periodic"``, RealMLP's PBLD); a
   learned embedding of each text column of many categories instead of its
   one-hot columns (``category_embedding="many"``, the default: a
   CategoryEmbedding first, Guo & Berkhahn's entity embeddings, 2016);
2. standardised regression targets, ``y_z = (y − mean) / std``, unscaled at
   prediction (an MLP's output layer starts near 0 with unit-scale weights:
   a target around 3·10⁵ would take thousands of epochs just to be reached);
   a right-skewed target ≥ 0 (a price) standardised after ``log(1 + y)``, a
   count fitted by the Poisson loss on a log-rate output, each chosen on the
   training rows (:class:`TargetTransform`);
3. Adam with an L2 penalty (``alpha``) and optional dropout; for a classifier,
   optionally label smoothing (``label_smoothing``: the training targets
   ``(1 − ε)·Y + ε/k``);
4. early stopping on a held-out validation split, with the weights of the best
   epoch (lowest validation loss, on the labels as they are: never smoothed)
   restored, :class:`BestEpoch`;
5. optionally a final fit on every row for the best epoch count (``refit``).

The defaults in :data:`DEFAULTS` were chosen by ``benchmarks/tabular.py``.
"""
from __future__ import annotations

import math
import os
import shlex
import time
import warnings

import numpy as np

from ..nn.losses import MSE, BinaryCrossEntropy, CrossEntropy, Poisson
from ..patience import Best
from ..train.callbacks import Callback, restore, snapshot
from .ensemble import Budget, Ensemble
from .preprocessing import Preprocessing
from .settings import (
    DEFAULTS,
    EMBEDDING_WIDTH,
    LR_SCHEDULES,
    MOST_MEMBERS,
    NUMERIC_EMBEDDINGS,
    Settings,
)
from .target import TargetTransform

__all__ = ["DEFAULTS", "LR_SCHEDULES", "MOST_MEMBERS", "NUMERIC_EMBEDDINGS", "BestEpoch",
           "Settings", "make_estimator", "predict_table", "train_table"]

#: Bytes per parameter in training: weights, gradients, Adam's two moments, the best
#: epoch's copy, the optimizer's scratch (float32).
_BYTES_PER_PARAM = 6 * 4


class BestEpoch(Callback):
    """Early stopping on a validation split, the best epoch's weights restored at the end.

    Each epoch computes the validation loss (log loss for a classifier, mean squared
    error of the transformed target for a regressor, the Poisson loss for a count)
    in evaluation mode (no dropout);
    an epoch with a lower loss than every earlier one is copied aside. Training stops
    once ``patience`` epochs in a row have not improved on it.

    Attributes after fit: ``best_epoch`` (1-based), ``best_loss``, ``epochs`` (run),
    ``stopped`` (True if patience ran out before the last epoch).
    """

    def __init__(self, X_val, Y_val, classify, patience, poisson=False):
        self.X_val, self.Y_val, self.classify, self.patience = X_val, Y_val, classify, patience
        self.poisson = poisson

        self._best = Best("min")

    best_loss = property(lambda self: self._best.value, doc="The lowest validation loss.")
    best_epoch = property(lambda self: self._best.epoch + 1 if self._best.found else 0,
                          doc="Its epoch, 1-based (0 before the first).")

    def on_train_begin(self, logs):
        self._best.reset()
        self.epochs, self.stopped, self._saved = 0, False, None

    def loss(self, A):
        """The validation loss of the network's output A, by the loss it trains with."""
        if self.poisson:
            loss = Poisson()
        elif not self.classify:
            loss = MSE()
        elif A.shape[1] == 1:  # binary: one sigmoid unit, p(second class)
            loss = BinaryCrossEntropy()
        else:
            loss = CrossEntropy()
        return loss.forward(A.astype(np.float64), self.Y_val)

    def on_epoch_end(self, epoch, logs):
        net = self.run.net
        value = self.loss(net.predict(self.X_val))
        logs["val_loss"] = value
        self.epochs = epoch + 1
        if self._best.update(value, epoch):
            self._saved = snapshot(net)
            return
        if self._best.wait >= self.patience:
            self.stopped = True
            self.run.stop_training = True

    def on_train_end(self, logs):
        if self._saved is not None and "error" not in logs:
            restore(self.run.net, self._saved)

    @property
    def still_improving(self):
        """True when training ran out of epochs while the validation loss still fell lately."""
        return not self.stopped and self.epochs - self.best_epoch < max(1, self.patience // 2)


def available_memory():
    """Bytes this machine can still give (MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def estimate_size(widths, batch_size):
    """(parameters, bytes) of training a dense network of ``widths`` [n_in, ..., n_out]."""
    params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    # per row of a batch: Z, A and dA of each layer (float32)
    activations = 3 * 4 * batch_size * sum(widths)
    return params, params * _BYTES_PER_PARAM + activations


def check_size(widths, batch_size, option="--hidden"):
    """ValueError before training when the network cannot fit in this machine's memory."""
    params, need = estimate_size(widths, batch_size)
    have = available_memory()
    if have is not None and need > have:
        raise ValueError(f"{option}: the network {widths} has {params:,} parameters and needs "
                         f"about {_gib(need)} to train; this machine has {_gib(have)} available: "
                         f"choose smaller {option}")
    return params, need


def _gib(n):
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def make_estimator(task, hidden, epochs, lr, alpha, dropout, batch_size, seed, verbose,
                   callbacks=None, loss="squared_error", label_smoothing=0.0, periodic_columns=0,
                   embedded_categories=(), activation="relu", init="glorot"):
    """A chainrule scikit-learn estimator that runs exactly ``epochs`` unless a callback stops it
    (``loss``: a regressor's, "squared_error" or "poisson"; ``label_smoothing``: a
    classifier's; ``periodic_columns``: the leading columns to embed periodically;
    ``embedded_categories``: the category counts of the last columns, read as indices)."""
    from ..sklearn import MLPClassifier, MLPRegressor
    settings = {"label_smoothing": label_smoothing} if task == "classify" else {"loss": loss}
    Estimator = MLPClassifier if task == "classify" else MLPRegressor
    # tol 0 and n_iter_no_change = epochs: the training-loss stop never fires; BestEpoch decides
    return Estimator(hidden_layer_sizes=tuple(hidden), max_iter=epochs, learning_rate_init=lr,
                     alpha=alpha, dropout=dropout, batch_size=batch_size, random_state=seed,
                     verbose=verbose, tol=0.0, n_iter_no_change=epochs, callbacks=callbacks,
                     periodic_columns=periodic_columns,
                     embedded_categories=tuple(embedded_categories),
                     embedding_width=EMBEDDING_WIDTH, activation=activation, init=init, **settings)


def fit_estimator(est, X, y):
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the epoch count is ours to judge
        est.fit(X, y)
    return est


def one_hot(labels, classes):
    """Validation targets in the network's output layout (one sigmoid unit for two classes)."""
    index = {c: i for i, c in enumerate(classes)}
    k = np.array([index.get(v, -1) for v in labels])
    if len(classes) == 2:
        return (k == 1).astype(np.float64)[:, None]
    Y = np.zeros((len(labels), len(classes)))
    Y[np.arange(len(labels))[k >= 0], k[k >= 0]] = 1.0
    return Y


def prepare(features, where, rows, scale, keep_id, drop=(), category_embedding="none"):
    """The fitted preprocessing on ``rows`` and the matrix of every row."""
    prep = Preprocessing.fit(features, where=where, rows=rows, scale=scale, keep_id=keep_id,
                             drop=drop, category_embedding=category_embedding)
    return prep, prep.transform(features, where=where)


def train_table(frame, target, where, settings, warn=print):
    """Train on ``frame`` to predict ``target`` following the recipe (module docstring).

    Returns ``(ensemble, metadata, report)``: the fitted :class:`~.ensemble.Ensemble` (one
    member unless ``settings.ensemble`` asks for more), the JSON that ``predict`` needs
    (preprocessing, target transform, validation, the members) and a dict of what
    happened, for the caller to print. ``warn(text)`` receives warnings.
    """
    s = settings
    budget = Budget(s.time_limit)
    frame, dropped_rows = _rows_with_a_target(frame, target, where, s, warn)
    task, labels = _labels(frame, target, where, s)
    classify = task == "classify"
    if s.label_smoothing and s.label_smoothing_given and not classify:
        warn(f"--label-smoothing is for classification; the target {target!r} is regressed "
             "without it")
    features = frame.drop(columns=[target])
    train_rows, val_rows = _split(labels, classify, s)
    prep, X = prepare(features, where, train_rows, s.scale, s.keep_id, s.drop,
                      s.category_embedding)
    for d in prep.dropped:
        if d["reason"].startswith("ID-like"):  # not those the user named with --drop
            warn(f"column {d['name']!r} left out as {d['reason']}; "
                 f"--keep-id {shlex.quote(d['name'])} uses it")
    n_out = 1 if not classify or len(np.unique(labels[train_rows])) == 2 \
        else len(np.unique(labels[train_rows]))
    batch = min(s.batch_size or DEFAULTS["batch_size"], len(train_rows))
    embedded = len(prep.numeric) if s.numeric_embedding == "periodic" else 0
    tables = sum(prep.category_counts) * EMBEDDING_WIDTH   # the embeddings' parameters
    width = prep.n_features + (EMBEDDING_WIDTH - 1) * len(prep.embedded) + 3 * embedded
    params, _ = check_size([width, *s.hidden, n_out], batch)
    report = {"task": task, "hidden": list(s.hidden), "rows": len(train_rows),
              "val_rows": len(val_rows), "dropped_rows": dropped_rows, "params": params + tables}
    transform = TargetTransform.fit(labels[train_rows], s.target_transform) if not classify else None
    if transform is not None:
        report["target_transform"] = {"kind": transform.kind, "reason": transform.reason}
    data = _Data(task, X, labels, train_rows, val_rows, transform, batch, embedded,
                 prep.category_counts)
    if s.refit and s.validation > 0:  # every row, for the refits: the kind chosen stays
        prep_all, X_all = prepare(features, where, None, s.scale, s.keep_id, s.drop,
                                  s.category_embedding)
        data.all = _Data(task, X_all, labels, np.arange(len(labels)), val_rows[:0],
                         _refitted(transform, labels), min(s.batch_size or DEFAULTS["batch_size"],
                                                           len(labels)),
                         len(prep_all.numeric) if embedded else 0, prep_all.category_counts)
    ensemble, validation = _members(data, s, budget, report)
    if data.all is not None:
        prep, transform = prep_all, data.all.transform
        report.update(refit_rows=len(labels))
    # the saved model's embedded columns (after a refit, those of every row)
    report["embedded"] = prep.embedded
    report["one_hot"] = len(prep.categorical)
    return ensemble, _metadata(target, task, where, prep, validation, transform, ensemble, s,
                               report), report


class _Data:
    """What every member trains on: the matrix, the labels, the rows, the target transform
    (and ``all``: the same for every row, when members are refitted)."""

    def __init__(self, task, X, labels, rows, val_rows, transform, batch, embedded=0,
                 categories=()):
        self.task, self.X, self.labels, self.rows, self.val_rows = task, X, labels, rows, val_rows
        self.transform, self.batch, self.all = transform, batch, None
        self.embedded = embedded  # the leading (numeric) columns with a PeriodicEmbedding
        self.categories = list(categories)  # the last columns' category counts (indices)
        self.classify = task == "classify"
        self.y = labels if self.classify else transform.forward(labels)


def _refitted(transform, labels):
    if transform is None:
        return None
    refitted = TargetTransform.fit(labels, transform.kind)
    refitted.reason = transform.reason
    return refitted


def _members(data, s, budget, report):
    """Up to ``s.ensemble`` members within the budget (:mod:`.ensemble`); returns the
    ensemble and its validation record (None without a validation split)."""
    members, validated, records = [], [], []
    for j in range(s.ensemble):
        if j and not budget.another([r["seconds"] for r in records]):
            break
        start, limit = time.perf_counter(), budget.callback()
        est, record = _member(data, s, s.seed + j, limit)
        validated.append(est)
        if data.all is not None:
            est = _fit(data.all, s, s.seed + j, record["best_epoch"], limit)[0]
            record["refit_epochs"] = int(est.n_iter_)
        if limit.hit and j:  # cut short by the limit: not what the others are
            validated.pop()
            break
        record.update(seconds=round(time.perf_counter() - start, 3), stopped_by_time=limit.hit)
        members.append(est)
        records.append(record)
    report.update(members=records, ensemble_asked=s.ensemble, time_limit=s.time_limit,
                  epochs=records[0]["epochs_run"], best_epoch=records[0].get("best_epoch"),
                  still_improving=records[0].get("still_improving", False))
    if data.all is not None:
        report["refit_epochs"] = records[0]["refit_epochs"]
    validation = None
    if s.validation > 0:
        score = validation_score(Ensemble(validated), data.X[data.val_rows],
                                 data.labels[data.val_rows], data.transform)
        validation = {"metric": "accuracy" if data.classify else "R²", "score": score,
                      "rows": len(data.val_rows), "best_epoch": records[0]["best_epoch"],
                      "epochs_run": records[0]["epochs_run"], "patience": s.patience}
    return Ensemble(members, records), validation


def _member(data, s, seed, limit):
    """One member trained on ``data`` (stopping early on the validation rows when there are
    some) and its record."""
    most = s.epochs or DEFAULTS["max_epochs"]
    est, best = _fit(data, s, seed, most, limit)
    record = {"seed": seed, "epochs_run": int(est.n_iter_)}
    if best is not None:
        record.update(best_epoch=best.best_epoch, epochs_run=best.epochs,
                      still_improving=best.still_improving,
                      score=validation_score(est, data.X[data.val_rows],
                                             data.labels[data.val_rows], data.transform))
    return est, record


def _fit(data, s, seed, epochs, limit):
    """An estimator trained for at most ``epochs`` on ``data.rows`` (stopped early on the
    validation rows when there are some, and at the time limit); returns it and the
    early stopping's record (None without validation rows)."""
    loss = data.transform.loss if data.transform is not None else None
    est = make_estimator(data.task, s.hidden, epochs, s.lr, s.alpha, s.dropout, data.batch,
                         seed, s.verbose, loss=loss, label_smoothing=s.label_smoothing,
                         periodic_columns=data.embedded, embedded_categories=data.categories,
                         activation=s.activation, init=s.init)
    best = None
    if len(data.val_rows):
        classes = np.unique(data.labels[data.rows]) if data.classify else None
        Y_val = one_hot(data.labels[data.val_rows], classes) if data.classify \
            else data.y[data.val_rows, None]
        best = BestEpoch(data.X[data.val_rows], Y_val, data.classify, s.patience,
                         poisson=loss == "poisson")
    est.set_params(callbacks=[c for c in (best, limit, _schedule(s, best)) if c is not None])
    X = data.X[data.rows]
    fit_estimator(est, X, data.y[data.rows])
    est.set_params(callbacks=None)
    fill_unread_rows(est, X, data.categories)
    return est, best


def fill_unread_rows(est, X, counts):
    """Each embedded column's table rows that no training row read keep their random
    start, N(0, 1): index 0 of a column with no rare or missing value among the training
    rows, which predict reads for an unseen category. Such a row becomes the mean of the
    column's rows that were read, each weighted by its count, so that an unseen category
    reads as the average of the seen ones (as a missing number reads as the mean)::

        W[o_j + c] ← Σ_r n_r W[o_j + r] / Σ_r n_r      for every c with n_c = 0

    X the training rows (the last ``len(counts)`` columns their indices); ``counts`` the
    columns' table sizes (none: nothing to do)."""
    if not counts:
        return
    layer = est.network_.layers[0]
    index = X[:, X.shape[1] - len(counts):].astype(np.intp)
    for j, k in enumerate(counts):
        reads = np.bincount(index[:, j], minlength=k)
        table = layer.W[layer.offsets[j]:layer.offsets[j] + k]   # a view: writes reach W
        unread = reads == 0
        if unread.any() and not unread.all():
            table[unread] = (reads[:, None] * table).sum(axis=0) / reads.sum()


def _schedule(s, best):
    """The learning-rate schedule's callback (after BestEpoch, which logs "val_loss"), or None
    for a constant rate."""
    if s.lr_schedule == "constant":
        return None
    from ..optim.schedules import ReduceLROnPlateau
    from ..train.callbacks import LearningRateScheduler
    return LearningRateScheduler(ReduceLROnPlateau(
        s.lr, monitor="val_loss" if best is not None else "loss", factor=0.5,
        patience=max(1, s.patience // 4)))


def _rows_with_a_target(frame, target, where, s, warn):
    """The frame's rows that have a target (the others an error, or left out when asked),
    and how many were left out."""
    from .read import list_names, row
    if target not in frame.columns:
        raise ValueError(f"{where} has no column {target!r}; its columns are "
                         f"{list_names(frame.columns)}")
    missing = frame[target].isna().to_numpy()
    if not missing.any():
        return frame, 0
    if not s.drop_missing_target:
        i = int(np.argmax(missing))
        raise ValueError(f"{row(where, i)}: the target {target!r} is missing "
                         f"({int(missing.sum())} rows in all); fill it, or give "
                         "--drop-missing-target to train without those rows")
    dropped = int(missing.sum())
    warn(f"left out {dropped} rows whose target {target!r} is missing")
    return frame[~missing].reset_index(drop=True), dropped


def _labels(frame, target, where, s):
    """The task ("classify" or "regress") and the target as labels (text) or numbers."""
    from .read import detect_task, first_text, row
    y = frame[target]
    task = s.task or detect_task(y)
    if task == "regress":
        found = first_text(y)
        if found is not None:
            i, value = found
            raise ValueError(f"{row(where, i)}: the target {target!r} must be numeric to "
                             f"regress, found the text {value!r}")
    least = 4 if s.validation > 0 else 2
    if len(frame) < least:
        raise ValueError(f"{where} has {len(frame)} data rows with a target; at least {least} "
                         "are needed to train" + (" and validate" if s.validation > 0 else ""))
    classify = task == "classify"
    labels = y.astype(str).to_numpy() if classify else y.to_numpy(dtype=np.float64)
    if classify and len(np.unique(labels)) < 2:
        raise ValueError(f"{where}: the target {target!r} has a single value {labels[0]!r}: "
                         "nothing to classify")
    if not classify and not np.all(np.isfinite(labels)):
        i = int(np.argmax(~np.isfinite(labels)))
        raise ValueError(f"{row(where, i)}: the target {target!r} is {labels[i]!r}")
    return task, labels


def _split(labels, classify, s):
    """The training and validation rows (none for validation when ``s.validation`` is 0)."""
    from sklearn.model_selection import train_test_split
    rows = np.arange(len(labels))
    if s.validation <= 0:
        return rows, rows[:0]
    classes, counts = np.unique(labels, return_counts=True) if classify else (None, None)
    # stratified when every class can be split and the validation part can hold them all
    stratify = labels if classify and counts.min() >= 2 \
        and math.ceil(s.validation * len(rows)) >= len(classes) else None
    return train_test_split(rows, test_size=s.validation, random_state=s.seed, stratify=stratify)


def _metadata(target, task, where, prep, validation, transform, ensemble, s, report):
    """What predict and info read back: the preprocessing, the validation, how it trained,
    the members (:mod:`.ensemble`)."""
    training = {"refit": bool(s.refit and s.validation > 0),
                "rows": report.get("refit_rows", report["rows"]),
                "epochs": int(ensemble.first.n_iter_),
                "alpha": s.alpha, "dropout": s.dropout, "lr": s.lr}
    if s.label_smoothing and task == "classify":
        training["label_smoothing"] = s.label_smoothing
    if s.lr_schedule != "constant":
        training["lr_schedule"] = s.lr_schedule
    if ensemble.first.periodic_columns:
        training["numeric_embedding"] = s.numeric_embedding
    if prep.embedded:
        training["category_embedding"] = s.category_embedding
    if s.init != "glorot":
        training["init"] = s.init
    tabular = {"target": str(target), "task": task, "source": str(where),
               "preprocessing": prep.to_json(), "validation": validation, "training": training}
    if len(ensemble) > 1 or s.ensemble > 1 or s.time_limit is not None:
        tabular["ensemble"] = {"members": len(ensemble), "asked": s.ensemble,
                               "time_limit": s.time_limit, "tensors": ensemble.tensor_names(),
                               "records": ensemble.records}
    if transform is not None:
        tabular["target_transform"] = transform.to_json()
    return {"tabular": tabular}


def validation_score(est, X, y, target):
    """Accuracy of a classifier; R² of a regressor in the target's own units (the
    transform undone), so that scores compare across transforms."""
    if target is None:
        return float(est.score(X, y))
    with np.errstate(over="ignore", invalid="ignore"):
        pred = target.inverse(est.predict(X))
        residual = float(np.sum((y - pred) ** 2))
        total = float(np.sum((y - np.mean(y)) ** 2))
    if not math.isfinite(residual):
        return -math.inf
    return 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)


def predict_table(est, tab, prep, frame, where, proba=False):
    """``(predictions, probabilities or None, unseen)`` for ``frame``: the training
    preprocessing applied, a regression output unscaled to the target's units."""
    X, unseen = prep.encode(frame, where=where)
    if tab.get("task") == "classify":
        P = est.predict_proba(X) if proba else None
        return est.predict(X), P, unseen
    z = est.predict(X)
    target = TargetTransform.from_metadata(tab, where)
    return (target.inverse(z) if target is not None else z), None, unseen
