"""What follows a Dense layer's matrix product, in NumPy: the twins of the fused epilogues.

A Dense layer and the activation after it are, in the textbook (``nn/``), two
layers and five passes over memory: ``Z = X·W + b`` (the product, then the bias
add), ``A = g(Z)``; backward ``dZ = dA ⊙ g'(·)`` and ``db = Σ_rows dZ``. The
compiled engine (``kernels.bias_activation`` and ``kernels.activation_backward``)
runs everything but the product as one loop each way. These functions are their
NumPy twins: the same arithmetic, operation by operation (in place, into the
caller's arrays), so tests can hold the kernels to them and them to the layers.

Shapes: ``Z``, ``A``, ``dA``, ``dZ`` (n, n_out); ``b``, ``db`` (n_out,).

``bias_activation(Z, b, kind, alpha, A)``
    ``Z ← Z + b`` and ``A = g(Z)``. ``A`` may be ``Z`` itself (then Z is
    overwritten by A), except for GELU, whose backward needs Z.
``activation_backward(dA, A, Z, kind, alpha, dZ, db)``
    ``dZ = dA ⊙ g'(·)`` from what forward kept (A; Z for GELU), ``db = Σ_rows dZ``.
    ``dZ`` may be ``dA`` (in place). For IDENTITY, dZ is dA: nothing is written
    into dZ, only db. Returns nothing (as the kernel).

What backward reads, per activation (the cache of the layer it replaces):
ReLU ``dA ⊙ [A > 0]`` (A > 0 exactly where Z > 0); leaky ReLU with α ≥ 0 the
same test (α·Z ≤ 0 where Z ≤ 0); sigmoid ``dA ⊙ A(1 − A)``; tanh ``dA ⊙ (1 − A²)``;
GELU ``dA ⊙ (Φ(Z) + Z·φ(Z))`` from Z (Φ recomputed; the layer caches it).

This module imports no numba: the step kinds are defined here, and the kernels
import them.
"""
from __future__ import annotations

import math

import numpy as np

from ..nn.activations import erf

#: Step kinds, shared with kernels.forward_rows's plans and the fused step.
DENSE, IDENTITY, RELU, SIGMOID, TANH, SOFTMAX, LEAKY_RELU, GELU = range(8)

#: The kinds an epilogue applies after a Dense layer's product.
EPILOGUES = (IDENTITY, RELU, SIGMOID, TANH, LEAKY_RELU, GELU)


def _Phi(Z):
    """Φ(Z) = ½(1 + erf(Z/√2)) in Z's dtype, as GELU computes it."""
    return (0.5 * (1 + erf(Z / math.sqrt(2)))).astype(Z.dtype, copy=False)


def bias_activation(Z, b, kind, alpha, A):
    """Z ← Z + b, then A = g(Z) (see the module's docstring); returns A."""
    Z += b                                           # Z = X·W + b
    if kind == IDENTITY:
        if A is not Z:
            np.copyto(A, Z)
    elif kind == RELU:                               # A = max(Z, 0)
        np.maximum(Z, 0, out=A)
    elif kind == SIGMOID:                            # A = e^(−log(1 + e^(−Z))), no overflow
        np.negative(Z, out=A)
        np.logaddexp(0, A, out=A)
        np.negative(A, out=A)
        np.exp(A, out=A)
    elif kind == TANH:
        np.tanh(Z, out=A)
    elif kind == LEAKY_RELU:                         # A = Z where Z > 0, else α·Z
        if A is not Z:
            np.copyto(A, Z)
        np.multiply(A, A.dtype.type(alpha), out=A, where=~(A > 0))
    elif kind == GELU:                               # A = Z ⊙ Φ(Z)
        np.multiply(Z, _Phi(Z), out=A)
    else:
        raise ValueError(f"kind must be one of the epilogues {EPILOGUES}, got {kind!r}")
    return A


def activation_backward(dA, A, Z, kind, alpha, dZ, db):
    """dZ = dA ⊙ g'(·), db = Σ_rows dZ (see the module's docstring)."""
    if kind == IDENTITY:                             # dZ = dA
        dZ = dA
    elif kind == RELU:                               # dZ = dA ⊙ [Z > 0]
        np.multiply(dA, A > 0, out=dZ)
    elif kind == SIGMOID:                            # dZ = dA ⊙ A(1 − A)
        one_minus = 1 - A
        np.multiply(dA, A, out=dZ)
        dZ *= one_minus
    elif kind == TANH:                               # dZ = dA ⊙ (1 − A²)
        np.multiply(dA, 1 - A * A, out=dZ)
    elif kind == LEAKY_RELU:                         # dZ = dA where Z > 0, else α·dA
        mask = A > 0
        if dZ is not dA:
            np.copyto(dZ, dA)
        np.multiply(dZ, dZ.dtype.type(alpha), out=dZ, where=~mask)
    elif kind == GELU:                               # dZ = dA ⊙ (Φ(Z) + Z ⊙ φ(Z))
        phi = np.exp(-Z * Z / 2) / math.sqrt(2 * math.pi)
        np.multiply(dA, _Phi(Z) + Z * phi, out=dZ)
    else:
        raise ValueError(f"kind must be one of the epilogues {EPILOGUES}, got {kind!r}")
    dZ.sum(axis=0, out=db)                           # db = Σ_rows dZ
