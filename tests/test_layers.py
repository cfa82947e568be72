"""Dense and the layer protocol: Z = X·W + b, dW = Xᵀ·dZ, db = Σ dZ, dX = dZ·Wᵀ."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from conftest import assert_close, numeric_gradient


def dense(rng, n_in, n_out, dtype=np.float64):
    layer = cr.Dense(n_in, n_out, seed=rng, dtype=dtype)
    layer.b = rng.standard_normal(n_out)
    return layer


@pytest.mark.parametrize("n, n_in, n_out", [(5, 4, 3), (1, 3, 2), (4, 1, 2), (3, 2, 1), (1, 1, 1)])
def test_dense_matches_central_differences(n, n_in, n_out, rng):
    layer = dense(rng, n_in, n_out)
    X = rng.standard_normal((n, n_in))
    G = rng.standard_normal((n, n_out))  # upstream gradient: L = Σ G ⊙ Z
    loss = lambda: float(np.sum(G * layer.forward(X)))
    layer.forward(X)
    dX = layer.backward(G)
    dW, db = layer.dW.copy(), layer.db.copy()
    assert_close(dW, numeric_gradient(loss, layer.W), 1e-8, "dW")
    assert_close(db, numeric_gradient(loss, layer.b), 1e-8, "db")
    assert_close(dX, numeric_gradient(loss, X), 1e-8, "dX")


def test_dense_equations(rng):
    layer = dense(rng, 4, 3)
    X, dZ = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(layer.forward(X), X @ layer.W + layer.b, rtol=1e-14)
    dX = layer.backward(dZ)
    np.testing.assert_allclose(layer.dW, X.T @ dZ, rtol=1e-14)
    np.testing.assert_allclose(layer.db, dZ.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(dX, dZ @ layer.W.T, rtol=1e-14)


def test_gradient_check_alone_and_after_another_layer(rng):
    X, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    report = cr.gradient_check(cr.Sequential([dense(rng, 3, 2)]), cr.MSE(), X, y)
    assert report.max_relative_error <= 1e-6, str(report)
    net = cr.Sequential([dense(rng, 3, 5), cr.Tanh(), dense(rng, 5, 2)])
    report = cr.gradient_check(net, cr.MSE(), X, y)
    assert report.max_relative_error <= 1e-6, str(report)
    assert len(report.rows) == 5  # dW, db of two layers, and dX


def test_gradients_are_overwritten_not_accumulated(rng):
    layer = dense(rng, 3, 2)
    X, dZ = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(X)
    layer.backward(dZ)
    first = layer.dW.copy(), layer.db.copy()
    layer.backward(dZ)
    np.testing.assert_array_equal(layer.dW, first[0])
    np.testing.assert_array_equal(layer.db, first[1])


def test_dense_never_writes_into_its_arguments(rng):
    layer = dense(rng, 3, 2)
    X, dZ = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    saved = X.copy(), dZ.copy()
    X.setflags(write=False)
    dZ.setflags(write=False)
    for _ in range(2):
        layer.forward(X)
        layer.backward(dZ)
    np.testing.assert_array_equal(X, saved[0])
    np.testing.assert_array_equal(dZ, saved[1])


def test_outputs_kept_by_the_caller_are_not_overwritten(rng):
    """Outside fit every call returns a fresh array."""
    layer = dense(rng, 3, 2)
    A1 = layer.forward(rng.standard_normal((4, 3)))
    kept = A1.copy()
    layer.forward(rng.standard_normal((4, 3)))
    np.testing.assert_array_equal(A1, kept)


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"Dense.backward was called before forward: run forward\(X\) first"):
        cr.Dense(3, 2).backward(np.ones((4, 2), np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype, rng):
    layer = cr.Dense(3, 2, seed=0, dtype=dtype)
    assert layer.W.dtype == dtype and layer.b.dtype == dtype and layer.dW.dtype == dtype
    Z = layer.forward(rng.standard_normal((4, 3)).astype(dtype))
    dX = layer.backward(np.ones((4, 2), dtype))
    assert Z.dtype == dtype and dX.dtype == dtype and layer.dW.dtype == dtype and layer.db.dtype == dtype


def test_default_dtype_is_float32():
    assert cr.Dense(2, 3).W.dtype == np.float32


@pytest.mark.parametrize("shape", [(1, 1), (0, 3)])
def test_edge_shapes(shape, rng):
    layer = dense(rng, shape[1], 2)
    Z = layer.forward(np.ones(shape))
    dX = layer.backward(np.ones((shape[0], 2)))
    assert Z.shape == (shape[0], 2) and dX.shape == shape
    np.testing.assert_array_equal(layer.db, np.full(2, shape[0], float))


def test_shapes_and_zero_biases():
    layer = cr.Dense(4, 3, seed=1)
    assert layer.W.shape == (4, 3) and layer.b.shape == (3,)
    assert layer.dW.shape == (4, 3) and layer.db.shape == (3,)
    np.testing.assert_array_equal(layer.b, 0)
    assert layer.params == ("W", "b")
    assert [name for name, _, _ in layer.parameters()] == ["W", "b"]


def test_same_seed_same_weights():
    np.testing.assert_array_equal(cr.Dense(5, 4, seed=3).W, cr.Dense(5, 4, seed=3).W)
    assert not np.array_equal(cr.Dense(5, 4, seed=3).W, cr.Dense(5, 4, seed=4).W)


@pytest.mark.parametrize("init", ["normal", "uniform", "xavier", "he"])
def test_named_initialisers(init):
    n_in, n_out = 300, 200
    W = cr.Dense(n_in, n_out, init=init, seed=0, dtype=np.float64).W
    expected = {  # (mean, std, min, max) of each distribution
        "normal": (0.0, 1.0, -np.inf, np.inf),
        "uniform": (0.5, np.sqrt(1 / 12), 0.0, 1.0),
        "xavier": (0.0, np.sqrt(6 / (n_in + n_out)) / np.sqrt(3),
                   -np.sqrt(6 / (n_in + n_out)), np.sqrt(6 / (n_in + n_out))),
        "he": (0.0, np.sqrt(2 / n_in), -np.inf, np.inf),
    }[init]
    mean, std, low, high = expected
    assert abs(W.mean() - mean) < 0.02 * max(std, 0.1)
    assert abs(W.std() / std - 1) < 0.02
    assert W.min() >= low and W.max() <= high


def test_exact_initial_weights_from_the_generator():
    rng = np.random.default_rng(5)
    expected = rng.standard_normal((3, 2)) * np.sqrt(2 / 3)
    np.testing.assert_array_equal(cr.Dense(3, 2, init="he", seed=5, dtype=np.float64).W, expected)
    rng = np.random.default_rng(5)
    a = np.sqrt(6 / 5)
    np.testing.assert_array_equal(cr.Dense(3, 2, seed=5, dtype=np.float64).W, rng.uniform(-a, a, (3, 2)))


def test_callable_initialiser():
    W = cr.Dense(2, 3, init=lambda n_in, n_out, rng: np.full((n_in, n_out), 0.5)).W
    np.testing.assert_array_equal(W, 0.5)
    assert cr.Dense(2, 3, init=lambda a, b, r: np.zeros((a, b))).config()["init"] == "custom"


def test_dense_settings_are_checked():
    with pytest.raises(ValueError, match=r"n_in must be >= 1, got 0"):
        cr.Dense(0, 3)
    with pytest.raises(TypeError, match=r"n_out must be an integer >= 1, got 2.5"):
        cr.Dense(3, 2.5)
    with pytest.raises(TypeError, match=r"n_in must be an integer >= 1, got True"):
        cr.Dense(True, 2)
    with pytest.raises(TypeError, match=r"dtype must be a floating-point type, got int64"):
        cr.Dense(2, 2, dtype=np.int64)
    with pytest.raises(ValueError, match=r"init must be one of \['he', 'normal', 'uniform', 'xavier'\] "
                                         r"or a callable, got 'glorot'"):
        cr.Dense(2, 2, init="glorot")
    with pytest.raises(ValueError, match=r"init returned weights of shape \(3, 2\), expected \(2, 3\)"):
        cr.Dense(2, 3, init=lambda n_in, n_out, rng: np.zeros((n_out, n_in)))
    with pytest.raises(TypeError, match=r"seed must be an int, a numpy.random.Generator or None, got 1.5"):
        cr.Dense(2, 3, seed=1.5)


def test_output_features_checks_the_width():
    layer = cr.Dense(4, 3)
    assert layer.output_features(4) == 3
    with pytest.raises(ValueError, match=r"Dense\(4, 3\) expects 4 input features, but the layer before it gives 5"):
        layer.output_features(5)


def test_config_and_repr():
    layer = cr.Dense(4, 3, init="he")
    assert layer.config() == {"n_in": 4, "n_out": 3, "init": "he"}
    assert repr(layer) == "Dense(n_in=4, n_out=3, init='he')"


