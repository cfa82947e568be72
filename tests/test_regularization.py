"""L1/L2 penalties on Dense layers, and gradient clipping in fit."""
import numpy as np
import pytest
import torch
from training_checks import assert_close, to_torch

import chainrule as cr


def _net(l1=0.0, l2=0.0):
    return cr.Sequential([cr.Dense(3, 5, seed=0, dtype=np.float64, l1=l1, l2=l2), cr.Tanh(),
                          cr.Dense(5, 2, seed=1, dtype=np.float64, l2=l2 / 2)])


@pytest.mark.parametrize("l1,l2", [(0.0, 0.1), (0.05, 0.0), (0.03, 0.2)])
def test_penalty_matches_torch_loss_and_gradients(l1, l2):
    rng = np.random.default_rng(0)
    net = _net(l1, l2)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    value = net.forward_backward(X, y, cr.MSE())
    # the same network in torch, the penalty written into the loss
    W1, b1, W2, b2 = (to_torch(a, requires_grad=True) for a in
                      (net[0].W, net[0].b, net[2].W, net[2].b))
    A = torch.tanh(to_torch(X) @ W1 + b1) @ W2 + b2
    L = torch.mean((A - to_torch(y)) ** 2) + l1 * W1.abs().sum() + l2 * (W1 ** 2).sum() \
        + (l2 / 2) * (W2 ** 2).sum()
    L.backward()
    assert abs(value - L.item()) <= 1e-12
    for ours, theirs, name in ((net[0].dW, W1.grad, "dW1"), (net[0].db, b1.grad, "db1"),
                               (net[2].dW, W2.grad, "dW2"), (net[2].db, b2.grad, "db2")):
        assert_close(ours, theirs, name)
    # the reported loss includes the penalty everywhere
    assert abs(net.loss_value(X, y, cr.MSE()) - L.item()) <= 1e-12
    assert abs(net.evaluate(X, y, loss=cr.MSE(), metrics=())["loss"] - L.item()) <= 1e-12


@pytest.mark.parametrize("after_dense", [False, True])
def test_penalised_layers_pass_the_gradient_check(after_dense):
    rng = np.random.default_rng(1)
    layers = ([cr.Dense(3, 4, seed=2, dtype=np.float64, l2=0.3), cr.Sigmoid()] if after_dense
              else []) + [cr.Dense(4, 2, seed=3, dtype=np.float64, l1=0.2, l2=0.1)]
    net = cr.Sequential(layers)
    report = cr.gradient_check(net, cr.MSE(), rng.normal(size=(5, net.n_in)),
                               rng.normal(size=(5, 2)))
    assert report.max_relative_error < 1e-6, str(report)


def test_l2_is_half_of_sgd_weight_decay():
    # l2·Σ W² has gradient 2·l2·W: l2 = λ/2 is SGD's weight_decay λ (on W; b undecayed here)
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    a = cr.Sequential([cr.Dense(3, 1, seed=0, dtype=np.float64, l2=0.05)])
    b = cr.Sequential([cr.Dense(3, 1, seed=0, dtype=np.float64)])
    a.forward_backward(X, y.reshape(-1, 1), cr.MSE())
    cr.SGD(lr=0.1).step(a)
    b.forward_backward(X, y.reshape(-1, 1), cr.MSE())
    b[0].dW += 0.1 * b[0].W
    cr.SGD(lr=0.1).step(b)
    np.testing.assert_allclose(a.flat_params, b.flat_params, rtol=1e-14)


def test_fit_reports_the_penalised_loss():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    plain, penalised = _net(), _net(l2=1.0)
    h_plain = plain.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=1e-9), batch_size=None, verbose=0)
    h_pen = penalised.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=1e-9), batch_size=None,
                          verbose=0, validation_data=(X, y))
    expected = (penalised[0].W ** 2).sum() + 0.5 * (penalised[2].W ** 2).sum()
    assert h_pen["loss"][0] - h_plain["loss"][0] == pytest.approx(expected, rel=1e-6)
    assert h_pen["val_loss"][0] == pytest.approx(penalised.loss_value(X, y, cr.MSE()), rel=1e-12)
    assert penalised.penalty() == pytest.approx(expected, rel=1e-6) and plain.penalty() == 0


