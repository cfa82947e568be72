"""MAE, Huber and CrossEntropy with label smoothing: gradients and PyTorch parity."""
import numpy as np
import pytest
import torch
from training_checks import assert_close, to_torch

import chainrule as cr

REGRESSION = [
    (cr.MAE(), lambda: torch.nn.L1Loss()),
    (cr.Huber(), lambda: torch.nn.HuberLoss()),
    (cr.Huber(delta=0.3), lambda: torch.nn.HuberLoss(delta=0.3)),
]


@pytest.mark.parametrize("loss,make_torch", REGRESSION, ids=repr)
def test_regression_losses_match_torch(loss, make_torch):
    rng = np.random.default_rng(0)
    A, Y = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    value = loss.forward(A, Y)
    dA = loss.backward()
    At = to_torch(A, requires_grad=True)
    Lt = make_torch()(At, to_torch(Y))
    Lt.backward()
    assert abs(value - Lt.item()) <= 1e-12
    assert_close(dA, At.grad, "dA")
    np.testing.assert_allclose(loss.rows(A, Y).mean(), value, rtol=1e-13)


@pytest.mark.parametrize("loss,_", REGRESSION, ids=repr)
@pytest.mark.parametrize("after_dense", [False, True])
def test_regression_loss_gradients(loss, _, after_dense):
    rng = np.random.default_rng(1)
    net = cr.Sequential([cr.Dense(4, 3, seed=0, dtype=np.float64)] if after_dense
                        else [cr.Identity()], dtype=np.float64)
    X = rng.normal(size=(6, 4 if after_dense else 3))
    report = cr.gradient_check(net, loss, X, rng.normal(size=(6, 3)))
    assert report.max_relative_error < 1e-6, str(report)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.35])
@pytest.mark.parametrize("soft_targets", [False, True])
def test_label_smoothing_matches_torch_fused_and_unfused(smoothing, soft_targets):
    rng = np.random.default_rng(2)
    n, k = 8, 4
    Z = rng.normal(size=(n, k))
    if soft_targets:
        y = rng.dirichlet(np.ones(k), size=n)
        target = to_torch(y)
    else:
        y = rng.integers(0, k, n)
        target = torch.tensor(y)
    loss = cr.CrossEntropy(label_smoothing=smoothing)
    Y = loss.prepare(y, k, np.float64)
    Zt = to_torch(Z, requires_grad=True)
    Lt = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)(Zt, target)
    Lt.backward()
    # fused: logits in, dZ out
    value = loss.forward_logits(Z, Y)
    assert abs(value - Lt.item()) <= 1e-12
    assert_close(loss.backward_logits(), Zt.grad, "fused dZ")
    # unfused: Softmax then the loss on probabilities, dZ through Softmax.backward
    softmax = cr.Softmax()
    value = loss.forward(softmax.forward(Z), Y)
    assert abs(value - Lt.item()) <= 1e-12
    assert_close(softmax.backward(loss.backward()), Zt.grad, "unfused dZ")


@pytest.mark.parametrize("after_dense", [False, True])
def test_label_smoothing_gradients(after_dense):
    rng = np.random.default_rng(3)
    layers = ([cr.Dense(3, 4, seed=0, dtype=np.float64)] if after_dense else []) + [cr.Softmax()]
    net = cr.Sequential(layers, dtype=np.float64)
    X = rng.normal(size=(5, 3 if after_dense else 4))
    y = np.eye(4)[rng.integers(0, 4, 5)]  # one-hot: a net of Softmax alone has no width to read
    report = cr.gradient_check(net, cr.CrossEntropy(label_smoothing=0.2), X, y)
    assert report.max_relative_error < 1e-6, str(report)


def test_rows_average_to_the_loss_for_every_loss():
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(6, 3))
    P = cr.Softmax().forward(Z)
    labels = rng.integers(0, 3, 6)
    ce = cr.CrossEntropy()
    assert np.isclose(ce.rows(P, labels).mean(), ce.forward(P, labels), rtol=1e-13)
    assert np.isclose(ce.rows_logits(Z, labels).mean(), ce.forward_logits(Z, labels), rtol=1e-13)
    bce, S = cr.BinaryCrossEntropy(), cr.Sigmoid().forward(Z)
    Y = (rng.random((6, 3)) > 0.5).astype(float)
    assert np.isclose(bce.rows(S, Y).mean(), bce.forward(S, Y), rtol=1e-13)
    assert np.isclose(bce.rows_logits(Z, Y).mean(), bce.forward_logits(Z, Y), rtol=1e-13)
    assert np.isclose(cr.MSE().rows(Z, Y).mean(), cr.MSE().forward(Z, Y), rtol=1e-13)


def test_trains_and_keeps_float32():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(64, 2)).astype(np.float32)
    y = (X @ np.array([1.0, -1.0]) + rng.normal(0, 0.1, 64)).astype(np.float32)
    y[:3] += 20.0  # a few outliers, what these losses are for
    for loss in (cr.MAE(), cr.Huber(0.5)):
        net = cr.mlp([2, 8, 1], seed=0)
        h = net.fit(X, y, loss=loss, optimizer=cr.Adam(lr=2e-2), epochs=40, verbose=0, seed=0)
        assert h["loss"][-1] < 0.5 * h["loss"][0]
        assert net.predict(X).dtype == np.float32
        assert loss.forward(net.predict(X), y.reshape(-1, 1)) >= 0


def test_names_and_errors():
    from chainrule import names
    assert isinstance(names.loss("huber"), cr.Huber) and isinstance(names.loss("l1"), cr.MAE)
    with pytest.raises(ValueError, match="delta must be"):
        cr.Huber(delta=0)
    with pytest.raises(ValueError, match="label_smoothing must be"):
        cr.CrossEntropy(label_smoothing=1.5)
    assert repr(cr.CrossEntropy(label_smoothing=0.1)) == "CrossEntropy(label_smoothing=0.1)"
