"""Initial weights for Dense layers.

Every initialiser is ``f(n_in, n_out, rng) -> W`` with W of shape (n_in, n_out),
drawn in float64 (so a float32 network starts from the float64 weights rounded)
from an explicit ``numpy.random.Generator``; nothing touches ``np.random``'s
global state.
"""
from __future__ import annotations

import numpy as np


def normal(n_in, n_out, rng):
    """Standard normal N(0, 1), as the classic from-scratch examples use (``randn``)."""
    return rng.standard_normal((n_in, n_out))


def uniform(n_in, n_out, rng):
    """U[0, 1), as the classic sine-regression example initialises."""
    return rng.random((n_in, n_out))


def xavier(n_in, n_out, rng):
    """Glorot uniform: U(-a, a) with a = √(6 / (n_in + n_out)).

    Keeps the variance of activations and gradients roughly equal across
    layers for tanh/sigmoid-like units (Glorot & Bengio, 2010).
    """
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, (n_in, n_out))


def he(n_in, n_out, rng):
    """Kaiming normal: N(0, 2 / n_in).

    ReLU zeroes half its inputs, so the variance needs the factor 2 that
    Xavier lacks (He et al., 2015); same as torch's ``kaiming_normal_``
    with its defaults (fan_in, relu gain).
    """
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)


INITIALISERS = {"normal": normal, "uniform": uniform, "xavier": xavier, "he": he}


def as_generator(seed):
    """A ``numpy.random.Generator`` from an int, a Generator or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got {seed!r}")
    if seed is not None and seed < 0:  # numpy's own message names no argument
        raise ValueError(f"seed must be an integer >= 0, a numpy.random.Generator or None, "
                         f"got {seed!r}")
    return np.random.default_rng(seed)


def initial_weights(init, n_in, n_out, seed):
    """Weights of shape (n_in, n_out) from ``init`` (a name or a callable)."""
    if isinstance(init, str):
        if init not in INITIALISERS:
            raise ValueError(f"init must be one of {sorted(INITIALISERS)} or a callable, got {init!r}")
        init = INITIALISERS[init]
    elif not callable(init):
        raise TypeError(f"init must be a name or a callable (n_in, n_out, rng) -> W, got {init!r}")
    W = np.asarray(init(n_in, n_out, as_generator(seed)))
    if W.shape != (n_in, n_out):
        raise ValueError(f"init returned weights of shape {W.shape}, expected {(n_in, n_out)}")
    return W
