"""Dropout: zero a random share of the activations while training.

Inverted dropout (Srivastava et al., 2014, in the form PyTorch and Keras use):
the kept units are scaled by 1/(1 − p) during training, so the expected
activation is unchanged and evaluation needs no rescaling at all.
"""
from __future__ import annotations

import numpy as np

from .checks import number
from .init import as_generator
from .layers import Layer


class Dropout(Layer):
    r"""Inverted dropout with drop probability ``p``.

    Forward in training mode, with U ~ U[0, 1) drawn afresh for every call::

        M = [U ≥ p] / (1 − p)       (n, n_features): 0 or 1/(1 − p)
        A = X ⊙ M

    In evaluation mode (``net.eval()``, ``predict``) ``A = X``: M = 1.

    Backward::

        dX = dA ⊙ M

    Caches the mask ``M``. No parameters.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of dropping each unit (torch's ``p``; Keras calls it ``rate``).
    seed : int or numpy.random.Generator, optional
        Source of the masks; the same seed gives the same sequence of masks.
    """

    equations = {"forward": "A = X ⊙ M,  M = [U ≥ p] / (1 − p)", "backward": "dX = dA ⊙ M"}

    def __init__(self, p=0.5, seed=None):
        self.p = number("p", p, at_least=0, less_than=1)
        self.rng = as_generator(seed)
        self.M = None

    def forward(self, X):
        if not self.training or self.p == 0:
            self.M = np.ones((), X.dtype)   # the identity; backward still has a mask to use
            return X
        U = self.rng.random(X.shape, dtype=X.dtype if X.dtype == np.float32 else np.float64)
        self.M = (self.p <= U).astype(X.dtype) / (1 - self.p)   # M = [U ≥ p] / (1 − p)
        return X * self.M

    def backward(self, dA):
        M = self._cached("M")
        if M.ndim == 0:
            return dA
        return dA * M

    def config(self):
        return {"p": self.p}
