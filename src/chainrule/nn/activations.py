"""Activation layers ``A = g(Z)``, each with its backward ``dZ = dA ⊙ g'(Z)``.

All act elementwise except Softmax (over the last axis). Each caches what its
derivative is cheapest to compute from: often the output ``A`` itself
(σ' = A(1 − A), tanh' = 1 − A²). None has parameters. Each line below is one
equation; each class's ``equations`` are what the ledger (``net.trace``) shows.
"""
from __future__ import annotations

import math

import numpy as np

from .checks import number
from .layers import Layer

#: P(t) in erfc(x) = t·e^(−x² + P(t)), t = 1/(1 + x/2), lowest degree first: see erf.
_ERFC_P = (-1.265522578412753, 1.0003552501200226, 0.36942411495853494, 0.13696186983441222,
           -0.43936987486629897, 1.54620113451268, -6.143004063613188, 16.52482366500674,
           -34.2810070222121, 54.81514648465358, -65.2477746113732, 56.642384133859906,
           -35.29290839651152, 15.369054977952512, -4.437760603981829, 0.7614335653220258,
           -0.0584380452494382)


def erf(x):
    """The error function erf(x) = (2/√π) ∫₀ˣ e^(−s²) ds, elementwise, in float64.

    NumPy has no erf. For x ≥ 0, erfc(x) = 1 − erf(x) is written as
    t·e^(−x² + P(t)) with t = 1/(1 + x/2), the form of Numerical Recipes'
    ``erfcc``: as x grows, t → 0 and P(t) → −log(2√π), so P is smooth on
    t ∈ (0, 1]. Here P has degree 16, fitted (least squares at Chebyshev nodes
    of t ∈ [0.25, 1], i.e. x ≤ 6, beyond which erfc < 2e-17) to Python's
    ``math.erfc``; the absolute error is below 2e-13 for every x (tested
    against ``math.erf``). erf(−x) = −erf(x).
    """
    a = np.abs(x, dtype=np.float64)
    t = 1 / (1 + a / 2)
    P = np.full_like(a, _ERFC_P[-1])
    for c in reversed(_ERFC_P[:-1]):   # Horner's rule
        P *= t
        P += c
    return np.sign(x) * (1 - t * np.exp(P - a * a))


def sigmoid(Z):
    """σ(Z) = 1 / (1 + e^(−Z)), for any finite Z without overflow or warnings.

    Computed as exp(−log(1 + e^(−Z))), where ``np.logaddexp(0, −Z)`` is
    log(1 + e^(−Z)) without overflow. Accurate in both tails: σ(−30) ≈ 9.4e-14
    comes out to full relative precision, not as 1 − (1 − 9.4e-14). (The
    shorter exp(Z − log(1 + e^Z)) loses Z·ε near 1, which 1 − σ in the
    backward pass would magnify.)
    """
    return np.exp(-np.logaddexp(0, -Z))


def log_softmax(Z):
    """log softmax(Z) over the last axis: ``Z − max − log Σ_c e^(Z_c − max)``.

    The one log-softmax of chainrule (Softmax, CrossEntropy and the estimators'
    log-loss all use it). Subtracting each row's maximum changes nothing
    mathematically and keeps every exponent ≤ 0, so nothing overflows and the
    log is never taken of a probability that underflowed to 0.
    """
    shifted = Z - Z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Activation(Layer):
    """Base for parameter-free elementwise layers (shape in = shape out)."""


class Identity(Activation):
    """``A = Z``; ``dZ = dA``. The output of a regression network."""

    equations = {"forward": "A = Z", "backward": "dZ = dA"}
    output_range = (-np.inf, np.inf)

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

    equations = {"forward": "A = e^Z", "backward": "dZ = dA ⊙ A"}
    output_range = (0.0, np.inf)

    def forward(self, Z):
        self.A = np.exp(Z)
        return self.A

    def backward(self, dA):
        return dA * self._cached("A")


class Sigmoid(Activation):
    r"""Logistic sigmoid ``A = σ(Z) = 1 / (1 + e^(−Z))``.

    Backward: ``dZ = dA ⊙ A ⊙ (1 − A)``. Caches ``A``.
    Stable for any finite Z (see :func:`sigmoid`).
    """

    equations = {"forward": "A = σ(Z) = 1 / (1 + e^(−Z))",
                 "backward": "dZ = dA ⊙ σ(Z)(1 − σ(Z)) = dA ⊙ A(1 − A)"}
    output_range = (0.0, 1.0)

    def forward(self, Z):
        self.A = sigmoid(Z)
        return self.A

    def backward(self, dA):
        A = self._cached("A")
        return dA * A * (1 - A)


