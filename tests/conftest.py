"""Shared fixtures and helpers for the chainrule tests.

* ``rng``: a seeded numpy Generator (never the global ``np.random``).
* ``assert_close``: worst relative error ``max|a − b| / max|b|`` against a
  tolerance, failing with a readable diff (which array, where, the values).
* ``torch_twin``: the PyTorch network equal to a chainrule ``Sequential``
  (each Dense becomes a ``torch.nn.Linear`` whose weight is ``W`` transposed).
* ``Probe``: a pass-through layer that records what flows through it, used to
  read dX on the training path and to watch dtypes inside ``fit``.
* ``numeric_gradient``: central differences of a scalar function of an array.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.layers import Layer


@pytest.fixture
def rng(request):
    """A Generator seeded from the test's name, so each test has its own fixed stream."""
    seed = sum(map(ord, request.node.name)) % (2**32)
    return np.random.default_rng(seed)


# -- comparisons -----------------------------------------------------------------

def relative_error(actual, expected):
    """max|a − b| / max|b| (the absolute error when b is all zeros)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    err = np.max(np.abs(actual - expected), initial=0.0)
    scale = np.max(np.abs(expected), initial=0.0)
    return float(err / scale) if scale > 0 else float(err)


def assert_close(actual, expected, tol=1e-7, name="array"):
    """Fail, with the worst entries shown, when the relative error exceeds ``tol``."""
    if hasattr(expected, "detach"):  # a torch tensor
        expected = expected.detach().numpy()
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        pytest.fail(f"{name}: shape {actual.shape} != expected {expected.shape}")
    if not np.all(np.isfinite(actual)):
        bad = np.argwhere(~np.isfinite(actual))[:5].tolist()
        pytest.fail(f"{name}: non-finite values at {bad}")
    rel = relative_error(actual, expected)
    if rel <= tol:
        return rel
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    worst = np.argsort(diff, axis=None)[::-1][:5]
    lines = [f"{name}: worst relative error {rel:.3e} > {tol:.1e} "
             f"(shape {actual.shape}, max|expected| {np.max(np.abs(expected), initial=0):.6g})",
             "  index            chainrule               expected                |diff|"]
    for flat in worst:
        idx = np.unravel_index(flat, actual.shape) if actual.ndim else ()
        a, e = actual[idx], expected[idx]
        lines.append(f"  {str(tuple(int(i) for i in idx)):<16} {a: .15e}  {e: .15e}  {diff[idx]:.3e}")
    pytest.fail("\n".join(lines))


# -- numerical derivatives ----------------------------------------------------------

def numeric_gradient(f, x, eps=1e-6):
    """∂f/∂x by central differences; ``x`` is perturbed in place and restored."""
    grad = np.empty_like(x, dtype=np.float64)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f()
        flat[i] = saved - eps
        down = f()
        flat[i] = saved
        out[i] = (up - down) / (2 * eps)
    return grad


# -- a probe layer ------------------------------------------------------------------

class Probe(Layer):
    """Identity layer that records the arrays passing through it (forward X, backward dA)."""

    def __init__(self):
        self.seen_X, self.seen_dA = [], []

    def forward(self, X):
        self.seen_X.append(X.copy())
        return X

    def backward(self, dA):
        self.seen_dA.append(dA.copy())
        return dA


# -- the PyTorch twin ------------------------------------------------------------------

def torch_activation(layer):
    import torch
    table = {
        cr.Sigmoid: lambda l: torch.nn.Sigmoid(),
        cr.Tanh: lambda l: torch.nn.Tanh(),
        cr.ReLU: lambda l: torch.nn.ReLU(),
        cr.LeakyReLU: lambda l: torch.nn.LeakyReLU(l.alpha),
        cr.ELU: lambda l: torch.nn.ELU(l.alpha),
        cr.GELU: lambda l: torch.nn.GELU(),  # approximate="none": the exact erf form
        cr.Softplus: lambda l: torch.nn.Softplus(),
        cr.Identity: lambda l: torch.nn.Identity(),
        cr.Softmax: lambda l: torch.nn.Softmax(dim=-1),
    }
    return table[type(layer)](layer)


def torch_twin(net, drop_last=False):
    """``torch.nn.Sequential`` computing the same function as ``net``, in float64.

    Each ``Dense`` becomes a ``Linear`` with ``weight = Wᵀ`` and ``bias = b``;
    ``Probe`` layers are skipped. With ``drop_last`` the final layer (e.g. the
    Softmax before CrossEntropyLoss, which takes logits) is left out.
    """
    import torch
    modules = []
    layers = net.layers[:-1] if drop_last else net.layers
    for layer in layers:
        if isinstance(layer, Probe):
            continue
        if isinstance(layer, cr.Dense):
            linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.array(layer.W, np.float64).T))
                linear.bias.copy_(torch.from_numpy(np.array(layer.b, np.float64)))
            modules.append(linear)
        else:
            modules.append(torch_activation(layer))
    return torch.nn.Sequential(*modules)


def torch_dense_pairs(net, twin):
    """[(chainrule Dense index, torch Linear), ...] in order."""
    dense = [i for i, layer in enumerate(net.layers) if isinstance(layer, cr.Dense)]
    linears = [m for m in twin if type(m).__name__ == "Linear"]
    assert len(dense) == len(linears)
    return list(zip(dense, linears))
