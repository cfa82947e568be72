"""PeriodicEmbedding (RealMLP's PBLD): forward and backward against a PyTorch twin written
here, central differences alone and after another layer, the ledger, model files, dtypes."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr

from conftest import assert_close, raw_model_file

torch = pytest.importorskip("torch")


def _torch_twin(layer, X, dA):
    """The same equations in torch autograd: Φ = 2π·x·w + b, E = cos Φ·V + c per numeric
    column, A = X ⊕ E; returns A and the gradients of Σ A ⊙ dA."""
    m = layer.n_numeric
    Xt = torch.tensor(X, requires_grad=True)
    w, b, V, c = (torch.tensor(getattr(layer, p), requires_grad=True) for p in layer.params)
    Phi = 2 * math.pi * Xt[:, :m, None] * w + b                       # (n, m, f)
    E = torch.einsum("nmf,mfd->nmd", torch.cos(Phi), V) + c           # (n, m, d)
    A = torch.cat([Xt, E.reshape(len(X), -1)], dim=1)
    A.backward(torch.tensor(dA))
    return A.detach().numpy(), Xt.grad, {"w": w.grad, "b": b.grad, "V": V.grad, "c": c.grad}


@pytest.mark.parametrize("n, n_in, m, f, d", [(7, 4, 2, 16, 3), (5, 3, 3, 4, 2), (1, 1, 1, 1, 1),
                                             (9, 6, 1, 5, 4)])
def test_forward_and_backward_equal_torch(n, n_in, m, f, d, rng):
    layer = cr.PeriodicEmbedding(n_in, m, f, d, sigma=0.7, seed=rng, dtype=np.float64)
    X = rng.standard_normal((n, n_in))
    dA = rng.standard_normal((n, n_in + m * d))
    A = layer.forward(X)
    dX = layer.backward(dA)
    A_t, dX_t, grads = _torch_twin(layer, X, dA)
    assert A.shape == (n, layer.output_features(n_in))
    assert_close(A, A_t, 1e-7, "A")
    assert_close(dX, dX_t, 1e-7, "dX")
    for p in layer.params:
        assert_close(getattr(layer, "d" + p), grads[p], 1e-7, "d" + p)
    assert layer.backward(dA, need_dX=False) is None                  # the first layer's call


def test_backward_leaves_da_alone_and_the_first_columns_are_the_input(rng):
    layer = cr.PeriodicEmbedding(3, 2, 4, 2, seed=rng, dtype=np.float64)
    X = rng.standard_normal((4, 3))
    A = layer.forward(X)
    np.testing.assert_array_equal(A[:, :3], X)                        # DenseNet style: X kept
    dA = rng.standard_normal(A.shape)
    before = dA.copy()
    dX = layer.backward(dA)
    np.testing.assert_array_equal(dA, before)
    np.testing.assert_array_equal(dX[:, 2], dA[:, 2])                 # a passed-only column


@pytest.mark.parametrize("after_dense", [False, True])
def test_gradients_match_central_differences(after_dense, rng):
    """Alone (its dX checked too) and after a Dense layer, then Tanh and a Dense head."""
    first = [cr.Dense(2, 3, seed=rng, dtype=np.float64)] if after_dense else []
    net = cr.Sequential([*first, cr.PeriodicEmbedding(3, 2, 5, 2, sigma=0.5, seed=rng),
                         cr.Tanh(), cr.Dense(7, 2, seed=rng)], dtype=np.float64)
    X = rng.standard_normal((6, 2 if after_dense else 3))
    report = cr.gradient_check(net, cr.MSE(), X, rng.standard_normal((6, 2)))
    assert report.max_relative_error <= 1e-6, str(report)
    names = [row[0] for row in report.rows]
    assert {f"d{p} (layer {len(first)})" for p in ("w", "b", "V", "c")} <= set(names), names


def test_initial_values_follow_realmlp(rng):
    layer = cr.PeriodicEmbedding(40, 30, seed=0, dtype=np.float64)
    assert layer.w.shape == layer.b.shape == (30, 16) and layer.V.shape == (30, 16, 3)
    assert layer.c.shape == (30, 3) and layer.output_features(40) == 40 + 30 * 3
    assert abs(layer.w.std() - 0.1) < 0.01 and abs(layer.w.mean()) < 0.01
    assert -math.pi <= layer.b.min() and layer.b.max() <= math.pi and layer.b.std() > 1.5
    assert np.abs(layer.V).max() <= 0.25 and np.abs(layer.c).max() <= 0.25  # 1/√16
    again = cr.PeriodicEmbedding(40, 30, seed=0, dtype=np.float64)
    np.testing.assert_array_equal(again.V, layer.V)


def test_a_network_learns_a_periodic_target_a_plain_one_draws_poorly():
    """y = sin(6x) on [−1, 1]: with the code the first layer sees cosines of x."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (400, 1))
    y = np.sin(6 * X[:, 0])
    losses = {}
    for name, first in (("plain", []), ("periodic", [cr.PeriodicEmbedding(1, 1, sigma=1.0,
                                                                          seed=0)])):
        width = 1 + 3 * bool(first)
        net = cr.Sequential([*first, *cr.mlp([width, 16, 1], seed=0).layers])
        net.fit(X, y, loss=cr.MSE(), optimizer=cr.Adam(lr=0.01), epochs=150, batch_size=32,
                verbose=0, seed=0)
        losses[name] = net.loss_value(X.astype(np.float32), y[:, None].astype(np.float32),
                                      cr.MSE())
    assert losses["periodic"] < 0.01 < losses["plain"], losses


