"""Activation layers ``A = g(Z)``, each with its backward ``dZ = dA ⊙ g'(Z)``.

All act elementwise except Softmax (over the last axis). Each caches what its
derivative is cheapest to compute from: often the output ``A`` itself
(σ' = A(1 − A), tanh' = 1 − A²). None has parameters.
"""
from __future__ import annotations

import math

import numpy as np

from .layers import Layer

try:  # SciPy's erf and expit are vectorised C; without SciPy, NumPy fallbacks below
    from scipy.special import erf as _erf, expit as _expit
except ImportError:  # pragma: no cover - exercised only where scipy is absent
    _expit = None
    _erf_scalar = np.vectorize(math.erf, otypes=[np.float64])

    def _erf(x):
        return _erf_scalar(x).astype(x.dtype, copy=False)


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)) \
            or not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    return float(alpha)


class Activation(Layer):
    """Base for parameter-free elementwise layers (shape in = shape out)."""

    def _dZ(self, dA):
        return self._scratch("dZ", dA.shape, dA.dtype)


class Identity(Activation):
    """``A = Z``; ``dZ = dA``. The output of a regression network."""

    def forward(self, Z):
        self.Z = Z
        return Z

    def backward(self, dA):
        self._cached("Z")
        return dA


class Exp(Activation):
    """``A = e^Z``; ``dZ = dA ⊙ A``. Caches ``A``.

    The output of a Poisson regression: a positive rate, whose canonical
    loss (the Poisson deviance) starts backpropagation at ``dZ = (A − Y)/n``.
    """

    def forward(self, Z):
        self.A = np.exp(Z, out=self._scratch("A", Z.shape, Z.dtype))
        return self.A

    def backward(self, dA):
        return np.multiply(dA, self._cached("A"), out=self._dZ(dA))


def sigmoid(Z, out=None):
    """σ(Z) = 1 / (1 + e^(−Z)), for any finite Z without overflow or warnings.

    Accurate in both tails: σ(−30) ≈ 9.4e-14 comes out to full relative
    precision, not as 1 − (1 − 9.4e-14), and near 1 the error stays within
    rounding. With SciPy installed this is ``scipy.special.expit``, one
    vectorised pass (about 5x faster); without, the same values to rounding
    from four NumPy passes, exp(−log(1 + e^(−Z))), where ``np.logaddexp(0, −Z)``
    is log(1 + e^(−Z)) without overflow. (The shorter exp(Z − log(1 + e^Z))
    loses Z·ε near 1, which 1 − σ in the backward pass would magnify.)
    """
    if _expit is not None and Z.dtype.char in "fd":  # expit has no float16 loop: it would upcast
        return _expit(Z, out=out)
    A = np.negative(Z, out=out)
    np.logaddexp(0.0, A, out=A)
    np.negative(A, out=A)
    np.exp(A, out=A)
    return A


class Sigmoid(Activation):
    r"""Logistic sigmoid ``A = σ(Z) = 1 / (1 + e^(−Z))``.

    Backward: ``dZ = dA ⊙ A ⊙ (1 − A)``. Caches ``A``.
    Stable for any finite Z (see :func:`sigmoid`).
    """

    def forward(self, Z):
        self.A = sigmoid(Z, out=self._scratch("A", Z.shape, Z.dtype))
        return self.A

    def backward(self, dA):
        A = self._cached("A")
        dZ = np.subtract(1.0, A, out=self._dZ(dA))
        dZ *= A
        dZ *= dA
        return dZ


class Tanh(Activation):
    """``A = tanh(Z)``. Backward: ``dZ = dA ⊙ (1 − A²)``. Caches ``A``."""

    def forward(self, Z):
        self.A = np.tanh(Z, out=self._scratch("A", Z.shape, Z.dtype))
        return self.A

    def backward(self, dA):
        A = self._cached("A")
        dZ = np.multiply(A, A, out=self._dZ(dA))
        np.subtract(1.0, dZ, out=dZ)
        dZ *= dA
        return dZ


class ReLU(Activation):
    """``A = max(Z, 0)``. Backward: ``dZ = dA ⊙ [Z > 0]``. Caches ``A``.

    ``A > 0`` exactly where ``Z > 0``, so the output is all backward needs.
    At Z = 0 the derivative is taken as 0, as in PyTorch.
    """

    def forward(self, Z):
        # inside fit, max(Z, 0) against a reused array of zeros: NumPy's vectorised loop
        # wants both operands contiguous, about 3x faster than the scalar 0 at batch sizes
        zero = self._filled(0, Z.shape, Z.dtype) if self._reuse else 0
        self.A = np.maximum(Z, zero, out=self._scratch("A", Z.shape, Z.dtype))
        return self.A

    def backward(self, dA):
        A = self._cached("A")
        return np.multiply(dA, A > 0, out=self._dZ(dA))


