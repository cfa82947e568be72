"""The compiled kernels (numba): each optimizer's update, softmax + cross-entropy, the
epilogues of a Dense layer (bias and activation, forward and backward) and a few-row
forward pass, each as one fused loop.

This is the only module that imports numba; chainrule.engine imports it when
the kernels pay (never ``import chainrule``). Each kernel is the compiled twin
of NumPy code elsewhere (an optimizer's ``_rule`` in ``optimizers.py``,
``CrossEntropy.forward_logits``/``backward_logits``, ``epilogues.py``, ``Sequential.forward``;
read the equations there): the same arithmetic in the same dtype, so the two
engines agree to rounding.

Every optimizer kernel is called twice a step, over the flat parameters p,
the gradient g and the state arrays. The first call only reads: it computes
each new weight and sums ‖g‖² and ‖p_new‖² in p's dtype, as the NumPy
engine's BLAS dot does. Only when both sums are finite (decided in Python) is
it called again to compute the same values and write them, weights and state,
in place; otherwise nothing is written, so a refused step changes nothing.
Measured on the epoch benchmark's 235 k parameters, this beats computing once
into separate arrays and copying them in (0.28 against 0.36 ms hot,
0.32-0.40 against 0.50 ms with cold caches): writes to fresh arrays cost a
read of each line too, and there are fewer arrays to keep in cache. A single
pass that keeps a copy of p, writes p in place and the new state into spare
arrays (copying the weights back when refused) was faster alone (107 against
151 µs hot) but not in the epoch, where its seven arrays leave the caches to
the four of these passes: 1.03, 1.04 and 0.99 times their epoch (three
interleaved runs, 20,000 rows, one BLAS thread, 2026-12-07).

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

from .epilogues import DENSE, GELU, IDENTITY, LEAKY_RELU, RELU, SIGMOID, SOFTMAX, TANH

FAST = {"reassoc", "contract", "arcp", "nsz"}   # not nnan/ninf: the guard reads NaN and inf
# error_model="numpy": x/0 gives inf as in NumPy, no Python exception, so the loops vectorize.
# nogil: two Python threads may run kernels at once (each on its own arrays).
OPTIONS = dict(fastmath=FAST, error_model="numpy", cache=True, nogil=True)


# Each optimizer: its rule for one element (``_*_rule``: the new state and the new weight q),
# and its kernel ``f(p, g, *state, *scalars, write)``. (One driver taking the rule as a
# first-class function argument measured ~10% slower, 0.44 against 0.49-0.52 ms per Adam
# step with cold caches, so each kernel writes out its two loops.) p, g and the state arrays are flat,
# shape (n,), all of p's dtype; the scalars too. With write=False the kernel only reads and
# returns (‖g‖², ‖q‖²); with write=True it writes q into p and the new state in place (and
# returns zeros). The caller decides between the two calls, in Python, so no fastmath flag
# can touch the finiteness test.
RULE = dict(OPTIONS, inline="always")


@njit(**RULE)
def _sgd_rule(p, g, lr, l2):
    """p ← p − lr·(g + λp)."""
    return p - lr * (g + l2 * p)


@njit(**OPTIONS)
def sgd(p, g, lr, l2, write):
    gg = pp = l2 - l2              # 0 in p's dtype (l2 is finite)
    for i in range(p.size):
        q = _sgd_rule(p[i], g[i], lr, l2)
        if write:
            p[i] = q
        else:
            gg += g[i] * g[i]
            pp += q * q
    return gg, pp


@njit(**RULE)
def _momentum_rule(p, g, v, lr, l2, mu, nesterov):
    """v ← μv + (g + λp);  p ← p − lr·(g + λp + μv) if nesterov, else p − lr·v."""
    d = g + l2 * p
    b = mu * v + d
    return b, p - lr * (d + mu * b if nesterov else b)


@njit(**OPTIONS)
def sgd_momentum(p, g, v, lr, l2, mu, nesterov, write):
    gg = pp = l2 - l2
    for i in range(p.size):
        b, q = _momentum_rule(p[i], g[i], v[i], lr, l2, mu, nesterov)
        if write:
            v[i], p[i] = b, q
        else:
            gg += g[i] * g[i]
            pp += q * q
    return gg, pp


@njit(**RULE)
def _adam_rule(p, g, M, v, b1, one_minus_b2, b2, l2, keep, c, eps):
    """M ← β₁M + g';  v ← β₂v + (1 − β₂)g'²;  p ← keep·p − c·M/(√v + ε'),  g' = g + λp."""
    d = g + l2 * p
    m = b1 * M + d
    s = b2 * v + one_minus_b2 * (d * d)
    return m, s, keep * p - c * (m / (np.sqrt(s) + eps))


@njit(**OPTIONS)
def adam(p, g, M, v, b1, one_minus_b2, b2, l2, keep, c, eps, write):
    gg = pp = l2 - l2
    for i in range(p.size):
        m, s, q = _adam_rule(p[i], g[i], M[i], v[i], b1, one_minus_b2, b2, l2, keep, c, eps)
        if write:
            M[i], v[i], p[i] = m, s, q
        else:
            gg += g[i] * g[i]
            pp += q * q
    return gg, pp


@njit(**RULE)
def _rmsprop_rule(p, g, S, B, lr, l2, alpha, one_minus_alpha, eps, mu):
    """S ← αS + (1 − α)g'²;  u = g'/(√S + ε);  B ← μB + u, p ← p − lr·B (or p − lr·u, μ = 0)."""
    d = g + l2 * p
    s = alpha * S + one_minus_alpha * (d * d)
    b = mu * B + d / (np.sqrt(s) + eps)
    return s, b, p - lr * b


@njit(**OPTIONS)
def rmsprop(p, g, S, B, lr, l2, alpha, one_minus_alpha, eps, mu, write):
    """B, the momentum buffer, has one element when μ = 0: then it is neither read nor written."""
    gg = pp = l2 - l2
    zero = l2 - l2
    momentum = B.size == p.size
    for i in range(p.size):
        s, b, q = _rmsprop_rule(p[i], g[i], S[i], B[i] if momentum else zero, lr, l2, alpha,
                                one_minus_alpha, eps, mu)
        if write:
            S[i], p[i] = s, q
            if momentum:
                B[i] = b
        else:
            gg += g[i] * g[i]
            pp += q * q
    return gg, pp


@njit(**RULE)
def _adagrad_rule(p, g, S, lr, l2, eps):
    """S ← S + g'²;  p ← p − lr·g'/(√S + ε)."""
    d = g + l2 * p
    s = S + d * d
    return s, p - lr * (d / (np.sqrt(s) + eps))


@njit(**OPTIONS)
def adagrad(p, g, S, lr, l2, eps, write):
    gg = pp = l2 - l2
    for i in range(p.size):
        s, q = _adagrad_rule(p[i], g[i], S[i], lr, l2, eps)
        if write:
            S[i], p[i] = s, q
        else:
            gg += g[i] * g[i]
            pp += q * q
    return gg, pp


def describe():
    """numba's version and where compiled kernels are cached."""
    return {"numba": numba.__version__, "threads": "1 (the kernels are serial; BLAS has its own)",
            "cache": numba.config.CACHE_DIR or "beside the installed module (__pycache__)"}


# -- the loss at the end of a classifier -------------------------------------------------

@njit(**RULE)
def _exp_row(Z, E, i):
    """E_i = e^(Z_i − m) with m = max Z_i (every exponent ≤ 0); returns (m, Σ E_i)."""
    m = Z[i, 0]
    for c in range(1, Z.shape[1]):
        m = max(m, Z[i, c])
    s = Z.dtype.type(0.0)
    for c in range(Z.shape[1]):
        E[i, c] = np.exp(Z[i, c] - m)
        s += E[i, c]
    return m, s


@njit(**OPTIONS)
def softmax_cross_entropy(Z, y, dZ):
    """Softmax and cross-entropy on the logits, fused: the twin of CrossEntropy's
    ``forward_logits`` and ``backward_logits`` for logits Z (n, k), C-contiguous, and
    integer labels y (n,) in [0, k); dZ (n, k) receives the gradient.

    Row by row: m = max Z_i, s = Σ e^(Z_i − m); the loss adds log s + m − Z_iy;
    dZ_i = (e^(Z_i − m)/s − onehot(y_i))/n. Returns the mean loss. Z is not written.
    """
    n, k = Z.shape
    total = 0.0
    inv_n = Z.dtype.type(1.0) / Z.dtype.type(n)
    for i in range(n):
        if y[i] < 0 or y[i] >= k:       # no bounds checks in compiled code: say it, as NumPy would
            raise IndexError("a class label is outside [0, k) for k outputs")
        m, s = _exp_row(Z, dZ, i)
        scale = inv_n / s
        for c in range(k):
            dZ[i, c] *= scale
        dZ[i, y[i]] -= inv_n
        total += np.log(s) + m - Z[i, y[i]]
    return total / n


@njit(**OPTIONS)
def softmax_cross_entropy_rows(Z, Y, dZ):
    """The same for target rows Y (n, k) of class probabilities (one-hot, smoothed), of Z's dtype:
    the loss adds log s + m − Σ_c Y_ic Z_ic; dZ_i = (e^(Z_i − m)/s − Y_i)/n."""
    n, k = Z.shape
    total = 0.0
    inv_n = Z.dtype.type(1.0) / Z.dtype.type(n)
    for i in range(n):
        m, s = _exp_row(Z, dZ, i)
        scale = inv_n / s
        picked = 0.0
        for c in range(k):
            dZ[i, c] = dZ[i, c] * scale - Y[i, c] * inv_n
            picked += Y[i, c] * Z[i, c]
        total += np.log(s) + m - picked
    return total / n


# -- a whole forward pass, for a few rows --------------------------------------------------

# Step kinds of a forward plan (see Sequential._forward_plan): DENSE, IDENTITY, RELU, SIGMOID,
# TANH, SOFTMAX, from epilogues.py.
@njit(**OPTIONS)
def forward_rows(X, flat, plan, width, out):
    """The network's output for each row of X, one row at a time: the twin of
    ``Sequential.forward`` in evaluation mode for chains of Dense layers and
    elementwise activations (``plan``: one row ``(kind, offset, n_in, n_out)`` per
    layer; W and b of a Dense layer lie in ``flat`` from ``offset``).

    For one row, a product z = x·W + b by BLAS costs more in call overhead than
    the arithmetic; this loop (over W's rows, contiguous, vectorised) does not.
    """
    a = np.empty(width, X.dtype)
    z = np.empty(width, X.dtype)
    for r in range(X.shape[0]):
        n = X.shape[1]
        a[:n] = X[r]
        for step in range(plan.shape[0]):
            kind, offset, n_in, n_out = plan[step, 0], plan[step, 1], plan[step, 2], plan[step, 3]
            if kind == DENSE:                           # z = a·W + b
                W = flat[offset:offset + n_in * n_out].reshape(n_in, n_out)
                b = flat[offset + n_in * n_out:offset + n_in * n_out + n_out]
                z[:n_out] = b
                i = 0
                while i + 4 <= n_in:                    # four rows of W per pass over z
                    a0, a1, a2, a3 = a[i], a[i + 1], a[i + 2], a[i + 3]
                    for j in range(n_out):
                        z[j] += a0 * W[i, j] + a1 * W[i + 1, j] + a2 * W[i + 2, j] + a3 * W[i + 3, j]
                    i += 4
                for k in range(i, n_in):               # the rows left over
                    ak = a[k]
                    for j in range(n_out):
                        z[j] += ak * W[k, j]
                a[:n_out] = z[:n_out]
                n = n_out
            elif kind == RELU:
                for j in range(n):
                    a[j] = max(a[j], 0)
            elif kind == SIGMOID:                       # both tails without overflow
                for j in range(n):
                    e = np.exp(-abs(a[j]))
                    a[j] = 1 / (1 + e) if a[j] >= 0 else e / (1 + e)
            elif kind == TANH:
                for j in range(n):
                    a[j] = np.tanh(a[j])
            elif kind == SOFTMAX:
                m = a[0]
                for j in range(1, n):
                    m = max(m, a[j])
                s = a[0] - a[0]
                for j in range(n):
                    a[j] = np.exp(a[j] - m)
                    s += a[j]
                for j in range(n):
                    a[j] /= s
        out[r] = a[:n]
    return out


# -- the epilogue of a Dense layer: bias and activation, forward and backward ------------------
# The twins of epilogues.bias_activation and epilogues.activation_backward (read the equations
# there). Each kind has its own loop nest, so that the test of the kind is made once and the
# loop over a row's columns vectorises. Any layout (C, Fortran, strided) is accepted.

@njit(**OPTIONS)
def bias_activation(Z, b, kind, alpha, A):
    """Z + b → A = g(Z + b) in one pass (A may be Z); GELU also writes Z + b into Z."""
    n, m = Z.shape
    zero = Z.dtype.type(0.0)
    one = Z.dtype.type(1.0)
    if kind == RELU:
        for i in range(n):
            for j in range(m):
                z = Z[i, j] + b[j]
                A[i, j] = zero if z <= zero else z     # NaN stays NaN, as np.maximum keeps it
    elif kind == IDENTITY:
        for i in range(n):
            for j in range(m):
                A[i, j] = Z[i, j] + b[j]
    elif kind == SIGMOID:
        for i in range(n):
            for j in range(m):
                z = Z[i, j] + b[j]
                e = np.exp(-abs(z))                     # ≤ 1: no overflow in either tail
                A[i, j] = one / (one + e) if z >= zero else e / (one + e)
    elif kind == TANH:
        for i in range(n):
            for j in range(m):
                A[i, j] = np.tanh(Z[i, j] + b[j])
    elif kind == LEAKY_RELU:
        for i in range(n):
            for j in range(m):
                z = Z[i, j] + b[j]
                A[i, j] = z if z > zero else alpha * z
    elif kind == GELU:
        half = Z.dtype.type(0.5)
        root_half = Z.dtype.type(math.sqrt(0.5))
        for i in range(n):
            for j in range(m):
                z = Z[i, j] + b[j]
                Z[i, j] = z
                A[i, j] = z * (half * (one + math.erf(z * root_half)))
    else:
        raise ValueError("kind is not an epilogue")
    return A


@njit(**OPTIONS)
def activation_backward(dA, A, Z, kind, alpha, dZ, db):
    """dZ = dA ⊙ g'(·) and db = Σ_rows dZ in one pass over dA (dZ may be dA); for IDENTITY,
    dZ is dA: db = Σ_rows dA, and nothing else is written. Returns nothing."""
    n, m = dA.shape
    zero = dA.dtype.type(0.0)
    one = dA.dtype.type(1.0)
    for j in range(m):
        db[j] = zero
    if kind == IDENTITY:
        for i in range(n):
            for j in range(m):
                db[j] += dA[i, j]
    elif kind == RELU:
        for i in range(n):
            for j in range(m):
                d = dA[i, j] * (one if A[i, j] > zero else zero)   # a product: inf·0 is NaN, as in NumPy
                dZ[i, j] = d
                db[j] += d
    elif kind == SIGMOID:
        for i in range(n):
            for j in range(m):
                a = A[i, j]
                d = dA[i, j] * a * (one - a)
                dZ[i, j] = d
                db[j] += d
    elif kind == TANH:
        for i in range(n):
            for j in range(m):
                a = A[i, j]
                d = dA[i, j] * (one - a * a)
                dZ[i, j] = d
                db[j] += d
    elif kind == LEAKY_RELU:
        for i in range(n):
            for j in range(m):
                d = dA[i, j] if A[i, j] > zero else alpha * dA[i, j]
                dZ[i, j] = d
                db[j] += d
    elif kind == GELU:
        half = dA.dtype.type(0.5)
        root_half = dA.dtype.type(math.sqrt(0.5))
        inv_root_2pi = dA.dtype.type(1.0 / math.sqrt(2.0 * math.pi))
        for i in range(n):
            for j in range(m):
                z = Z[i, j]
                Phi = half * (one + math.erf(z * root_half))
                d = dA[i, j] * (Phi + z * (np.exp(-z * z * half) * inv_root_2pi))
                dZ[i, j] = d
                db[j] += d
    else:
        raise ValueError("kind is not an epilogue")
