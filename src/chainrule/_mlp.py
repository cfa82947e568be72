"""The machinery the scikit-learn estimators share: parameter checks, the
network, scikit-learn's stochastic solvers and L-BFGS, pickling.

See :mod:`chainrule.sklearn` for what is matched and what is added.
"""
from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import engine, names
from ._mlp_losses import _GlorotUniform
from .callbacks import History, Run, check_callbacks
from .nn.dropout import Dropout
from .nn.layers import Dense
from .network import Sequential
from .optimizers import SGD, Adam
from .divergence import DivergenceError, guarded_step
from .validation import as_array, float_dtype, number

_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
_SOLVERS = ("lbfgs", "sgd", "adam")
_SCHEDULES = ("constant", "invscaling", "adaptive")


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: checks, the network, the solvers."""

    # -- parameters ----------------------------------------------------------

    def _check_params(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (int, np.integer)):
            sizes = [number("hidden_layer_sizes", sizes, integer=True, at_least=1)]
        else:
            sizes = [number(f"hidden_layer_sizes[{i}]", s, integer=True, at_least=1)
                     for i, s in enumerate(sizes)]
        for name, options in (("activation", _ACTIVATIONS), ("solver", _SOLVERS),
                              ("learning_rate", _SCHEDULES)):
            if getattr(self, name) not in options:
                raise ValueError(f"{name} must be one of {options}, got {getattr(self, name)!r}")
        number("alpha", self.alpha, at_least=0)
        number("learning_rate_init", self.learning_rate_init, greater_than=0)
        number("power_t", self.power_t)
        number("max_iter", self.max_iter, integer=True, at_least=1)
        number("tol", self.tol, at_least=0)
        number("momentum", self.momentum, at_least=0, at_most=1)
        number("validation_fraction", self.validation_fraction, greater_than=0, less_than=1)
        number("beta_1", self.beta_1, at_least=0, less_than=1)
        number("beta_2", self.beta_2, at_least=0, less_than=1)
        number("epsilon", self.epsilon, greater_than=0)
        number("n_iter_no_change", self.n_iter_no_change, integer=True, at_least=1)
        number("max_fun", self.max_fun, integer=True, at_least=1)
        if self.batch_size != "auto":
            number("batch_size", self.batch_size, integer=True, at_least=1)
        number("dropout", self.dropout, at_least=0, less_than=1)
        dtype = float_dtype(self.dtype)
        if self.dropout and self.solver == "lbfgs":
            raise ValueError("dropout needs a stochastic solver (adam or sgd), got solver='lbfgs'")
        return sizes, dtype

    # -- data ------------------------------------------------------------------

    def _validate_X(self, X, reset):
        X = validate_data(self, X, accept_sparse=["csr", "csc", "coo"],
                          dtype=[np.float64, np.float32], reset=reset)
        return _dense(X)

    def _weights(self, sample_weight, X, y):
        """Row weights (sample_weight times class weights) as ``(w / scale, scale)``, scale
        their largest, found in float64; ``(ones, 1.0)`` if there are none.

        The loss, a weighted mean Σ wᵢLᵢ / Σ wᵢ, needs only the relative weights, which
        neither vanish nor overflow in the network's dtype; the scale is kept for the
        penalty, which scikit-learn divides by Σ wᵢ (so a weight of 2 is a repeated row).
        """
        scale = 1.0
        if sample_weight is not None:
            as_array(sample_weight, "sample_weight")  # a message naming a non-numeric entry
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            sample_weight, scale = _relative(sample_weight, "sample_weight")
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            cw = compute_sample_weight(class_weight, y)
            sample_weight, more = _relative(cw if sample_weight is None else sample_weight * cw,
                                            "sample_weight times class_weight")
            scale *= more
        if sample_weight is None:
            return np.ones(len(X)), 1.0
        return sample_weight, scale

    # -- the network -----------------------------------------------------------

    def _build(self, n_in, n_out, sizes, dtype, output):
        factor = 2.0 if self.activation == "logistic" else 6.0
        widths = [n_in, *sizes, n_out]
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
            dense = Dense(fan_in, fan_out, init=_GlorotUniform(factor), seed=self._rng, dtype=dtype)
            a = math.sqrt(factor / (fan_in + fan_out))
            dense.b = self._rng.uniform(-a, a, fan_out).astype(dtype)
            layers.append(dense)
            if i < len(sizes):
                layers.append(names.activation(self.activation, "activation"))
                if self.dropout:
                    layers.append(Dropout(self.dropout, seed=self._rng))
            else:
                layers.append(output())
        return Sequential(layers, dtype=dtype)

    @property
    def coefs_(self):
        check_is_fitted(self, "network_")
        return [layer.W for layer in self.network_.layers if isinstance(layer, Dense)]

    @property
    def intercepts_(self):
        check_is_fitted(self, "network_")
        return [layer.b for layer in self.network_.layers if isinstance(layer, Dense)]

    def _dense_layers(self):
        return [layer for layer in self.network_.layers if isinstance(layer, Dense)]

    def _loss_and_gradient(self, X, Yw):
        """scikit-learn's loss with its L2 term; fills network_.flat_grads."""
        n = self._weight_scale * float(Yw[:, -1].sum())  # Σ wᵢ of the batch, in float64
        value = self.network_.forward_backward(X, Yw, self._loss)
        penalty = 0.0
        for layer in self._dense_layers():
            penalty += float(np.vdot(layer.W, layer.W))
            layer.dW += (self.alpha / n) * layer.W
        return value + 0.5 * self.alpha * penalty / n

    def _forward(self, X):
        """The network's output, in X's floating dtype (computed in the network's)."""
        A = self.network_.predict(X.astype(self.network_.dtype, copy=False))
        return A.astype(X.dtype if X.dtype.kind == "f" else np.float64, copy=False)

    # -- fitting ---------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental):
        sizes, dtype = self._check_params()
        _check_callbacks(self.callbacks)  # before any work: refuse what cannot run here
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, y = self._validate(X, y, incremental, reset=first)
        w, self._weight_scale = self._weights(sample_weight, X, y)
        Y = self._encode(y, refit=first and not incremental)
        if first:
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            self._rng = np.random.default_rng(seed)
            self.n_outputs_ = Y.shape[1]
            self.n_layers_ = len(sizes) + 2
            self.out_activation_ = self._output_name()
            self.network_ = self._build(X.shape[1], Y.shape[1], sizes, dtype, self._output_layer())
            self.n_iter_ = 0
            self.t_ = 0
            if self.solver != "lbfgs":
                self.loss_curve_ = []
                self._no_improvement_count = 0
                if self.early_stopping:
                    self.validation_scores_, self.best_validation_score_ = [], -np.inf
                    self.best_loss_ = None
                else:
                    self.validation_scores_ = self.best_validation_score_ = None
                    self.best_loss_ = np.inf
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the network was fitted with "
                             f"{self.n_outputs_}")
        self._loss = self._loss_object()
        Yw = np.hstack([Y, w[:, None]]).astype(self.network_.dtype)
        X = X.astype(self.network_.dtype, copy=False)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Yw)
        else:
            self._fit_stochastic(X, y, Yw, w, incremental)
        return self

    def _fit_lbfgs(self, X, Yw):
        net = self.network_

        def loss_and_gradient(flat):
            net.flat_params[...] = flat
            value = self._loss_and_gradient(X, Yw)
            return value, net.flat_grads.astype(np.float64)

        with net.fitting():
            result = scipy.optimize.minimize(
                loss_and_gradient, net.flat_params.astype(np.float64), method="L-BFGS-B", jac=True,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        if not np.all(np.isfinite(result.x)):
            raise ValueError("lbfgs produced non-finite weights: the inputs may hold very large "
                             "values; standardise them first")
        net.flat_params[...] = result.x
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        if result.status != 0:
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iterations "
                          f"(status {result.status}: {result.message}); increase max_iter "
                          "or max_fun, or scale the data", ConvergenceWarning)

    def _fit_stochastic(self, X, y, Yw, w, incremental):
        net = self.network_
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "adam":
                self._optimizer = Adam(self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                                       eps=self.epsilon)
            else:
                self._optimizer = SGD(self.learning_rate_init, momentum=self.momentum,
                                      nesterov=self.nesterovs_momentum and self.momentum > 0)
        optimizer = self._optimizer
        validation = None
        if self.early_stopping:
            stratify = y if self._is_classifier() and self.n_outputs_ == 1 else None
            split_seed = int(self._rng.integers(np.iinfo(np.int32).max))
            X, X_val, Yw, Yw_val, y_tr, y_val, w, w_val = train_test_split(
                X, Yw, y, w, test_size=self.validation_fraction, random_state=split_seed,
                stratify=stratify)
            if len(X_val) < 2:
                raise ValueError("The validation set is too small: increase validation_fraction "
                                 f"({self.validation_fraction}) or the size of the data set")
            validation = (X_val, y_val, w_val)
        n = len(X)
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(f"batch_size={self.batch_size} is larger than the {n} samples: "
                              "clipped to the sample size")
            batch = min(self.batch_size, n)
        callbacks = _check_callbacks(self.callbacks)
        history = History()
        run = Run(net, optimizer, self._loss, history, 1 if incremental else self.max_iter, -(-n // batch))
        engine.prepare(run.epochs * run.batches_per_epoch * net.n_params)  # load kernels if it pays
        run.rng = self._rng
        callbacks = [history, *callbacks]
        for cb in callbacks:
            cb.run = run
        bar = _Bar(run.epochs) if self.verbose and not incremental else None
        total_weight = w.sum()
        with net.fitting(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for cb in callbacks:
                cb.on_train_begin({})
            for epoch in range(run.epochs):
                for cb in callbacks:
                    cb.on_epoch_begin(epoch, {})
                order = self._rng.permutation(n) if self.shuffle else np.arange(n)
                accumulated = weight_seen = 0.0
                rows_seen = 0
                for b, start in enumerate(range(0, n, batch)):
                    idx = order[start:start + batch]
                    Xb, Ywb = X[idx], Yw[idx]
                    value = self._loss_and_gradient(Xb, Ywb)
                    refused = guarded_step(net, optimizer, value)
                    if refused is not None:
                        bad = refused[1]
                        what = (f"the loss is {value!r}" if bad is None else
                                f"the update would have made the weights of layer {bad} non-finite")
                        raise DivergenceError(
                            f"training diverged at iteration {self.n_iter_ + 1}, batch {b}: {what}; "
                            f"lower learning_rate_init ({self.learning_rate_init:g}) or standardise "
                            "the inputs. The weights are those before this batch.",
                            epoch, b, bad, history)
                    weight = float(Ywb[:, -1].sum())
                    accumulated += value * weight
                    weight_seen += weight
                    rows_seen += len(idx)
                    for cb in callbacks:
                        cb.on_batch_end(b, {"loss": value, "size": len(idx)})
                    if run.stop_training:  # a callback ends training after this batch
                        break
                self.n_iter_ += 1
                self.loss_ = accumulated / (total_weight if rows_seen == n else weight_seen or 1.0)
                self.t_ += rows_seen
                self.loss_curve_.append(self.loss_)
                logs = {"loss": self.loss_}
                self._update_no_improvement(validation, logs)
                logs["lr"] = optimizer.lr
                if self.verbose and self.verbose > 1:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                if bar is not None:
                    bar.update(logs)
                for cb in callbacks:
                    cb.on_epoch_end(epoch, logs)
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    optimizer.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
                if self._no_improvement_count > self.n_iter_no_change:
                    if self._stop(optimizer):
                        break
                    self._no_improvement_count = 0
                if run.stop_training or incremental:
                    break
            else:
                if not incremental and self.n_iter_ >= self.max_iter:
                    warnings.warn(f"Stochastic optimizer: maximum iterations ({self.max_iter}) "
                                  "reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning)
            for cb in callbacks:
                cb.on_train_end({})
        if bar is not None:
            bar.close()
        if validation is not None:
            net.flat_params[...] = self._best_params

    def _update_no_improvement(self, validation, logs):
        if validation is not None:
            X_val, y_val, w_val = validation
            score = self._score(X_val, y_val, w_val)
            logs["val_score"] = score
            self.validation_scores_.append(score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self.network_.flat_params.copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _stop(self, optimizer):
        """True to stop; the adaptive schedule first divides the rate by 5 until it is ≤ 1e-6."""
        if self.solver == "adam" or self.learning_rate != "adaptive":
            return True
        if optimizer.lr <= 1e-6:
            return True
        optimizer.lr /= 5.0
        return False

    def _score(self, X, y, w):
        with self.network_.evaluating():
            pred = self._predict_dense(X)
        return (accuracy_score if self._is_classifier() else r2_score)(y, pred, sample_weight=w)

    def _check_stochastic(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers; "
                                 f"solver is {self.solver!r}")
        return True

    def _is_classifier(self):
        return isinstance(self, ClassifierMixin)

    # -- saving ----------------------------------------------------------------

    def save(self, path, metadata=None, extra_tensors=None):
        """Write the fitted estimator to one ``.safetensors`` file (see :func:`load`).

        The network's weights are tensors; the constructor parameters, the
        fitted attributes and the class labels are JSON metadata. ``metadata``
        (JSON values) and ``extra_tensors`` (arrays) are stored beside them.
        """
        from ._sklearn_io import save_estimator
        save_estimator(self, path, metadata=metadata, extra_tensors=extra_tensors)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# -- helpers --------------------------------------------------------------------

def _relative(w, name):
    """``(w / max(w), max(w))`` in float64; ValueError if no weight is positive."""
    largest = float(np.max(w))
    if not largest > 0:
        raise ValueError(f"{name} must have at least one positive weight, got all {len(w)} "
                         "equal to 0")
    return w / largest, largest


def _check_callbacks(callbacks):
    """The estimator's callbacks as a list; those that need ``chainrule.fit`` are refused here."""
    from .checkpoint import ModelCheckpoint
    callbacks = check_callbacks(callbacks)
    for i, cb in enumerate(callbacks):
        if isinstance(cb, ModelCheckpoint):
            raise ValueError(
                f"callbacks[{i}] is a ModelCheckpoint, which the scikit-learn estimators cannot "
                "use: its checkpoints are resumed by chainrule.fit(resume_from=...), which the "
                "estimators do not go through; save the fitted estimator with est.save(path), "
                "or train est.network_ with chainrule.fit")
    return callbacks


def _dense(X):
    return X.toarray() if scipy.sparse.issparse(X) else X


class _Bar:
    """A tqdm bar over the iterations, the loss beside it (``verbose``)."""

    def __init__(self, total):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=total, desc="training", file=sys.stderr, dynamic_ncols=True)

    def update(self, logs):
        self.bar.update(1)
        self.bar.set_postfix_str(" - ".join(f"{k} {v:.4f}" for k, v in logs.items()), refresh=False)

    def close(self):
        self.bar.close()
