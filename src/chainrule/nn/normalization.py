"""Normalisation layers: BatchNorm (over the rows of a batch) and LayerNorm (over
the features of each row).

Both standardise, then rescale with a learned γ and shift with a learned β::

    X̂ = (X − μ) / √(σ² + ε)          A = γ ⊙ X̂ + β

and differ only in the axis μ and σ² are taken over. Their backward passes
share one equation (:func:`_standardize_backward`): through X̂ the gradient
reaches X three ways, directly, via μ and via σ².
"""
from __future__ import annotations

import numpy as np

from .checks import float_dtype, number
from .layers import Layer


def _standardize_backward(dX_hat, X_hat, inv_std, axis):
    r"""dX for ``X̂ = (X − mean(X)) · inv_std`` with mean and variance over ``axis``.

    With m entries along ``axis``::

        dX = inv_std / m · (m·dX̂ − Σ dX̂ − X̂ ⊙ Σ (dX̂ ⊙ X̂))

    (the sums along ``axis``): the first term is the direct path, the second
    the path through μ, the third the path through σ².
    """
    m = X_hat.shape[axis]
    Σ = lambda V: V.sum(axis=axis, keepdims=True)  # noqa: E731
    return inv_std / m * (m * dX_hat - Σ(dX_hat) - X_hat * Σ(dX_hat * X_hat))


class _Norm(Layer):
    """Shared by BatchNorm and LayerNorm: γ, β of shape (n,), feature count checks."""

    params = ("gamma", "beta")
    output_range = (-np.inf, np.inf)
    can_skip_dX = True

    def __init__(self, n, eps, dtype):
        self.n_in = self.n_out = number("n", n, integer=True, at_least=1)
        self.eps = number("eps", eps, greater_than=0)
        dtype = float_dtype(dtype)
        self.gamma = np.ones(self.n_in, dtype)
        self.beta = np.zeros(self.n_in, dtype)
        self.dgamma = np.zeros_like(self.gamma)
        self.dbeta = np.zeros_like(self.beta)
        self.X_hat = None

    def output_features(self, n_in):
        if n_in != self.n_in:
            raise ValueError(f"{type(self).__name__}({self.n_in}) expects {self.n_in} input "
                             f"features, but the layer before it gives {n_in}")
        return self.n_out

    def _normalize(self, X, mu, var):
        """X̂ = (X − μ)/√(σ² + ε), cached with 1/√(σ² + ε); returns A = γ ⊙ X̂ + β."""
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.X_hat = X_hat = (X - mu) * self.inv_std
        return self.gamma * X_hat + self.beta

    def _parameter_gradients(self, dA):
        """dγ = Σ_rows dA ⊙ X̂, dβ = Σ_rows dA; returns dX̂ = dA ⊙ γ."""
        X_hat = self._cached("X_hat")
        np.sum(dA * X_hat, axis=0, out=self.dgamma)
        np.sum(dA, axis=0, out=self.dbeta)
        return dA * self.gamma


