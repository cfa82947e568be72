"""Dropout: inverted scaling, modes, seeding, gradients with the mask fixed, PyTorch parity."""
import numpy as np
import pytest
import torch
from training_checks import assert_close, to_torch, training_gradient_errors

import chainrule as cr

from conftest import assert_blas_close, sums_length


def test_training_mask_is_inverted_dropout():
    p = 0.3
    layer = cr.Dropout(p, seed=0)
    X = np.ones((400, 50))
    A = layer.forward(X)
    assert set(np.unique(A)) == {0.0, 1 / (1 - p)}
    dropped = np.mean(A == 0)
    assert abs(dropped - p) < 0.02          # 20,000 draws: the share is p within ~4.5 sd
    assert abs(A.mean() - 1.0) < 0.03       # the expected activation is unchanged


def test_scale_is_torchs():
    # torch's dropout scales kept units by the same 1/(1 − p)
    p = 0.25
    kept_ours = np.unique(cr.Dropout(p, seed=1).forward(np.ones((50, 8))))
    kept_torch = np.unique(torch.nn.functional.dropout(
        torch.ones(50, 8, dtype=torch.float64), p, training=True).numpy())
    np.testing.assert_allclose(kept_ours, kept_torch, rtol=1e-15)


def test_evaluation_mode_is_the_identity():
    layer = cr.Dropout(0.5, seed=0)
    layer.training = False
    X = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(layer.forward(X), X)
    dA = np.ones((5, 4))
    np.testing.assert_array_equal(layer.backward(dA), dA)


def test_same_seed_same_masks_and_p_zero_is_identity():
    X = np.ones((6, 5))
    a, b = cr.Dropout(0.5, seed=7), cr.Dropout(0.5, seed=7)
    for _ in range(3):
        np.testing.assert_array_equal(a.forward(X), b.forward(X))
    assert not np.array_equal(a.forward(X), a.forward(X))  # a fresh mask every call
    np.testing.assert_array_equal(cr.Dropout(0.0, seed=0).forward(X), X)


@pytest.mark.parametrize("after_dense", [False, True])
def test_gradients_with_the_mask_fixed(after_dense):
    rng = np.random.default_rng(3)
    drop = cr.Dropout(0.4)
    layers = ([cr.Dense(3, 5, seed=0, dtype=np.float64)] if after_dense else []) + [drop]
    net = cr.Sequential(layers, dtype=np.float64)
    drop = net[-1]

    def same_mask():
        drop.rng = np.random.default_rng(42)

    X = rng.normal(size=(4, 3 if after_dense else 5))
    errors = training_gradient_errors(net, cr.MSE(), X, rng.normal(size=(4, 5)), same_mask)
    assert max(errors.values()) < 1e-6, errors
    assert np.any(drop.M == 0)  # the check really ran with units dropped


def test_matches_torch_autograd_with_the_same_mask():
    rng = np.random.default_rng(4)
    layer = cr.Dropout(0.5, seed=9)
    X, dA = rng.normal(size=(7, 6)), rng.normal(size=(7, 6))
    A = layer.forward(X)
    dX = layer.backward(dA)
    keep = to_torch(layer.M != 0)
    Xt = to_torch(X, requires_grad=True)
    At = Xt * keep / (1 - 0.5)              # torch's dropout with this mask
    At.backward(to_torch(dA))
    assert_close(A, At, "forward")
    assert_close(dX, Xt.grad, "dX")


def test_float32_stays_float32():
    layer = cr.Dropout(0.2, seed=0)
    X = np.ones((3, 4), np.float32)
    A = layer.forward(X)
    assert A.dtype == layer.backward(np.ones_like(A)).dtype == np.float32


def test_fit_drops_and_predict_does_not():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(32, 4)), rng.normal(size=32)
    net = cr.Sequential([cr.Dense(4, 8, seed=0), cr.Dropout(0.5, seed=1), cr.Dense(8, 1, seed=2)])
    seen = []
    net[1].forward = lambda A, f=net[1].forward: (seen.append(net[1].training), f(A))[1]
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=1, batch_size=None, verbose=0)
    assert seen == [True]
    assert_blas_close(net.predict(X), net.predict(X), sums_length(net))  # no mask: the same function
    assert seen[1:] == [False, False]


def test_invalid_p():
    for p in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match=r"p must be (a finite number )?in \[0, 1\), got"):
            cr.Dropout(p)
    with pytest.raises(TypeError, match=r"p must be a number in \[0, 1\), got '0.5'"):
        cr.Dropout("0.5")
