"""The estimators' solvers: scikit-learn's epochs over the loop fit runs (``train.epochs``), and L-BFGS.

Each takes the estimator and sets its fitted attributes (``n_iter_``,
``loss_``, ``loss_curve_``, ...) as scikit-learn's MLP does.
"""
from __future__ import annotations

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .. import engine
from ..nn.checks import warn_user
from ..optim.optimizers import SGD, Adam
from ..train.batching import Batches
from ..train.callbacks import History, ProgressBar
from ..train.epochs import Epochs
from ..train.hooks import Run
from ..train.loop import loss_and_gradient
from .checks import estimator_callbacks


def fit_lbfgs(est, X, Yw):
    """scipy's L-BFGS-B on scikit-learn's loss (penalty included) over the flat parameters."""
    net = est.network_

    def objective(flat):
        net.flat_params[...] = flat
        value = loss_and_gradient(net, X, Yw, est._loss, est._penalty)
        return value, net.flat_grads.astype(np.float64)

    with net.fitting(f"{type(est).__name__}.fit"):
        result = scipy.optimize.minimize(
            objective, net.flat_params.astype(np.float64), method="L-BFGS-B", jac=True,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol})
        if not np.all(np.isfinite(result.x)):
            raise ValueError("lbfgs produced non-finite weights: the inputs may hold very "
                             "large values; standardise them first")
        net.flat_params[...] = result.x
    est.n_iter_ = int(result.nit)
    est.loss_ = float(result.fun)
    if result.status != 0:
        warn_user(f"lbfgs failed to converge after {est.n_iter_} iterations "
                  f"(status {result.status}: {result.message}); increase max_iter "
                  "or max_fun, or scale the data", ConvergenceWarning)


def fit_stochastic(est, X, y, Yw, w, incremental):
    """Adam or SGD over fit's batches of (X, Yw), Yw the targets with the row weights as
    their last column; ``incremental``: one epoch, the optimizer's state carried over."""
    net = est.network_
    if not incremental or not hasattr(est, "_optimizer"):
        if est.solver == "adam":
            est._optimizer = Adam(est.learning_rate_init, betas=(est.beta_1, est.beta_2),
                                  eps=est.epsilon)
        else:
            est._optimizer = SGD(est.learning_rate_init, momentum=est.momentum,
                                 nesterov=est.nesterovs_momentum and est.momentum > 0)
    optimizer = est._optimizer
    validation = None
    if est.early_stopping:
        stratify = y if est._is_classifier() and est.n_outputs_ == 1 else None
        split_seed = int(est._rng.integers(np.iinfo(np.int32).max))
        X, X_val, Yw, _Yw_val, _y_tr, y_val, w, w_val = train_test_split(
            X, Yw, y, w, test_size=est.validation_fraction, random_state=split_seed,
            stratify=stratify)
        if len(X_val) < 2:
            raise ValueError("The validation set is too small: increase validation_fraction "
                             f"({est.validation_fraction}) or the size of the data set")
        validation = (X_val, y_val, w_val)
    n = len(X)
    if est.batch_size == "auto":
        batch = min(200, n)
    else:
        if est.batch_size > n:
            warn_user(f"batch_size={est.batch_size} is larger than the {n} samples: "
                      "clipped to the sample size")
        batch = min(est.batch_size, n)
    batches = Batches(X, Yw, batch)
    epochs = 1 if incremental else est.max_iter
    engine.prepare(epochs * batches.count * net.n_params)  # load the kernels if it pays
    bar = [ProgressBar(per_epoch=False)] if est.verbose and not incremental else []
    history = History()
    run = Run(net, optimizer, est._loss, history, epochs, batches.count, rng=est._rng,
              callbacks=[history, *bar, *estimator_callbacks(est.callbacks)])
    loop = _EstimatorEpochs(est, run, batches, validation, w.sum(), incremental)
    loop(f"{type(est).__name__}.{'partial_fit' if incremental else 'fit'}")
    if validation is not None:
        net.flat_params[...] = est._best_params


class _EstimatorEpochs(Epochs):
    """scikit-learn's epochs: the loss weighed by the rows' weights, the loss curve, the
    schedules and the n_iter_no_change stopping, around the same steps as fit's."""

    def __init__(self, est, run, batches, validation, total_weight, incremental):
        super().__init__(run, batches, est._loss, shuffle=est.shuffle, penalty=est._penalty)
        self.est, self.validation, self.total_weight = est, validation, total_weight
        self.incremental = incremental

    def weight(self, X, Yw):
        return float(Yw[:, -1].sum())   # the rows' weights: Yw's last column

    def label(self, epoch):
        return self.est.n_iter_

    def logs(self, epoch, total, weight, rows):
        est = self.est
        est.n_iter_ += 1
        full = rows == self.batches.n
        est.loss_ = total / (self.total_weight if full else weight or 1.0)
        est.t_ += rows
        est.loss_curve_.append(est.loss_)
        logs = {"loss": est.loss_}
        _update_no_improvement(est, self.validation, logs)
        if est.verbose and est.verbose > 1:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        return logs

    def stop_after(self, epoch, logs):
        est, optimizer = self.est, self.run.optimizer
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            optimizer.lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count > est.n_iter_no_change:
            if _stop(est, optimizer):
                return True
            est._no_improvement_count = 0
        return self.incremental

    def completed(self):
        est = self.est
        if not self.incremental and est.n_iter_ >= est.max_iter:
            warn_user(f"Stochastic optimizer: maximum iterations ({est.max_iter}) "
                      "reached and the optimization hasn't converged yet.",
                      ConvergenceWarning)


def _update_no_improvement(est, validation, logs):
    if validation is not None:
        X_val, y_val, w_val = validation
        score = est._score(X_val, y_val, w_val)
        logs["val_score"] = score
        est.validation_scores_.append(score)
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_params = est.network_.flat_params.copy()
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])


def _stop(est, optimizer):
    """True to stop; the adaptive schedule first divides the rate by 5 until it is ≤ 1e-6."""
    if est.solver == "adam" or est.learning_rate != "adaptive":
        return True
    if optimizer.lr <= 1e-6:
        return True
    optimizer.lr /= 5.0
    return False
