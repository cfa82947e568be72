"""Embedding: a lookup A = W[X] and its scatter-add backward, against torch and central differences."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from conftest import assert_close, numeric_gradient, raw_model_file

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n, n_in, k, d", [(7, 1, 4, 3), (5, 3, 6, 2), (1, 1, 1, 1), (9, 2, 3, 5)])
def test_forward_and_backward_equal_torch_embedding(n, n_in, k, d, rng):
    layer = cr.Embedding(k, d, n_in=n_in, seed=rng, dtype=np.float64)
    X = rng.integers(0, k, (n, n_in))
    X[0, 0] = X[-1, -1]          # an index read twice: its gradients must add up
    dA = rng.standard_normal((n, n_in * d))
    A = layer.forward(X)
    assert layer.backward(dA) is None           # no dX for indices
    twin = torch.nn.Embedding(k, d).double()
    with torch.no_grad():
        twin.weight.copy_(torch.tensor(layer.W))
    out = twin(torch.tensor(X))                  # (n, n_in, d)
    out.backward(torch.tensor(dA.reshape(n, n_in, d)))
    assert_close(A, out.detach().numpy().reshape(n, n_in * d), 1e-7, "A")
    assert_close(layer.dW, twin.weight.grad, 1e-7, "dW")


def test_backward_matches_central_differences_alone_and_before_dense(rng):
    layer = cr.Embedding(5, 3, n_in=2, seed=rng, dtype=np.float64)
    X = np.array([[0, 4], [4, 4], [2, 0]])
    dA = rng.standard_normal((3, 6))
    layer.forward(X)
    layer.backward(dA)
    numeric = numeric_gradient(lambda: float(np.sum(layer.forward(X) * dA)), layer.W)
    assert_close(layer.dW, numeric, 1e-7, "dW alone")
    assert np.all(layer.dW[[1, 3]] == 0)         # rows nobody read get no gradient
    net = cr.Sequential([cr.Embedding(5, 3, n_in=2, seed=rng), cr.Tanh(), cr.Dense(6, 2, seed=rng),
                         cr.Softmax()])
    report = cr.gradient_check(net, cr.CrossEntropy(), X, np.array([0, 1, 1]))
    assert report.max_relative_error <= 1e-6, str(report)
    assert [row[0] for row in report.rows] == ["dW (layer 0)", "dW (layer 2)", "db (layer 2)"]


def test_a_network_learns_a_category_table_and_saves_it(tmp_path, rng):
    X = rng.integers(0, 6, (60, 1))
    y = np.array([0.5, -1.0, 2.0, 0.0, 1.5, -0.5])[X[:, 0]]
    net = cr.Sequential([cr.Embedding(6, 4, seed=0), cr.Tanh(), cr.Dense(4, 1, seed=0)])
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.Adam(lr=0.05), epochs=200, batch_size=None,
            verbose=0)
    assert net.loss_value(X.astype(np.float32), y.reshape(-1, 1).astype(np.float32), cr.MSE()) < 1e-3
    net.save(tmp_path / "embed.safetensors")
    loaded = cr.load(tmp_path / "embed.safetensors")
    assert repr(loaded.layers[0]) == "Embedding(n_categories=6, n_out=4)"
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_the_ledger_shows_the_lookup_and_the_scatter_add(rng):
    net = cr.Sequential([cr.Embedding(3, 2, seed=1), cr.Dense(2, 1, seed=1)], dtype=np.float64)
    X = np.array([[2], [0], [2]])
    trace = net.trace(X, np.array([1.0, 0.0, -1.0]), cr.MSE())
    forward, backward = trace.get(0, "forward"), trace.get(0, "backward")
    assert forward.equation == "A = W[X]"
    np.testing.assert_array_equal(forward.values["A"], net[0].W[[2, 0, 2]])
    assert backward.equation.startswith("dW_c = Σ_{i: X_i = c} dA_i")
    assert "dX" not in backward.values
    dA = backward.values["dA"]
    np.testing.assert_allclose(backward.values["dW"], [dA[1], [0, 0], dA[0] + dA[2]], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype, rng):
    layer = cr.Embedding(4, 2, dtype=dtype, seed=rng)
    A = layer.forward(np.array([[1.0], [3.0]]))     # whole floats, as a table gives them
    assert A.dtype == dtype and layer.W.dtype == dtype
    layer.backward(np.ones((2, 2), dtype))
    assert layer.dW.dtype == dtype


def test_bad_indices_and_places_are_clear_errors():
    layer = cr.Embedding(3, 2, seed=0)
    for X, found in [(np.array([[3]]), "3"), (np.array([[-1]]), "-1"), (np.array([[0.5]]), "0.5")]:
        with pytest.raises(ValueError, match=rf"Embedding indices must be whole numbers in \[0, 2\], "
                                             rf"found {found}"):
            layer.forward(X)
    with pytest.raises(ValueError, match=r"Embedding expects indices of shape \(n, 1\), got \(2, 2\)"):
        layer.forward(np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match=r"Embedding\.backward was called before forward"):
        cr.Embedding(3, 2).backward(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"layers\[1\] is Embedding.*must be the first layer"):
        cr.Sequential([cr.Dense(1, 1), cr.Embedding(3, 2)])
    with pytest.raises(ValueError, match="n_categories must be >= 1, got 0"):
        cr.Embedding(0, 2)


# -- CategoryEmbedding: numbers and categories in ------------------------------------------

def _torch_category_embedding(layer, X):
    """The torch twin: numbers passed through, each index column through its own nn.Embedding."""
    p = layer.n_numeric
    tables, start = [], 0
    for k in layer.n_categories:
        table = torch.nn.Embedding(k, layer.n_out).double()
        with torch.no_grad():
            table.weight.copy_(torch.tensor(layer.W[start:start + k]))
        tables.append(table)
        start += k
    X_num = torch.tensor(X[:, :p], requires_grad=True)
    index = torch.tensor(X[:, p:].astype(np.int64))
    out = torch.cat([X_num, *[t(index[:, j]) for j, t in enumerate(tables)]], dim=1)
    return out, tables


@pytest.mark.parametrize("n_numeric, sizes", [(2, [3, 5]), (0, [4]), (3, [1, 2, 6])])
def test_category_embedding_equals_torch(n_numeric, sizes, rng):
    layer = cr.CategoryEmbedding(n_numeric, sizes, 3, seed=rng, dtype=np.float64)
    n = 8
    X = np.hstack([rng.standard_normal((n, n_numeric)),
                   np.stack([rng.integers(0, k, n) for k in sizes], axis=1).astype(np.float64)])
    A = layer.forward(X)
    dA = rng.standard_normal(A.shape)
    assert layer.backward(dA) is None
    out, tables = _torch_category_embedding(layer, X)
    out.backward(torch.tensor(dA))
    assert_close(A, out.detach().numpy(), 1e-7, "A")
    expected = np.concatenate([t.weight.grad.numpy() for t in tables])
    assert_close(layer.dW, expected, 1e-7, "dW")


def test_category_embedding_in_a_network_checks_saves_and_traces(tmp_path, rng):
    net = cr.Sequential([cr.CategoryEmbedding(2, [3, 4], 2, seed=rng), cr.Tanh(),
                         cr.Dense(6, 1, seed=rng)], dtype=np.float64)
    X = np.array([[0.5, -1.0, 2, 3], [1.5, 0.0, 0, 3], [-0.2, 0.3, 2, 0]])
    y = np.array([1.0, 0.0, -1.0])
    report = cr.gradient_check(net, cr.MSE(), X, y)
    assert report.max_relative_error <= 1e-6, str(report)
    net.save(tmp_path / "mixed.safetensors")
    loaded = cr.load(tmp_path / "mixed.safetensors")
    assert repr(loaded[0]) == "CategoryEmbedding(n_numeric=2, n_categories=[3, 4], n_out=2)"
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    step = net.trace(X, y, cr.MSE()).get(0, "forward")
    assert step.equation == "A = X_num ⊕ W[X_1 + o_1] ⊕ … ⊕ W[X_c + o_c]"
    np.testing.assert_array_equal(step.values["A"][:, 2:4], net[0].W[[2, 0, 2]])      # column 1
    np.testing.assert_array_equal(step.values["A"][:, 4:], net[0].W[[3 + 3, 3 + 3, 3 + 0]])


def test_category_embedding_errors_and_a_hostile_file(tmp_path):
    layer = cr.CategoryEmbedding(1, [2, 3], 2, seed=0)
    with pytest.raises(ValueError, match=r"Embedding indices must be whole numbers in \[0, 2\], "
                                         r"found 3.0 at \(0, 1\)"):
        layer.forward(np.array([[0.5, 1, 3]]))
    with pytest.raises(ValueError, match=r"expects X of shape \(n, 3\): 1 numeric and 2 index"):
        layer.forward(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="n_categories must list the categories"):
        cr.CategoryEmbedding(1, 3, 2)
    with pytest.raises(ValueError, match=r"n_categories\[1\] must be >= 1, got 0"):
        cr.CategoryEmbedding(1, [2, 0], 2)
    arch = [{"class": "CategoryEmbedding",
             "config": {"n_numeric": 1, "n_categories": [10**6, 10**6], "n_out": 2}}]
    (tmp_path / "bad.st").write_bytes(raw_model_file(arch, {"layers.0.W": np.zeros((3, 2),
                                                                                np.float32)}))
    with pytest.raises(ValueError, match=r"n_categories=2000000, more than the 6 numbers"):
        cr.load(tmp_path / "bad.st")