class BatchNorm(_Norm):
    r"""Batch normalisation (Ioffe & Szegedy, 2015), as torch ``BatchNorm1d``.

    Forward in training mode, statistics over the n rows of the batch::

        μ = (1/n) Σ_rows X                     (n_features,)
        σ² = (1/n) Σ_rows (X − μ)²             biased, as used to normalise
        X̂ = (X − μ) / √(σ² + ε)               (n, n_features)
        A = γ ⊙ X̂ + β

    and the running statistics move towards the batch's (``momentum`` is
    torch's: the weight of the new value; the variance kept is the unbiased
    σ²·n/(n − 1))::

        running_mean ← (1 − momentum)·running_mean + momentum·μ
        running_var  ← (1 − momentum)·running_var  + momentum·σ²·n/(n − 1)

    In evaluation mode μ, σ² are ``running_mean``, ``running_var`` (constants).

    Backward, with dX̂ = dA ⊙ γ::

        dγ = Σ_rows dA ⊙ X̂        dβ = Σ_rows dA
        dX = (1/n)/√(σ² + ε) · (n·dX̂ − Σ_rows dX̂ − X̂ ⊙ Σ_rows dX̂ ⊙ X̂)   training
        dX = dX̂ / √(σ² + ε)                                              evaluation

    Caches X̂, 1/√(σ² + ε) and which mode the forward pass ran in.
    ``buffers = ("running_mean", "running_var")``: non-trainable state a model
    file must save; it keeps the network's dtype.

    Parameters
    ----------
    n : int
        Features (columns) normalised.
    momentum : float in [0, 1], default 0.1
    eps : float > 0, default 1e-5
    dtype : numpy dtype, default float32
    """

    buffers = ("running_mean", "running_var")

    equations = {"forward": "X̂ = (X − μ_batch) / √(σ²_batch + ε);  A = γ ⊙ X̂ + β",
                 "backward": "dγ = Σ_rows dA ⊙ X̂;  dβ = Σ_rows dA;  "
                             "dX = (1/n)/√(σ² + ε) · (n·dX̂ − Σ_rows dX̂ − X̂ ⊙ Σ_rows dX̂ ⊙ X̂)"}

    def __init__(self, n, momentum=0.1, eps=1e-5, dtype=np.float32):
        super().__init__(n, eps, dtype)
        self.momentum = number("momentum", momentum, at_least=0, at_most=1)
        self.running_mean = np.zeros(self.n_in, self.gamma.dtype)
        self.running_var = np.ones(self.n_in, self.gamma.dtype)

    def forward(self, X):
        n = X.shape[0]
        self.batch_stats = self.training
        if self.training:
            if n < 2:
                raise ValueError(f"BatchNorm in training mode needs at least 2 rows per batch to "
                                 f"estimate a variance, got {n}; choose a batch_size that leaves "
                                 "no batch of 1 row, or call net.eval() first")
            mu = X.mean(axis=0)
            var = X.var(axis=0)
            m = self.momentum
            dtype = self.running_mean.dtype           # the network's, whatever X's
            self.running_mean = ((1 - m) * self.running_mean + m * mu).astype(dtype)
            self.running_var = ((1 - m) * self.running_var + m * var * n / (n - 1)).astype(dtype)
        else:
            mu, var = self.running_mean, self.running_var
        return self._normalize(X, mu, var)

    def backward(self, dA, need_dX=True):
        """``need_dX=False`` skips dX (the network asks so of its first layer)."""
        dX_hat = self._parameter_gradients(dA)
        if not need_dX:
            return None
        if self.batch_stats:
            return _standardize_backward(dX_hat, self.X_hat, self.inv_std, axis=0)
        return dX_hat * self.inv_std

    def config(self):
        return {"n": self.n_in, "momentum": self.momentum, "eps": self.eps}


class LayerNorm(_Norm):
    r"""Layer normalisation (Ba et al., 2016), as torch ``LayerNorm(n)``.

    Each row is standardised over its own d = n features, the same in
    training and evaluation (no running statistics)::

        μ_i = (1/d) Σ_j X_ij           σ²_i = (1/d) Σ_j (X_ij − μ_i)²    (n, 1)
        X̂ = (X − μ) / √(σ² + ε)       A = γ ⊙ X̂ + β                   (n, d)

    Backward, with dX̂ = dA ⊙ γ::

        dγ = Σ_rows dA ⊙ X̂        dβ = Σ_rows dA
        dX = (1/d)/√(σ² + ε) · (d·dX̂ − Σ_j dX̂ − X̂ ⊙ Σ_j dX̂ ⊙ X̂)     sums over features

    Caches X̂ and 1/√(σ² + ε).

    Parameters
    ----------
    n : int
        Features per row.
    eps : float > 0, default 1e-5
    dtype : numpy dtype, default float32
    """

    equations = {"forward": "X̂ = (X − μ_row) / √(σ²_row + ε);  A = γ ⊙ X̂ + β",
                 "backward": "dγ = Σ_rows dA ⊙ X̂;  dβ = Σ_rows dA;  "
                             "dX = (1/d)/√(σ² + ε) · (d·dX̂ − Σ_j dX̂ − X̂ ⊙ Σ_j dX̂ ⊙ X̂)"}

    def __init__(self, n, eps=1e-5, dtype=np.float32):
        super().__init__(n, eps, dtype)

    def forward(self, X):
        mu = X.mean(axis=1, keepdims=True)
        var = X.var(axis=1, keepdims=True)
        return self._normalize(X, mu, var)

    def backward(self, dA, need_dX=True):
        """``need_dX=False`` skips dX (the network asks so of its first layer)."""
        dX_hat = self._parameter_gradients(dA)
        if not need_dX:
            return None
        return _standardize_backward(dX_hat, self.X_hat, self.inv_std, axis=1)

    def config(self):
        return {"n": self.n_in, "eps": self.eps}
