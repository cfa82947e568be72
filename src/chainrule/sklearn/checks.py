"""The estimators' checks: their parameters, their callbacks, their input."""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse

from ..callbacks import check_callbacks

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
SOLVERS = ("lbfgs", "sgd", "adam")
SCHEDULES = ("constant", "invscaling", "adaptive")


def check_params(est):
    """The checked ``(hidden sizes, dtype)`` of ``est``; ValueError naming a bad parameter."""
    sizes = est.hidden_layer_sizes
    sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"hidden_layer_sizes must hold integers >= 1, got {est.hidden_layer_sizes!r}")
    checks = [
        ("activation", est.activation in ACTIVATIONS, f"one of {ACTIVATIONS}"),
        ("solver", est.solver in SOLVERS, f"one of {SOLVERS}"),
        ("learning_rate", est.learning_rate in SCHEDULES, f"one of {SCHEDULES}"),
        ("alpha", _number(est.alpha) and est.alpha >= 0, ">= 0"),
        ("learning_rate_init", _number(est.learning_rate_init) and est.learning_rate_init > 0, "> 0"),
        ("power_t", _number(est.power_t), "a number"),
        ("max_iter", _integer(est.max_iter) and est.max_iter >= 1, "an integer >= 1"),
        ("tol", _number(est.tol) and est.tol >= 0, ">= 0"),
        ("momentum", _number(est.momentum) and 0 <= est.momentum <= 1, "in [0, 1]"),
        ("validation_fraction", _number(est.validation_fraction)
         and 0 < est.validation_fraction < 1, "in (0, 1)"),
        ("beta_1", _number(est.beta_1) and 0 <= est.beta_1 < 1, "in [0, 1)"),
        ("beta_2", _number(est.beta_2) and 0 <= est.beta_2 < 1, "in [0, 1)"),
        ("epsilon", _number(est.epsilon) and est.epsilon > 0, "> 0"),
        ("n_iter_no_change", _integer(est.n_iter_no_change) and est.n_iter_no_change >= 1,
         "an integer >= 1"),
        ("max_fun", _integer(est.max_fun) and est.max_fun >= 1, "an integer >= 1"),
        ("batch_size", est.batch_size == "auto" or (_integer(est.batch_size) and est.batch_size >= 1),
         '"auto" or an integer >= 1'),
        ("dropout", _number(est.dropout) and 0 <= est.dropout < 1, "in [0, 1)"),
    ]
    for name, ok, rule in checks:
        if not ok:
            raise ValueError(f"{name} must be {rule}, got {getattr(est, name)!r}")
    dtype = np.dtype(est.dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point type, got {dtype}")
    if est.dropout and est.solver == "lbfgs":
        raise ValueError("dropout needs a stochastic solver (adam or sgd), got solver='lbfgs'")
    return [int(s) for s in sizes], dtype


def _number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
        and math.isfinite(value)


def relative(w, name):
    """``(w / max(w), max(w))`` in float64; ValueError if no weight is positive."""
    largest = float(np.max(w))
    if not largest > 0:
        raise ValueError(f"{name} must have at least one positive weight, got all {len(w)} "
                         "equal to 0")
    return w / largest, largest


def _integer(value):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def estimator_callbacks(callbacks):
    """The estimator's callbacks as a list; those that need ``chainrule.fit`` are refused here."""
    from ..checkpoint import ModelCheckpoint
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
