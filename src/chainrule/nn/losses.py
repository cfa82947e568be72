"""Losses ``L(A, Y)`` and their starting gradients ``dA = ∂L/∂A``.

``forward(A, Y) -> float`` caches what ``backward() -> dA`` needs.

Fused pairs. Softmax followed by CrossEntropy, Sigmoid followed by
BinaryCrossEntropy, and Exp followed by Poisson have a starting gradient with
respect to the logits ``Z`` (the input of that last activation) that is far
simpler than the two steps apart::

    dZ = (A − Y) / m          m = samples (CrossEntropy) or elements (BCE, Poisson)

(each pairs an output with its canonical link: the logit, the log-odds, the
log-rate), and a loss that can be computed from Z without ever taking the
log of an output that underflowed to 0. ``forward_logits(Z, Y)`` and
``backward_logits()`` implement that path; a network whose last layer is
``fuses_with`` uses it in training.
"""
from __future__ import annotations

import numpy as np

from .activations import Exp, Sigmoid, Softmax, log_softmax, sigmoid
from .checks import number


class Loss:
    """Base class. ``prepare`` checks and converts targets once, before training."""

    fuses_with = None
    #: ``{"loss": "L = …", "gradient": "dA = …"}``, shown by the ledger (``net.trace``).
    equations: dict = {}
    #: With ``fuses_with``: the loss on the logits Z, the starting gradient dZ, and why it is
    #: so simple (``{"loss": …, "gradient": …, "why": …}``).
    fused_equations: dict = {}

    def prepare(self, Y, n_out, dtype):
        """Targets as this loss wants them for a network with ``n_out`` outputs.

        Raises ValueError naming the problem when they do not fit.
        """
        Y = np.asarray(Y)
        if Y.ndim == 1 and n_out == 1:
            Y = Y.reshape(-1, 1)
        if Y.ndim != 2 or Y.shape[1] != n_out:
            raise ValueError(f"y has shape {Y.shape}, but the network has {n_out} output(s): "
                             f"expected ({Y.shape[0]}, {n_out})" + (" or (n,)" if n_out == 1 else ""))
        return Y.astype(dtype, copy=False)

    def _cached(self, name):
        value = self.__dict__.get(name)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward")
        return value

    def rows(self, A, Y):
        """The loss of each row, shape (n,), whose mean is ``forward(A, Y)``.

        Used for sample and class weights: every loss here is a mean over rows,
        so weighting row i by w_i scales row i of dA by w_i (see training.py).
        """
        raise NotImplementedError(f"{type(self).__name__} does not support sample weights")

    def __repr__(self):
        return f"{type(self).__name__}()"


class MSE(Loss):
    r"""Mean squared error over all elements (torch ``MSELoss``).

    ``L = (1/m) Σ (A − Y)²`` with m = A.size; ``dA = 2 (A − Y) / m``.
    A and Y of shape (n, n_out). Caches ``A − Y``.
    """

    equations = {"loss": "L = (1/m) Σ (A − Y)²", "gradient": "dA = 2(A − Y) / m"}

    def forward(self, A, Y):
        self.diff = A - Y
        return float(np.vdot(self.diff, self.diff)) / self.diff.size

    def backward(self):
        diff = self._cached("diff")
        return diff * (2.0 / diff.size)

    def rows(self, A, Y):
        return ((A - Y) ** 2).mean(axis=1)


class MAE(Loss):
    r"""Mean absolute error over all elements (torch ``L1Loss``).

    ``L = (1/m) Σ |A − Y|`` with m = A.size; ``dA = sign(A − Y) / m``
    (0 where A = Y, the subgradient PyTorch uses). A and Y of shape
    (n, n_out). Caches ``A − Y``. Less swayed by outliers than MSE.
    """

    equations = {"loss": "L = (1/m) Σ |A − Y|", "gradient": "dA = sign(A − Y) / m"}

    def forward(self, A, Y):
        self.diff = A - Y
        return float(np.abs(self.diff).mean())

    def backward(self):
        diff = self._cached("diff")
        return np.sign(diff) / diff.size

    def rows(self, A, Y):
        return np.abs(A - Y).mean(axis=1)


