"""The compiled kernels (numba): each optimizer's update as one fused loop.

This is the only module that imports numba; ``engine.compiled()`` imports it
the first time a problem is big enough, never ``import chainrule``. Each
kernel is the compiled twin of an update rule written in NumPy in
``optimizers.py`` (read the rule there, with its equations): the same
arithmetic in the same dtype, so the two engines agree to rounding.

Every kernel has the same shape. One pass reads the parameters p,
the gradient g and the state, and writes the new state and the new parameters
into separate arrays (``*_new``, ``out``), never into p or the state it read;
the same pass sums ‖g‖² and ‖out‖² in p's dtype, as the NumPy engine's BLAS
dot does (so the guard costs no pass of its own). Only when both sums are
finite does a second pass copy ``out`` into p; the caller then swaps in the
new state, and leaves everything as it was otherwise: a refused step changes
nothing. Returns ``(‖g‖², ‖out‖²)``.

Scalars arrive in p's dtype, so float32 networks compute in float32 (as NumPy
does with Python scalars). fastmath allows reassociation and fused
multiply-add, but not ``nnan``/``ninf``: the finiteness checks must stay.

One thread each, on purpose: see "Threads" in chainrule/engine/__init__.py.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit


FAST = {"reassoc", "contract", "arcp", "nsz"}   # not nnan/ninf: the guard reads NaN and inf
# error_model="numpy": x/0 gives inf as in NumPy, no Python exception, so the loops vectorize.
# nogil: two Python threads may run kernels at once (each on its own arrays).
OPTIONS = dict(fastmath=FAST, error_model="numpy", cache=True, nogil=True)


@njit(**OPTIONS)
def sgd(p, g, out, lr, l2):
    """p ← p − lr·(g + λp)."""
    gg = pp = l2 - l2              # 0 in p's dtype (l2 is finite)
    for i in range(p.size):
        d = g[i] + l2 * p[i]
        q = p[i] - lr * d
        out[i] = q
        gg += g[i] * g[i]
        pp += q * q
    if math.isfinite(gg) and math.isfinite(pp):
        for i in range(p.size):
            p[i] = out[i]
    return gg, pp


@njit(**OPTIONS)
def sgd_momentum(p, g, v, v_new, out, lr, l2, mu, nesterov):
    """v ← μv + (g + λp);  p ← p − lr·(g + λp + μv) if nesterov, else p − lr·v."""
    gg = pp = l2 - l2              # 0 in p's dtype (l2 is finite)
    for i in range(p.size):
        d = g[i] + l2 * p[i]
        b = mu * v[i] + d
        v_new[i] = b
        if nesterov:
            b = d + mu * b
        q = p[i] - lr * b
        out[i] = q
        gg += g[i] * g[i]
        pp += q * q
    if math.isfinite(gg) and math.isfinite(pp):
        for i in range(p.size):
            p[i] = out[i]
    return gg, pp


@njit(**OPTIONS)
def adam(p, g, M, v, M_new, v_new, out, b1, one_minus_b2, b2, l2, keep, c, eps):
    """M ← β₁M + g';  v ← β₂v + (1 − β₂)g'²;  p ← keep·p − c·M/(√v + ε'),  g' = g + λp."""
    gg = pp = l2 - l2              # 0 in p's dtype (l2 is finite)
    for i in range(p.size):
        d = g[i] + l2 * p[i]
        m = b1 * M[i] + d
        s = b2 * v[i] + one_minus_b2 * (d * d)
        M_new[i] = m
        v_new[i] = s
        q = keep * p[i] - c * (m / (np.sqrt(s) + eps))
        out[i] = q
        gg += g[i] * g[i]
        pp += q * q
    if math.isfinite(gg) and math.isfinite(pp):
        for i in range(p.size):
            p[i] = out[i]
    return gg, pp


@njit(**OPTIONS)
def rmsprop(p, g, S, S_new, out, lr, l2, alpha, one_minus_alpha, eps):
    """S ← αS + (1 − α)g'²;  p ← p − lr·g'/(√S + ε)."""
    gg = pp = l2 - l2              # 0 in p's dtype (l2 is finite)
    for i in range(p.size):
        d = g[i] + l2 * p[i]
        s = alpha * S[i] + one_minus_alpha * (d * d)
        S_new[i] = s
        q = p[i] - lr * (d / (np.sqrt(s) + eps))
        out[i] = q
        gg += g[i] * g[i]
        pp += q * q
    if math.isfinite(gg) and math.isfinite(pp):
        for i in range(p.size):
            p[i] = out[i]
    return gg, pp


@njit(**OPTIONS)
def rmsprop_momentum(p, g, S, B, S_new, B_new, out, lr, l2, alpha, one_minus_alpha, eps, mu):
    """S ← αS + (1 − α)g'²;  B ← μB + g'/(√S + ε);  p ← p − lr·B."""
    gg = pp = l2 - l2              # 0 in p's dtype (l2 is finite)
    for i in range(p.size):
        d = g[i] + l2 * p[i]
        s = alpha * S[i] + one_minus_alpha * (d * d)
        S_new[i] = s
        b = mu * B[i] + d / (np.sqrt(s) + eps)
        B_new[i] = b
        q = p[i] - lr * b
        out[i] = q
        gg += g[i] * g[i]
        pp += q * q
    if math.isfinite(gg) and math.isfinite(pp):
        for i in range(p.size):
            p[i] = out[i]
    return gg, pp


@njit(**OPTIONS)
def adagrad(p, g, S, S_new, out, lr, l2, eps):
    """S ← S + g'²;  p ← p − lr·g'/(√S + ε)."""
    gg = pp = l2 - l2              # 0 in p's dtype (l2 is finite)
    for i in range(p.size):
        d = g[i] + l2 * p[i]
        s = S[i] + d * d
        S_new[i] = s
        q = p[i] - lr * (d / (np.sqrt(s) + eps))
        out[i] = q
        gg += g[i] * g[i]
        pp += q * q
    if math.isfinite(gg) and math.isfinite(pp):
        for i in range(p.size):
            p[i] = out[i]
    return gg, pp


def describe():
    """numba's version and where compiled kernels are cached."""
    return {"numba": numba.__version__, "threads": "1 (the kernels are serial; BLAS has its own)",
            "cache": numba.config.CACHE_DIR or "beside the installed module (__pycache__)"}


# -- the loss at the end of a classifier -------------------------------------------------

@njit(**OPTIONS)
def softmax_cross_entropy(Z, y, dZ):
    """Softmax and cross-entropy on the logits, fused: the twin of CrossEntropy's
    ``forward_logits`` and ``backward_logits`` for integer labels y (n,).

    Row by row: m = max Z_i, s = Σ e^(Z_i − m); the loss adds log s + m − Z_iy;
    dZ_i = (e^(Z_i − m)/s − onehot(y_i))/n. Returns the mean loss. Z is not written.
    """
    n, k = Z.shape
    total = 0.0
    inv_n = Z.dtype.type(1.0) / Z.dtype.type(n)
    for i in range(n):
        m = Z[i, 0]
        for c in range(1, k):
            m = max(m, Z[i, c])
        s = Z.dtype.type(0.0)
        for c in range(k):
            e = np.exp(Z[i, c] - m)
            dZ[i, c] = e
            s += e
        scale = inv_n / s
        for c in range(k):
            dZ[i, c] *= scale
        dZ[i, y[i]] -= inv_n
        total += np.log(s) + m - Z[i, y[i]]
    return total / n


@njit(**OPTIONS)
def softmax_cross_entropy_rows(Z, Y, dZ):
    """The same for target rows Y (n, k) of class probabilities (one-hot, smoothed):
    the loss adds log s + m − Σ_c Y_ic Z_ic; dZ_i = (e^(Z_i − m)/s − Y_i)/n."""
    n, k = Z.shape
    total = 0.0
    inv_n = Z.dtype.type(1.0) / Z.dtype.type(n)
    for i in range(n):
        m = Z[i, 0]
        for c in range(1, k):
            m = max(m, Z[i, c])
        s = Z.dtype.type(0.0)
        for c in range(k):
            e = np.exp(Z[i, c] - m)
            dZ[i, c] = e
            s += e
        scale = inv_n / s
        picked = 0.0
        for c in range(k):
            dZ[i, c] = dZ[i, c] * scale - Y[i, c] * inv_n
            picked += Y[i, c] * Z[i, c]
        total += np.log(s) + m - picked
    return total / n
