"""Helpers for the tests of training-time layers (Dropout, BatchNorm): a gradient
check that runs in training mode, and conversions to and from torch.

``chainrule.gradient_check`` works in evaluation mode (deterministic by design);
BatchNorm's batch statistics and Dropout's mask exist only in training mode,
so these tests check that mode here, by the same central differences.
"""
import numpy as np

from conftest import numeric_gradient


def training_gradient_errors(net, loss, X, y, before_forward=lambda: None, eps=1e-6):
    """Relative error of every gradient (parameters and dX) in training mode, float64.

    The error of an array is max|analytic − numeric| / max(max|numeric|, 1e-3).

    ``before_forward()`` runs before every forward pass: reseed a Dropout there
    so that every pass uses the same mask.
    """
    assert net.dtype == np.float64
    X = np.array(X, dtype=np.float64)
    Y = loss.prepare(np.asarray(y), net.n_out if net.n_out is not None else X.shape[1], np.float64)
    net.train()

    def value():
        before_forward()
        A = X
        for layer in net.layers:
            A = layer.forward(A)
        return loss.forward(A, Y) + net.penalty()

    value()
    dX = net.backward(loss.backward())
    analytic = {name: grad.copy() for name, _, grad in net.parameters()}
    analytic["dX"] = dX.copy()
    arrays = {name: array for name, array, _ in net.parameters()}
    arrays["dX"] = X
    errors = {}
    for name, array in arrays.items():
        numeric = numeric_gradient(value, array, eps)
        # relative to the gradient's size, floored: a gradient that is exactly 0 (a bias
        # just before BatchNorm) has numeric noise of ~1e-10 and no size to divide by
        scale = max(np.abs(numeric).max(), np.abs(analytic[name]).max(), 1e-3)
        errors[name] = float(np.abs(numeric - analytic[name]).max() / scale)
    return errors


def to_torch(a, requires_grad=False):
    import torch
    t = torch.tensor(np.asarray(a), dtype=torch.float64)
    return t.requires_grad_(requires_grad)


def assert_close(ours, theirs, name, tol=1e-7):
    """max |ours − theirs| <= tol · max(1, max |theirs|), with the gap named on failure."""
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} != torch's {theirs.shape}"
    gap = float(np.max(np.abs(ours - theirs), initial=0.0))
    bound = tol * max(1.0, float(np.max(np.abs(theirs), initial=0.0)))
    assert gap <= bound, f"{name}: max |chainrule − torch| = {gap:.3e} > {bound:.1e}"