class Tanh(Activation):
    """``A = tanh(Z)``. Backward: ``dZ = dA ⊙ (1 − A²)``. Caches ``A``."""

    equations = {"forward": "A = tanh(Z)", "backward": "dZ = dA ⊙ (1 − A²)"}
    output_range = (-1.0, 1.0)

    def forward(self, Z):
        self.A = np.tanh(Z)
        return self.A

    def backward(self, dA):
        A = self._cached("A")
        return dA * (1 - A * A)


class ReLU(Activation):
    """``A = max(Z, 0)``. Backward: ``dZ = dA ⊙ [Z > 0]``. Caches ``A``.

    ``A > 0`` exactly where ``Z > 0``, so the output is all backward needs.
    At Z = 0 the derivative is taken as 0, as in PyTorch.
    """

    equations = {"forward": "A = max(Z, 0)", "backward": "dZ = dA ⊙ [Z > 0]"}
    output_range = (0.0, np.inf)
    init_before = "he"

    def forward(self, Z):
        self.A = np.maximum(Z, 0)
        return self.A

    def backward(self, dA):
        A = self._cached("A")
        return dA * (A > 0)


class LeakyReLU(Activation):
    """``A = Z`` where Z > 0, else ``α·Z``. Backward: ``dZ = dA ⊙ (1 if Z > 0 else α)``.

    Caches the mask ``Z > 0``. Default α = 0.01, as PyTorch.
    """

    equations = {"forward": "A = Z where Z > 0, else α·Z",
                 "backward": "dZ = dA ⊙ (1 where Z > 0, else α)"}
    output_range = (-np.inf, np.inf)
    init_before = "he"

    def __init__(self, alpha=0.01):
        self.alpha = number("alpha", alpha, at_least=0)

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

    equations = {"forward": "A = Z where Z > 0, else α(e^Z − 1)",
                 "backward": "dZ = dA where Z > 0, else dA ⊙ (A + α)"}
    output_range = (-np.inf, np.inf)
    init_before = "he"

    def __init__(self, alpha=1.0):
        self.alpha = number("alpha", alpha, at_least=0)

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

    equations = {"forward": "A = Z ⊙ Φ(Z)", "backward": "dZ = dA ⊙ (Φ(Z) + Z ⊙ φ(Z))"}
    output_range = (-0.17, np.inf)   # min of z·Φ(z) is about −0.170, at z ≈ −0.75
    init_before = "he"

    def forward(self, Z):
        self.Z = Z
        self.Phi = (0.5 * (1 + erf(Z / math.sqrt(2)))).astype(Z.dtype)
        return Z * self.Phi

    def backward(self, dA):
        Z, Phi = self._cached("Z"), self._cached("Phi")
        phi = np.exp(-Z * Z / 2) / math.sqrt(2 * math.pi)
        return dA * (Phi + Z * phi)


class Softplus(Activation):
    r"""``A = log(1 + e^Z)``, a smooth ReLU. Backward: ``dZ = dA ⊙ σ(Z)``.

    ``np.logaddexp(0, Z)`` computes it without overflow. Caches ``Z``.
    """

    equations = {"forward": "A = log(1 + e^Z)", "backward": "dZ = dA ⊙ σ(Z)"}
    output_range = (0.0, np.inf)

    def forward(self, Z):
        self.Z = Z
        return np.logaddexp(0, Z)

    def backward(self, dA):
        Z = self._cached("Z")
        return dA * sigmoid(Z)


class Softmax(Activation):
    r"""Softmax over the last axis: ``A_ij = e^(Z_ij) / Σ_c e^(Z_ic)``.

    Backward (the Jacobian-vector product, row by row)::

        dZ = A ⊙ (dA − Σ_c (dA ⊙ A)_c)          (n, k)

    Caches ``A``. Computed as e^(log softmax(Z)) (see :func:`log_softmax`),
    which never overflows. Paired with CrossEntropy, training skips this
    backward and uses the fused (A − Y)/n.
    """

    equations = {"forward": "A = softmax(Z) = e^Z / Σ_c e^Z_c",
                 "backward": "dZ = A ⊙ (dA − Σ_c (dA ⊙ A)_c)"}
    output_range = (0.0, 1.0)
    probabilities = True

    def forward(self, Z):
        self.A = np.exp(log_softmax(Z))
        return self.A

    def backward(self, dA):
        A = self._cached("A")
        return A * (dA - (dA * A).sum(axis=-1, keepdims=True))