class Huber(Loss):
    r"""Huber loss, mean over all elements (torch ``HuberLoss``).

    Quadratic near the target, linear beyond ``delta``; with d = A − Y::

        ℓ(d) = d²/2              if |d| < δ
             = δ·(|d| − δ/2)     otherwise
        L = (1/m) Σ ℓ(d)         dA = clip(d, −δ, δ) / m

    A and Y of shape (n, n_out). Caches d.
    """

    equations = {"loss": "L = (1/m) Σ ℓ(A − Y),  ℓ(d) = d²/2 if |d| < δ else δ(|d| − δ/2)",
                 "gradient": "dA = clip(A − Y, −δ, δ) / m"}

    def __init__(self, delta=1.0):
        self.delta = number("delta", delta, greater_than=0)

    def _elementwise(self, d):
        a = np.abs(d)
        return np.where(a < self.delta, 0.5 * d * d, self.delta * (a - 0.5 * self.delta))

    def forward(self, A, Y):
        self.diff = A - Y
        return float(self._elementwise(self.diff).mean())

    def backward(self):
        diff = self._cached("diff")
        return np.clip(diff, -self.delta, self.delta) / diff.size

    def rows(self, A, Y):
        return self._elementwise(A - Y).mean(axis=1)

    def __repr__(self):
        return f"Huber(delta={self.delta!r})"