def test_penalty_settings_are_checked_and_kept():
    with pytest.raises(ValueError, match="l2 must be >= 0, got -1"):
        cr.Dense(2, 2, l2=-1)
    with pytest.raises(ValueError, match="l1 must be a finite number >= 0, got nan"):
        cr.Dense(2, 2, l1=float("nan"))
    layer = cr.Dense(2, 3, l1=0.01, l2=1e-4)
    assert layer.config()["l1"] == 0.01 and layer.config()["l2"] == 1e-4
    assert "l2" not in cr.Dense(2, 3).config()
    copy = cr.Sequential([layer]).copy()
    assert copy[0].l2 == 1e-4 and copy._penalized == [copy[0]]


def _one_step(clip_norm=None, clip_value=None, scale=1.0):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(10, 3)) * scale, rng.normal(size=(10, 2)) * scale
    net = _net()
    before = net.flat_params.copy()
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=1.0), batch_size=None, verbose=0,
            clip_norm=clip_norm, clip_value=clip_value)
    ref = _net()
    ref.forward_backward(X, y, cr.MSE())
    return before - net.flat_params, ref.flat_grads.copy()   # lr 1: the step is the gradient used


@pytest.mark.parametrize("max_norm", [0.05, 1e6])
def test_clip_norm_matches_torch(max_norm):
    used, raw = _one_step(clip_norm=max_norm, scale=3.0)
    g = to_torch(raw, requires_grad=True)
    g.grad = to_torch(raw)
    torch.nn.utils.clip_grad_norm_([g], max_norm)
    assert_close(used, g.grad, "clipped gradient", tol=1e-12)
    assert (np.linalg.norm(used) <= max_norm + 1e-9) or max_norm == 1e6


def test_clip_value_matches_torch():
    used, raw = _one_step(clip_value=0.1, scale=3.0)
    g = to_torch(raw, requires_grad=True)
    g.grad = to_torch(raw)
    torch.nn.utils.clip_grad_value_([g], 0.1)
    assert np.abs(raw).max() > 0.1  # the clip really bit
    assert_close(used, g.grad, "clipped gradient", tol=1e-12)


def test_clip_settings_are_checked():
    X, y = np.ones((4, 3)), np.ones((4, 2))
    for bad, rule in ((0, "> 0"), (-1.0, "> 0"), (float("inf"), "a finite number > 0")):
        with pytest.raises(ValueError, match=f"clip_norm must be {rule}, got {bad!r}"):
            _net().fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), clip_norm=bad, verbose=0)
    with pytest.raises(TypeError, match="clip_value must be a number > 0, got '1'"):
        _net().fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), clip_value="1", verbose=0)


def test_the_regularization_example_overfits_then_generalises(tmp_path):
    import pathlib
    import runpy
    example = pathlib.Path(__file__).parents[1] / "examples" / "regularization.py"
    figure = tmp_path / "curves.png"
    result = runpy.run_path(str(example))["main"](str(figure))
    assert figure.stat().st_size > 0
    plain, h_plain = result["plain"]
    regular, h_reg = result["regularised"]
    # plain: the training loss goes to ~0 while the validation loss turns and climbs
    assert h_plain["loss"][-1] < 0.01
    assert h_plain["val_loss"][-1] > 3 * min(h_plain["val_loss"])
    # regularised: stopped early, and the weights kept generalise better
    assert len(h_reg["loss"]) < len(h_plain["loss"])
    kept = regular.evaluate(*result["validation"], loss=cr.CrossEntropy())
    last = plain.evaluate(*result["validation"], loss=cr.CrossEntropy())
    assert kept["loss"] == pytest.approx(min(h_reg["val_loss"]), rel=1e-6)
    assert kept["loss"] < last["loss"] / 3 and kept["accuracy"] > last["accuracy"]
