"""PeriodicEmbedding: each numeric column also read through learned cosines (RealMLP's PBLD).

An MLP on a raw number x draws functions of x that are smooth at the scale of
its weights; a target that turns several times over x's range (a price by the
hour of the day, a dose with a narrow window) takes many units to draw.
Periodic features cos(2π·w·x + b) with learned frequencies w give the network
such shapes from its first layer (Gorishniy et al., "On Embeddings for
Numerical Features in Tabular Deep Learning", NeurIPS 2022); RealMLP's PBLD
variant ("periodic, bias, linear, DenseNet": Holzmüller et al., "Better by
Default", NeurIPS 2024) uses cosines with a phase b instead of sin and cos
pairs, maps them per column to a few numbers by a linear layer, and keeps the
column itself beside them.
"""
from __future__ import annotations

import math

import numpy as np

from .checks import float_dtype, number
from .init import as_generator
from .layers import Layer

_TWO_PI = 2.0 * math.pi


class PeriodicEmbedding(Layer):
    r"""Every column passes through; each of the first ``n_numeric`` also gets a learned
    periodic code of ``n_out`` numbers, appended after all columns.

    X holds ``n_in`` columns, the first m = ``n_numeric`` of them numbers (the rest, a
    table's one-hot categories, pass through only). With f = ``n_frequencies`` and
    d = ``n_out``, for each row i and numeric column j::

        Φ_ij = 2π·X_ij·w_j + b_j           w_j, b_j (f,)               Φ (n, m, f)
        H_ij = cos Φ_ij                                                H (n, m, f)
        E_ij = H_ij·V_j + c_j              V_j (f, d), c_j (d,)         E (n, m, d)
        A    = X ⊕ E_i1 ⊕ … ⊕ E_im                                     A (n, n_in + m·d)

    (⊕ joins side by side: "DenseNet style", the column itself kept beside its code;
    each column has its own w, b, V, c.) Backward, given dA of shape (n, n_in + m·d),
    its last m·d columns read as dE (n, m, d)::

        dc_j = Σ_i dE_ij                   dV_j = Σ_i H_ijᵀ·dE_ij       (d,), (f, d)
        dH_ij = dE_ij·V_jᵀ                 dΦ_ij = −sin Φ_ij ⊙ dH_ij    (f,)
        dw_j = 2π·Σ_i X_ij·dΦ_ij           db_j = Σ_i dΦ_ij             (f,), (f,)
        dX = dA[:, :n_in] + (2π·Σ_f dΦ_ij ⊙ w_j for j < m, 0 for the other columns)

    Caches the numeric columns, H and sin Φ. Parameters ``w`` (m, f), ``b`` (m, f),
    ``V`` (m, f, d), ``c`` (m, d).

    Initial values, RealMLP-TD's: w ~ N(0, σ²) with σ = ``sigma`` (0.1: low
    frequencies, so that the code starts smooth over a standardised column's range),
    b ~ U(−π, π), V and c ~ U(−1/√f, 1/√f) (torch ``nn.Linear``'s default); f = 16 and
    d = 3 (RealMLP's 16 cosines and 4 numbers per column, one of the four the column).

    Parameters
    ----------
    n_in : int
        Columns of X.
    n_numeric : int
        The first columns to embed, 1 to ``n_in``.
    n_frequencies, n_out : int, default 16 and 3
        Cosines per column (f) and numbers of its code (d).
    sigma : float, default 0.1
        Standard deviation of the initial frequencies.
    seed : int or numpy.random.Generator, optional
        Source of the initial values, drawn in the order w, b, V, c.
    dtype : numpy dtype, default float32
    """

    params = ("w", "b", "V", "c")
    can_skip_dX = True
    equations = {"forward": "A = X ⊕ E,  E_ij = cos(2π·X_ij·w_j + b_j)·V_j + c_j  (j < m)",
                 "backward": "dc_j = Σ_i dE_ij;  dV_j = Σ_i H_ijᵀ·dE_ij;  "
                             "dΦ_ij = −sin Φ_ij ⊙ (dE_ij·V_jᵀ);  dw_j = 2π·Σ_i X_ij·dΦ_ij;  "
                             "db_j = Σ_i dΦ_ij;  dX = dA_X + 2π·Σ_f dΦ_ij ⊙ w_j"}
    output_range = (-np.inf, np.inf)
    # w, b (m, f), V (m, f, d), c (m, d): at most 3·m·f·d numbers; n_in draws nothing
    drawn_from = ("n_numeric", "n_frequencies", "n_out")

    def __init__(self, n_in, n_numeric, n_frequencies=16, n_out=3, *, sigma=0.1, seed=None,
                 dtype=np.float32):
        self.n_in = number("n_in", n_in, integer=True, at_least=1)
        self.n_numeric = number("n_numeric", n_numeric, integer=True, at_least=1,
                                at_most=self.n_in)
        self.n_frequencies = number("n_frequencies", n_frequencies, integer=True, at_least=1)
        self.n_out = number("n_out", n_out, integer=True, at_least=1)
        self.sigma = number("sigma", sigma, greater_than=0)
        dtype = float_dtype(dtype)
        rng = as_generator(seed)
        m, f, d = self.n_numeric, self.n_frequencies, self.n_out
        bound = 1.0 / math.sqrt(f)
        self.w = (self.sigma * rng.standard_normal((m, f))).astype(dtype)
        self.b = rng.uniform(-math.pi, math.pi, (m, f)).astype(dtype)
        self.V = rng.uniform(-bound, bound, (m, f, d)).astype(dtype)
        self.c = rng.uniform(-bound, bound, (m, d)).astype(dtype)
        for p in self.params:
            setattr(self, "d" + p, np.zeros_like(getattr(self, p)))
        self.X_num = self.H = self.S = None

    def forward(self, X):
        X = np.asarray(X, dtype=self.w.dtype)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"PeriodicEmbedding expects X of shape (n, {self.n_in}), "
                             f"got {X.shape}")
        self.X_num = X[:, :self.n_numeric]
        Phi = _TWO_PI * self.X_num[:, :, None] * self.w + self.b       # Φ (n, m, f)
        self.H, self.S = np.cos(Phi), np.sin(Phi)                      # H = cos Φ
        # E_ij = H_ij·V_j + c_j: one (n, f)·(f, d) product per column j
        E = np.matmul(self.H.transpose(1, 0, 2), self.V).transpose(1, 0, 2) + self.c
        return np.hstack([X, E.reshape(len(X), -1)])                   # A = X ⊕ E

    def backward(self, dA, need_dX=True):
        """Sets dw, db, dV, dc; returns dX (None when ``need_dX`` is False: the first layer)."""
        X_num, H, S = self._cached("X_num"), self._cached("H"), self._cached("S")
        n, m = len(X_num), self.n_numeric
        dE = dA[:, self.n_in:].reshape(n, m, self.n_out).transpose(1, 0, 2)  # (m, n, d)
        dE.sum(axis=1, out=self.dc)                                    # dc_j = Σ_i dE_ij
        np.matmul(H.transpose(1, 2, 0), dE, out=self.dV)               # dV_j = Σ_i H_ijᵀ·dE_ij
        dPhi = -S * np.matmul(dE, self.V.transpose(0, 2, 1)).transpose(1, 0, 2)  # (n, m, f)
        np.einsum("nm,nmf->mf", X_num, dPhi, out=self.dw)
        self.dw *= _TWO_PI                                             # dw_j = 2π Σ_i X_ij dΦ_ij
        dPhi.sum(axis=0, out=self.db)                                  # db_j = Σ_i dΦ_ij
        if not need_dX:
            return None
        dX = dA[:, :self.n_in].copy()                                  # the columns passed on
        dX[:, :m] += _TWO_PI * np.einsum("nmf,mf->nm", dPhi, self.w)   # and through their codes
        return dX

    def output_features(self, n_in):
        if n_in != self.n_in:
            raise ValueError(f"PeriodicEmbedding takes {self.n_in} columns, the layer before "
                             f"it gives {n_in}")
        return self.n_in + self.n_numeric * self.n_out

    def config(self):
        return {"n_in": self.n_in, "n_numeric": self.n_numeric,
                "n_frequencies": self.n_frequencies, "n_out": self.n_out, "sigma": self.sigma}
