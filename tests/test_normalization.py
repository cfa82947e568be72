"""BatchNorm and LayerNorm: gradients, PyTorch parity (both modes, running statistics), dtypes."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from training_checks import assert_close, to_torch, training_gradient_errors

import chainrule as cr


def _bn(n, rng, **kw):
    layer = cr.BatchNorm(n, dtype=np.float64, **kw)
    layer.gamma = rng.normal(1.0, 0.3, n)
    layer.beta = rng.normal(0.0, 0.3, n)
    return layer


@pytest.mark.parametrize("after_dense", [False, True])
def test_batchnorm_gradients_in_training_mode(after_dense):
    rng = np.random.default_rng(0)
    layers = ([cr.Dense(3, 4, seed=1, dtype=np.float64)] if after_dense else []) + [_bn(4, rng)]
    net = cr.Sequential(layers)
    X = rng.normal(size=(6, 3 if after_dense else 4))
    errors = training_gradient_errors(net, cr.MSE(), X, rng.normal(size=(6, 4)))
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("after_dense", [False, True])
def test_batchnorm_gradients_in_evaluation_mode(after_dense):
    rng = np.random.default_rng(1)
    bn = _bn(4, rng)
    bn.running_mean = rng.normal(size=4)
    bn.running_var = rng.uniform(0.5, 2.0, 4)
    layers = ([cr.Dense(3, 4, seed=1, dtype=np.float64)] if after_dense else []) + [bn]
    net = cr.Sequential(layers)
    X = rng.normal(size=(5, 3 if after_dense else 4))
    report = cr.gradient_check(net, cr.MSE(), X, rng.normal(size=(5, 4)))
    assert report.max_relative_error < 1e-6, str(report)


@pytest.mark.parametrize("after_dense", [False, True])
def test_layernorm_gradients(after_dense):
    rng = np.random.default_rng(2)
    ln = cr.LayerNorm(4, dtype=np.float64)
    ln.gamma, ln.beta = rng.normal(1.0, 0.3, 4), rng.normal(0.0, 0.3, 4)
    layers = ([cr.Dense(3, 4, seed=1, dtype=np.float64)] if after_dense else []) + [ln]
    net = cr.Sequential(layers)
    X = rng.normal(size=(5, 3 if after_dense else 4))
    y = rng.normal(size=(5, 4))
    assert cr.gradient_check(net, cr.MSE(), X, y).max_relative_error < 1e-6
    assert max(training_gradient_errors(net, cr.MSE(), X, y).values()) < 1e-6


@pytest.mark.parametrize("n,features,momentum,eps", [(8, 3, 0.1, 1e-5), (2, 5, 0.3, 1e-3),
                                                     (17, 1, 1.0, 1e-5), (5, 4, 0.0, 0.5)])
def test_batchnorm_matches_torch_in_both_modes(n, features, momentum, eps):
    rng = np.random.default_rng(n + features)
    ours = _bn(features, rng, momentum=momentum, eps=eps)
    theirs = torch.nn.BatchNorm1d(features, momentum=momentum, eps=eps).double()
    with torch.no_grad():
        theirs.weight.copy_(to_torch(ours.gamma))
        theirs.bias.copy_(to_torch(ours.beta))
    # a few training batches: outputs, every gradient, and the running statistics after each
    for step in range(3):
        X = rng.normal(2.0, 3.0, size=(n, features))
        dA = rng.normal(size=(n, features))
        A = ours.forward(X)
        dX = ours.backward(dA)
        Xt = to_torch(X, requires_grad=True)
        theirs.train()
        theirs.zero_grad()
        At = theirs(Xt)
        At.backward(to_torch(dA))
        assert_close(A, At, f"train forward, step {step}")
        assert_close(dX, Xt.grad, f"train dX, step {step}")
        assert_close(ours.dgamma, theirs.weight.grad, f"dgamma, step {step}")
        assert_close(ours.dbeta, theirs.bias.grad, f"dbeta, step {step}")
        assert_close(ours.running_mean, theirs.running_mean, f"running_mean, step {step}")
        assert_close(ours.running_var, theirs.running_var, f"running_var, step {step}")
    # evaluation: the running statistics normalise, and are left alone
    ours.training = False
    theirs.eval()
    X = rng.normal(size=(n, features))
    dA = rng.normal(size=(n, features))
    saved = ours.running_mean.copy()
    A, dX = ours.forward(X), ours.backward(dA)
    Xt = to_torch(X, requires_grad=True)
    theirs.zero_grad()
    At = theirs(Xt)
    At.backward(to_torch(dA))
    assert_close(A, At, "eval forward")
    assert_close(dX, Xt.grad, "eval dX")
    assert_close(ours.dgamma, theirs.weight.grad, "eval dgamma")
    assert_close(ours.dbeta, theirs.bias.grad, "eval dbeta")
    np.testing.assert_array_equal(ours.running_mean, saved)


@pytest.mark.parametrize("n,features,eps", [(4, 6, 1e-5), (1, 3, 1e-3), (7, 2, 1e-5)])
def test_layernorm_matches_torch(n, features, eps):
    rng = np.random.default_rng(features)
    ours = cr.LayerNorm(features, eps=eps, dtype=np.float64)
    ours.gamma, ours.beta = rng.normal(1, 0.3, features), rng.normal(0, 0.3, features)
    theirs = torch.nn.LayerNorm(features, eps=eps).double()
    with torch.no_grad():
        theirs.weight.copy_(to_torch(ours.gamma))
        theirs.bias.copy_(to_torch(ours.beta))
    X, dA = rng.normal(1.0, 2.0, size=(n, features)), rng.normal(size=(n, features))
    A, dX = ours.forward(X), ours.backward(dA)
    Xt = to_torch(X, requires_grad=True)
    At = theirs(Xt)
    At.backward(to_torch(dA))
    assert_close(A, At, "forward")
    assert_close(dX, Xt.grad, "dX")
    assert_close(ours.dgamma, theirs.weight.grad, "dgamma")
    assert_close(ours.dbeta, theirs.bias.grad, "dbeta")


def test_buffers_are_declared_and_follow_the_network_dtype():
    assert cr.BatchNorm.buffers == ("running_mean", "running_var")
    assert cr.LayerNorm.buffers == () and cr.Dense.buffers == ()
    bn = cr.BatchNorm(3)
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32
    net = cr.Sequential([cr.Dense(2, 3), bn], dtype=np.float64)
    assert net[1].running_mean.dtype == np.float64 and net[1].gamma.dtype == np.float64
    copy = net.copy(dtype=np.float32)
    assert copy[1].running_var.dtype == np.float32


@pytest.mark.parametrize("layer", [cr.BatchNorm(3), cr.LayerNorm(3)])
def test_float32_stays_float32(layer):
    X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    A = layer.forward(X)
    dX = layer.backward(np.ones_like(A))
    assert A.dtype == dX.dtype == layer.dgamma.dtype == np.float32
    if layer.buffers:
        assert layer.running_mean.dtype == layer.running_var.dtype == np.float32


def test_fit_trains_batch_statistics_and_predict_uses_running_ones():
    rng = np.random.default_rng(3)
    X = rng.normal(5.0, 2.0, size=(64, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    net = cr.Sequential([cr.BatchNorm(3, dtype=np.float64), cr.Dense(3, 1, seed=0, dtype=np.float64)])
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), epochs=3, batch_size=16,
            seed=0, verbose=0)
    bn = net[0]
    assert not np.allclose(bn.running_mean, 0) and bn.training  # fit restores the mode it found
    expected = ((X - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) * bn.gamma + bn.beta) \
        @ net[1].W + net[1].b
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-12)
    assert bn.training  # predict switched to evaluation mode only while predicting


def test_batchnorm_errors_name_the_problem():
    with pytest.raises(ValueError, match="at least 2 rows"):
        cr.BatchNorm(3).forward(np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm\(4\) expects 4 input features.*gives 3"):
        cr.Sequential([cr.Dense(2, 3), cr.BatchNorm(4)])
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\], got 1.5"):
        cr.BatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be > 0, got 0"):
        cr.LayerNorm(3, eps=0)
    with pytest.raises(RuntimeError, match="before forward"):
        cr.LayerNorm(3).backward(np.ones((2, 3)))
    bn = cr.BatchNorm(3)
    bn.training = False
    assert bn.forward(np.ones((1, 3), np.float32)).shape == (1, 3)  # evaluation needs no batch


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 9), st.integers(1, 5)),
              elements=st.floats(-1e3, 1e3)), st.floats(1e-5, 1e-1))
def test_standardised_columns_and_rows(X, eps):
    # BatchNorm (γ = 1, β = 0) gives each column mean 0 and variance σ²/(σ² + ε);
    # LayerNorm does the same for each row
    for layer, axis in ((cr.BatchNorm(X.shape[1], eps=eps, dtype=np.float64), 0),
                        (cr.LayerNorm(X.shape[1], eps=eps, dtype=np.float64), 1)):
        A = layer.forward(X)
        var = X.var(axis=axis)
        np.testing.assert_allclose(A.mean(axis=axis), 0, atol=1e-9)
        np.testing.assert_allclose(A.var(axis=axis), var / (var + eps), rtol=1e-9, atol=1e-9)
        # the backward pass of a standardisation sends no gradient along a constant shift
        dX = layer.backward(np.ones_like(A))
        np.testing.assert_allclose(dX, 0, atol=1e-9 * max(1.0, float(np.abs(X).max())))


def test_running_statistics_keep_the_networks_dtype_and_the_file_loads(tmp_path):
    net = cr.Sequential([cr.Dense(3, 4, seed=0), cr.BatchNorm(4)])
    net.forward(np.random.default_rng(0).standard_normal((8, 3)))   # float64 X, float32 net
    assert net.layers[1].running_mean.dtype == np.float32 == net.layers[1].running_var.dtype
    net.save(tmp_path / "m.safetensors")
    assert cr.load(tmp_path / "m.safetensors").layers[1].running_var.dtype == np.float32