def test_saves_loads_and_the_ledger_shows_its_equations(tmp_path, rng):
    net = cr.Sequential([cr.PeriodicEmbedding(3, 2, 4, 2, seed=rng), cr.ReLU(),
                         cr.Dense(7, 1, seed=rng)])
    X = rng.standard_normal((5, 3)).astype(np.float32)
    net.save(tmp_path / "p.safetensors")
    loaded = cr.load(tmp_path / "p.safetensors")
    assert repr(loaded[0]) == ("PeriodicEmbedding(n_in=3, n_numeric=2, n_frequencies=4, n_out=2, "
                               "sigma=0.1)")
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    trace = net.trace(X, np.zeros(5), cr.MSE())
    forward, backward = trace.get(0, "forward"), trace.get(0, "backward")
    assert forward.equation.startswith("A = X ⊕ E,  E_ij = cos(2π·X_ij·w_j + b_j)·V_j + c_j")
    assert "dV_j = Σ_i H_ijᵀ·dE_ij" in backward.equation
    np.testing.assert_allclose(forward.values["A"][:, :3], X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype, rng):
    layer = cr.PeriodicEmbedding(2, 1, 3, 2, dtype=dtype, seed=rng)
    A = layer.forward(rng.standard_normal((4, 2)).astype(dtype))
    assert A.dtype == dtype and all(getattr(layer, p).dtype == dtype for p in layer.params)
    dX = layer.backward(np.ones((4, 4), dtype))
    assert dX.dtype == dtype and all(getattr(layer, "d" + p).dtype == dtype for p in layer.params)


def test_errors_name_the_argument_and_a_hostile_file_allocates_nothing(tmp_path):
    with pytest.raises(ValueError, match="n_numeric must be in \\[1, 3\\], got 4"):
        cr.PeriodicEmbedding(3, 4)
    with pytest.raises(ValueError, match="sigma must be > 0, got 0"):
        cr.PeriodicEmbedding(3, 1, sigma=0)
    layer = cr.PeriodicEmbedding(3, 1, seed=0)
    with pytest.raises(ValueError, match=r"PeriodicEmbedding expects X of shape \(n, 3\), got \(2, 2\)"):
        layer.forward(np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match=r"PeriodicEmbedding\.backward was called before forward"):
        layer.backward(np.zeros((1, 6)))
    with pytest.raises(ValueError, match="PeriodicEmbedding takes 3 columns, the layer before it gives 2"):
        cr.Sequential([cr.Dense(1, 2), cr.PeriodicEmbedding(3, 1)])
    arch = [{"class": "PeriodicEmbedding",
             "config": {"n_in": 4, "n_numeric": 4, "n_frequencies": 10**4, "n_out": 10**4}}]
    (tmp_path / "bad.st").write_bytes(raw_model_file(arch, {"layers.0.w": np.zeros((4, 4),
                                                                                np.float32)}))
    with pytest.raises(ValueError, match=r"n_frequencies=10000, more than the 16 numbers"):
        cr.load(tmp_path / "bad.st")