class LeakyReLU(Activation):
    """``A = Z`` where Z > 0, else ``α·Z``. Backward: ``dZ = dA ⊙ (1 if Z > 0 else α)``.

    Caches the mask ``Z > 0``. Default α = 0.01, as PyTorch.
    """

    def __init__(self, alpha=0.01):
        self.alpha = _check_alpha(alpha)

    def forward(self, Z):
        self.mask = Z > 0
        return np.where(self.mask, Z, self.alpha * Z)

    def backward(self, dA):
        mask = self._cached("mask")
        return np.where(mask, dA, self.alpha * dA)

    def config(self):
        return {"alpha": self.alpha}


class ELU(Activation):
    """``A = Z`` where Z > 0, else ``α(e^Z − 1)``.

    Backward: ``dZ = dA`` where Z > 0, else ``dA ⊙ α e^Z = dA ⊙ (A + α)``.
    Caches ``A`` and the mask ``Z > 0``. Default α = 1, as PyTorch.
    """

    def __init__(self, alpha=1.0):
        self.alpha = _check_alpha(alpha)

    def forward(self, Z):
        self.mask = Z > 0
        # expm1 of min(Z, 0): exact near 0 and never overflows on the branch not taken
        self.A = np.where(self.mask, Z, self.alpha * np.expm1(np.minimum(Z, 0)))
        return self.A

    def backward(self, dA):
        mask, A = self._cached("mask"), self._cached("A")
        return np.where(mask, dA, dA * (A + self.alpha))

    def config(self):
        return {"alpha": self.alpha}


class GELU(Activation):
    r"""Gaussian error linear unit, exact form (PyTorch's default).

    ``A = Z ⊙ Φ(Z)``, with Φ(z) = ½(1 + erf(z/√2)) the standard normal CDF.
    Backward: ``dZ = dA ⊙ (Φ(Z) + Z ⊙ φ(Z))``, φ(z) = e^(−z²/2)/√(2π) the density.
    Caches ``Z`` and ``Φ(Z)``.
    """

    def forward(self, Z):
        self.Z = Z
        erf = _erf(Z * (1 / math.sqrt(2.0))).astype(Z.dtype, copy=False)  # SciPy: no float16 loop
        self.Phi = 0.5 * (1.0 + erf)
        return Z * self.Phi

    def backward(self, dA):
        Z, Phi = self._cached("Z"), self._cached("Phi")
        phi = np.exp(-0.5 * Z * Z) * (1 / math.sqrt(2 * math.pi))
        return dA * (Phi + Z * phi)


class Softplus(Activation):
    r"""``A = log(1 + e^Z)``, a smooth ReLU. Backward: ``dZ = dA ⊙ σ(Z)``.

    ``np.logaddexp(0, Z)`` computes it without overflow. Caches ``Z``.
    """

    def forward(self, Z):
        self.Z = Z
        return np.logaddexp(0.0, Z)

    def backward(self, dA):
        Z = self._cached("Z")
        return dA * sigmoid(Z)


def row_max(Z):
    """The largest entry of each row of Z (n, k), shape (n, 1).

    NumPy reduces along a short last axis one row at a time; with few
    columns (a classifier's classes) and more than a handful of rows, reducing
    the rows of a transposed copy runs 3x (128 rows) to 8x (10,000) faster.
    """
    if Z.ndim != 2 or Z.shape[1] > 64 or Z.shape[0] < 16:
        return np.maximum.reduce(Z, axis=-1, keepdims=True)
    return np.maximum.reduce(np.ascontiguousarray(Z.T), axis=0)[:, None]


def row_sum(A):
    """The sum of each row of A (n, k), shape (n, 1), as the product A·1 by BLAS:
    several times faster than NumPy's reduction along a short last axis."""
    if A.ndim != 2:
        return np.add.reduce(A, axis=-1, keepdims=True)
    return np.dot(A, np.ones(A.shape[1], A.dtype))[:, None]


class Softmax(Activation):
    r"""Softmax over the last axis: ``A_ij = e^(Z_ij) / Σ_c e^(Z_ic)``.

    Backward (the Jacobian-vector product, row by row)::

        dZ = A ⊙ (dA − Σ_c (dA ⊙ A)_c)          (n, k)

    Caches ``A``. Subtracting each row's maximum before exponentiating changes
    nothing mathematically and keeps every exponent ≤ 0. Paired with
    CrossEntropy, training skips this backward and uses the fused (A − Y)/n.
    """

    def forward(self, Z):
        A = np.subtract(Z, row_max(Z), out=self._scratch("A", Z.shape, Z.dtype))
        np.exp(A, out=A)
        A /= row_sum(A)
        self.A = A
        return A

    def backward(self, dA):
        A = self._cached("A")
        dZ = np.multiply(dA, A, out=self._dZ(dA))
        np.subtract(dA, row_sum(dZ), out=dZ)
        dZ *= A
        return dZ
