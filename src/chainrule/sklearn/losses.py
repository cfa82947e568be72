"""scikit-learn's MLP losses and initial weights, for chainrule networks.

The losses are chainrule Losses (fused with the output activation, so each
starts backpropagation at the canonical ``dZ = w ⊙ (A − Y) / Σ w``) whose
values and gradients follow scikit-learn's MLP: summed over outputs,
(weighted) mean over samples. The L2 penalty is added by the estimator.
"""
from __future__ import annotations

import math

import numpy as np

from ..nn.activations import Exp, Sigmoid, Softmax, log_softmax, sigmoid
from ..nn.losses import Loss, bce_logits

# -- scikit-learn's losses, with sample weights -------------------------------
#
# Targets travel with their weights: the last column of ``Yw`` is the weight
# of each row, so that a mini-batch of (X, Yw) is gathered in one take.


class LogLoss(Loss):
    r"""Softmax cross-entropy, weighted mean over samples.

    ``L = −Σ_i w_i Σ_c Y_ic log A_ic / Σ_i w_i``; on the logits Z:
    ``dZ = w ⊙ (softmax(Z) − Y) / Σ w``.
    """

    fuses_with = Softmax

    def forward_logits(self, Z, Yw):
        Y, w = Yw[:, :-1], Yw[:, -1:]
        log_A = log_softmax(Z)
        self.A, self.Y, self.w = np.exp(log_A), Y, w / w.sum()
        return float(-np.sum(self.w * Y * log_A))

    def backward_logits(self):
        return (self.A - self.Y) * self.w


class BinaryLogLoss(Loss):
    r"""Sigmoid cross-entropy summed over outputs, weighted mean over samples.

    ``L = Σ_i w_i Σ_c [log(1 + e^Z) − Z·Y]_ic / Σ_i w_i``;
    ``dZ = w ⊙ (σ(Z) − Y) / Σ w``.
    """

    fuses_with = Sigmoid

    def forward_logits(self, Z, Yw):
        Y, w = Yw[:, :-1], Yw[:, -1:]
        self.A, self.Y, self.w = sigmoid(Z), Y, w / w.sum()
        return float(np.sum(self.w * bce_logits(Z, Y)))

    def backward_logits(self):
        return (self.A - self.Y) * self.w


class SquaredLoss(Loss):
    r"""Half the squared error summed over outputs, weighted mean over samples.

    ``L = ½ Σ_i w_i ‖A_i − Y_i‖² / Σ_i w_i``; ``dA = w ⊙ (A − Y) / Σ w``.
    (For one output this is scikit-learn's squared_error loss; with several,
    scikit-learn reports the mean over outputs but steps along the sum's
    gradient; chainrule reports the sum, so loss and gradient agree.)
    """

    def forward(self, A, Yw):
        Y, w = Yw[:, :-1], Yw[:, -1:]
        self.diff, self.w = A - Y, w / w.sum()
        return float(0.5 * np.sum(self.w * self.diff ** 2))

    def backward(self):
        return self.diff * self.w


class PoissonLoss(Loss):
    r"""scikit-learn's Poisson loss, summed over outputs, weighted mean over samples.

    ``L = Σ_i w_i Σ_c [Y log(Y/A) − Y + A]_ic / Σ_i w_i`` with ``A = e^Z``;
    on the logits: ``dZ = w ⊙ (e^Z − Y) / Σ w``.
    """

    fuses_with = Exp

    def forward_logits(self, Z, Yw):
        Y, w = Yw[:, :-1], Yw[:, -1:]
        self.A, self.Y, self.w = np.exp(Z), Y, w / w.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            y_log_y = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1)), 0.0)
        return float(np.sum(self.w * (y_log_y - Y * Z - Y + self.A)))

    def backward_logits(self):
        return (self.A - self.Y) * self.w


class GlorotUniform:
    """scikit-learn's initialisation: U(−a, a), a = √(factor / (fan_in + fan_out)).

    A class rather than a closure so that a fitted estimator pickles.
    """

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, n_in, n_out, rng):
        a = math.sqrt(self.factor / (n_in + n_out))
        return rng.uniform(-a, a, (n_in, n_out))
