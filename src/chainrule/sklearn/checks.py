"""The estimators' checks: their parameters, their callbacks, their input."""
from __future__ import annotations

import numpy as np
import scipy.sparse

from ..train.hooks import check_callbacks
from ..validation import float_dtype, number

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "gelu")  # gelu: chainrule's own
INITS = ("glorot", "data")
SOLVERS = ("lbfgs", "sgd", "adam")
SCHEDULES = ("constant", "invscaling", "adaptive")


def check_params(est):
    """The checked ``(hidden sizes, dtype)`` of ``est``; ValueError naming a bad parameter."""
    sizes = est.hidden_layer_sizes
    if isinstance(sizes, (int, np.integer)):
        sizes = [number("hidden_layer_sizes", sizes, integer=True, at_least=1)]
    elif isinstance(sizes, str):   # iterated, "100" would be the layers 1, 0, 0
        raise TypeError(f"hidden_layer_sizes must be an int or a tuple of ints such as (100,) "
                        f"or (64, 32), got the string {sizes!r}")
    else:
        sizes = [number(f"hidden_layer_sizes[{i}]", s, integer=True, at_least=1)
                 for i, s in enumerate(sizes)]
    for name, options in (("activation", ACTIVATIONS), ("solver", SOLVERS),
                          ("learning_rate", SCHEDULES)):
        if getattr(est, name) not in options:
            raise ValueError(f"{name} must be one of {options}, got {getattr(est, name)!r}")
    number("alpha", est.alpha, at_least=0)
    number("learning_rate_init", est.learning_rate_init, greater_than=0)
    number("power_t", est.power_t)
    number("max_iter", est.max_iter, integer=True, at_least=1)
    number("tol", est.tol, at_least=0)
    number("momentum", est.momentum, at_least=0, at_most=1)
    number("validation_fraction", est.validation_fraction, greater_than=0, less_than=1)
    number("beta_1", est.beta_1, at_least=0, less_than=1)
    number("beta_2", est.beta_2, at_least=0, less_than=1)
    number("epsilon", est.epsilon, greater_than=0)
    number("n_iter_no_change", est.n_iter_no_change, integer=True, at_least=1)
    number("max_fun", est.max_fun, integer=True, at_least=1)
    if est.batch_size != "auto":
        number("batch_size", est.batch_size, integer=True, at_least=1)
    number("dropout", est.dropout, at_least=0, less_than=1)
    number("label_smoothing", getattr(est, "label_smoothing", 0.0), at_least=0, at_most=1)
    number("periodic_columns", est.periodic_columns, integer=True, at_least=0)
    if est.init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {est.init!r}")
    embedded_categories(est)
    dtype = float_dtype(est.dtype)
    if est.dropout and est.solver == "lbfgs":
        raise ValueError("dropout needs a stochastic solver (adam or sgd), got solver='lbfgs'")
    return sizes, dtype


def embedded_categories(est):
    """``(category counts, width)`` of ``est``'s embedded columns (``([], width)`` for none;
    an estimator pickled before it had them: none), each checked."""
    counts = est.embedded_categories
    if isinstance(counts, (str, bytes)) or not hasattr(counts, "__len__"):
        raise TypeError(f"embedded_categories must list a category count per embedded column, "
                        f"such as (12, 40), got {counts!r}")
    counts = [number(f"embedded_categories[{j}]", k, integer=True, at_least=1)
              for j, k in enumerate(counts)]
    width = number("embedding_width", est.embedding_width, integer=True,
                   at_least=1)
    return counts, width


def relative(w, name):
    """``(w / max(w), max(w))`` in float64; ValueError if no weight is positive."""
    largest = float(np.max(w))
    if not largest > 0:
        raise ValueError(f"{name} must have at least one positive weight, got all {len(w)} "
                         "equal to 0")
    return w / largest, largest


def estimator_callbacks(callbacks):
    """The estimator's callbacks as a list; those that need ``chainrule.fit`` are refused here."""
    from ..train.checkpoint import ModelCheckpoint
    callbacks = check_callbacks(callbacks)
    for i, cb in enumerate(callbacks):
        if isinstance(cb, ModelCheckpoint):
            raise ValueError(
                f"callbacks[{i}] is a ModelCheckpoint, which the scikit-learn estimators cannot "
                "use: its checkpoints are resumed by chainrule.fit(resume_from=...), which the "
                "estimators do not go through; save the fitted estimator with est.save(path), "
                "or train est.network_ with chainrule.fit")
    return callbacks


def dense(X):
    """X as a dense array (scikit-learn accepts sparse input; the network takes dense)."""
    return X.toarray() if scipy.sparse.issparse(X) else X