class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy on probabilities, mean over all elements (torch ``BCELoss``).

    ``L = −(1/m) Σ [Y log A + (1 − Y) log(1 − A)]``, each log clamped at −100
    as PyTorch does, so A = 0 or 1 gives a large finite loss, not inf.

    ``dA = (A − Y) / (A (1 − A)) / m``, the denominator kept ≥ 1e-12 (PyTorch's
    clamp). Y may hold soft targets in [0, 1]. Caches A and Y.

    After a Sigmoid, training uses the fused form on the logits Z:
    ``L = (1/m) Σ [log(1 + e^Z) − Z·Y]``, ``dZ = (σ(Z) − Y) / m``.
    """

    equations = {"loss": "L = −(1/m) Σ [Y log A + (1 − Y) log(1 − A)]",
                 "gradient": "dA = (A − Y) / (A(1 − A)) / m"}
    fused_equations = {
        "loss": "L = −(1/m) Σ [Y log A + (1 − Y) log(1 − A)] = (1/m) Σ [log(1 + e^Z) − Z·Y]",
        "gradient": "dZ = (A − Y) / m",
        "why": "sigmoid + binary cross-entropy, fused: dA = (A − Y) / (A(1 − A)) / m times "
               "σ'(Z) = A(1 − A) leaves dZ = (A − Y) / m"}

    fuses_with = Sigmoid

    def prepare(self, Y, n_out, dtype):
        Y = super().prepare(Y, n_out, dtype)
        if Y.size and (Y.min() < 0 or Y.max() > 1):
            bad = Y[(Y < 0) | (Y > 1)][0]
            raise ValueError(f"BinaryCrossEntropy needs targets in [0, 1] (labels 0 and 1), "
                             f"found {bad:g}")
        return Y

    def forward(self, A, Y):
        self.A, self.Y = A, Y
        with np.errstate(divide="ignore"):  # log(0) = −inf, clamped next
            log_a = np.maximum(np.log(A), -100.0)
            log_1a = np.maximum(np.log1p(-A), -100.0)
        return float(-(Y * log_a + (1.0 - Y) * log_1a).sum()) / A.size

    def backward(self):
        A, Y = self._cached("A"), self._cached("Y")
        return (A - Y) / np.maximum(A * (1.0 - A), 1e-12) / A.size

    def forward_logits(self, Z, Y):
        self.Y = Y
        self.A = sigmoid(Z)            # backward_logits uses A − Y
        L = bce_logits(Z, Y)
        return float(L.sum()) / L.size

    def rows(self, A, Y):
        with np.errstate(divide="ignore"):
            log_a = np.maximum(np.log(A), -100.0)
            log_1a = np.maximum(np.log1p(-A), -100.0)
        return -(Y * log_a + (1.0 - Y) * log_1a).mean(axis=1)

    def rows_logits(self, Z, Y):
        return bce_logits(Z, Y).mean(axis=1)

    def backward_logits(self):
        A, Y = self._cached("A"), self._cached("Y")
        return (A - Y) / A.size


class CrossEntropy(Loss):
    r"""Categorical cross-entropy on softmax probabilities, mean over samples.

    Equals torch ``CrossEntropyLoss`` applied to the logits before the softmax.
    Targets: integer classes of shape (n,) in [0, k), or rows of class
    probabilities / one-hot of shape (n, k).

    ``L = −(1/n) Σ_i Σ_c Y_ic log A_ic``; ``dA = −Y / A / n`` (A clamped to the
    smallest positive normal number so a probability that underflowed to 0
    gives a finite, huge gradient rather than inf).

    After a Softmax, training uses the fused form on the logits Z:
    ``L = −(1/n) Σ_i Σ_c Y_ic log_softmax(Z)_ic``, ``dZ = (softmax(Z) − Y) / n``.

    Label smoothing ε (torch's ``label_smoothing``): the target rows become
    ``Y' = (1 − ε)·Y + ε/k`` (Y one-hot for labels), done once in ``prepare``;
    the equations above then hold with Y' for Y (Szegedy et al., 2016).
    """

    equations = {"loss": "L = −(1/n) Σ_i Σ_c Y_ic log A_ic", "gradient": "dA = −Y / A / n"}
    fused_equations = {
        "loss": "L = −(1/n) Σ_i Σ_c Y_ic log A_ic = −(1/n) Σ_i Σ_c Y_ic log_softmax(Z)_ic",
        "gradient": "dZ = (A − Y) / n",
        "why": "softmax + cross-entropy, fused: dA = −Y / A / n through the softmax Jacobian "
               "dZ = A ⊙ (dA − Σ_c (dA ⊙ A)_c) leaves (A − Y) / n, since each row of Y sums to 1"}

    fuses_with = Softmax

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = number("label_smoothing", label_smoothing, at_least=0, at_most=1)

    def __repr__(self):
        if self.label_smoothing:
            return f"CrossEntropy(label_smoothing={self.label_smoothing!r})"
        return "CrossEntropy()"

    def prepare(self, Y, n_out, dtype):
        Y = np.asarray(Y)
        if n_out < 2:
            raise ValueError(f"CrossEntropy needs an output of at least 2 units (one per class), "
                             f"the network has {n_out}: use BinaryCrossEntropy after Sigmoid for "
                             "two classes with one output")
        if Y.ndim == 2 and Y.shape[1] == 1:
            Y = Y.ravel()
        if Y.ndim == 1:
            if Y.dtype.kind == "f":
                if not np.all(np.round(Y) == Y):
                    raise ValueError("CrossEntropy labels of shape (n,) must be whole class "
                                     f"numbers, found {Y[np.round(Y) != Y][0]:g}")
            elif Y.dtype.kind not in "iub":
                raise TypeError(f"CrossEntropy labels must be integers, got dtype {Y.dtype}")
            if Y.size and (Y.min() < 0 or Y.max() >= n_out):
                bad = Y[(Y < 0) | (n_out <= Y)][0]
                raise ValueError(f"class label {bad} is outside the network's output width: "
                                 f"labels must be in [0, {n_out - 1}] for {n_out} outputs")
            Y = Y.astype(np.intp)
            if not self.label_smoothing:
                return Y
            Y = np.eye(n_out, dtype=dtype)[Y]
        if Y.ndim != 2 or Y.shape[1] != n_out:
            raise ValueError(f"y has shape {Y.shape}: expected class labels of shape (n,) or "
                             f"one-hot rows of shape (n, {n_out})")
        sums = Y.sum(axis=1)
        if Y.min() < 0 or not np.allclose(sums, 1.0, atol=1e-6):
            row = int(np.argmax((Y < 0).any(axis=1) | ~np.isclose(sums, 1.0, atol=1e-6)))
            raise ValueError(f"CrossEntropy targets of shape (n, k) must be one-hot or class "
                             f"probabilities (non-negative, each row summing to 1); row {row} "
                             f"sums to {sums[row]:g}")
        if self.label_smoothing:
            eps = self.label_smoothing
            return ((1.0 - eps) * Y + eps / n_out).astype(dtype)
        return Y.astype(dtype, copy=False)

    def forward(self, A, Y):
        self.A, self.Y = A, Y
        return float(self.rows(A, Y).sum()) / len(A)

    def backward(self):
        A, Y = self._cached("A"), self._cached("Y")
        n, tiny = len(A), np.finfo(A.dtype).tiny
        if Y.ndim == 1:
            Y = _one_hot(Y, A.shape[1], A.dtype)
        return -Y / (np.maximum(A, tiny) * n)

    def forward_logits(self, Z, Y):
        self.Y = Y
        log_A = log_softmax(Z)
        self.A = np.exp(log_A)         # backward_logits uses A − Y
        return -float(_picked(log_A, Y).sum()) / len(Z)

    def backward_logits(self):
        A, Y = self._cached("A"), self._cached("Y")
        if Y.ndim == 1:
            Y = _one_hot(Y, A.shape[1], A.dtype)
        return (A - Y) / len(A)

    def rows(self, A, Y):
        return -_picked(np.log(np.maximum(A, np.finfo(A.dtype).tiny)), Y)

    def rows_logits(self, Z, Y):
        return -_picked(log_softmax(Z), Y)


class Poisson(Loss):
    r"""Poisson negative log-likelihood of counts, mean over all elements.

    For a count y with rate λ, −log P(y | λ) = λ − y·log λ + log y!; the last
    term does not depend on the network and is left out, as torch
    ``PoissonNLLLoss`` (``full=False``) does. The network outputs the rate
    A = λ > 0 (an ``Exp`` output: A = e^Z, Z the log-rate)::

        L = (1/m) Σ (A − Y·log A)            m = A.size
        dA = (1 − Y / A) / m

    A and Y of shape (n, n_out); Y ≥ 0 (counts, or rates: whole numbers are
    not required). log A and Y / A use A clamped to the smallest positive
    normal number, so an output that underflowed to 0 gives a huge finite
    loss rather than inf. Caches A and Y.

    After an Exp, training uses the fused form on the log-rate Z, equal to
    torch ``PoissonNLLLoss(log_input=True)``::

        L = (1/m) Σ (e^Z − Y·Z)              dZ = (e^Z − Y) / m = (A − Y) / m

    (the log link is the Poisson's canonical link: dA·A = 1 − Y/A times A).
    """

    equations = {"loss": "L = (1/m) Σ (A − Y·log A)", "gradient": "dA = (1 − Y / A) / m"}
    fused_equations = {
        "loss": "L = (1/m) Σ (A − Y·log A) = (1/m) Σ (e^Z − Y·Z)",
        "gradient": "dZ = (A − Y) / m",
        "why": "exp + Poisson, fused: dA = (1 − Y / A) / m times e^Z = A leaves "
               "dZ = (A − Y) / m, and log A = Z is never computed from A"}

    fuses_with = Exp

    def prepare(self, Y, n_out, dtype):
        Y = super().prepare(Y, n_out, dtype)
        if Y.size and Y.min() < 0:
            raise ValueError(f"Poisson needs targets >= 0 (counts or rates), found {Y.min():g}")
        return Y

    def forward(self, A, Y):
        self.A, self.Y = A, Y
        return float((A - Y * _clamped_log(A)).sum()) / A.size

    def backward(self):
        A, Y = self._cached("A"), self._cached("Y")
        return (1.0 - Y / np.maximum(A, np.finfo(A.dtype).tiny)) / A.size

    def forward_logits(self, Z, Y):
        self.Y = Y
        self.A = np.exp(Z)             # backward_logits uses A − Y
        return float((self.A - Y * Z).sum()) / Z.size

    def backward_logits(self):
        A, Y = self._cached("A"), self._cached("Y")
        return (A - Y) / A.size

    def rows(self, A, Y):
        return (A - Y * _clamped_log(A)).mean(axis=1)

    def rows_logits(self, Z, Y):
        return (np.exp(Z) - Y * Z).mean(axis=1)


def bce_logits(Z, Y):
    """Binary cross-entropy of each element from the logits: ``log(1 + e^Z) − Z·Y``.

    Equal to −[Y log σ(Z) + (1 − Y) log(1 − σ(Z))]; ``np.logaddexp(0, Z)`` is
    log(1 + e^Z) without overflow, and the difference is taken elementwise
    (ΣL − ΣZ·Y apart would cancel badly near a loss of 0).
    """
    return np.logaddexp(0, Z) - Z * Y


def _clamped_log(A):
    """log A with A ≥ the smallest positive normal number: finite where A underflowed to 0."""
    return np.log(np.maximum(A, np.finfo(A.dtype).tiny))


def _picked(log_A, Y):
    """``Σ_c Y_ic log A_ic`` for each row i: with labels, ``log A_i,y_i``."""
    if Y.ndim == 1:
        return log_A[np.arange(len(Y)), Y]
    return (Y * log_A).sum(axis=1)


def _one_hot(y, k, dtype):
    """Labels (n,) as one-hot rows (n, k)."""
    return np.eye(k, dtype=dtype)[y]
