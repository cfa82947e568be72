"""The fused step: each epilogue kernel and its NumPy twin against the layers of ``nn/``,
fit's planned step against the textbook walk and against PyTorch on both engines, and
the guard of the one-pass optimizer kernels.

``kernels.bias_activation``/``activation_backward`` (numba) and
``epilogues.bias_activation``/``activation_backward`` (NumPy) must equal
``Dense`` + the activation layer to rounding: every activation, float32 and
float64, odd shapes, and inputs in C order, Fortran order and strided.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import engine as _engine
from chainrule.engine import epilogues

from conftest import FORCED_NUMPY, assert_blas_close, assert_close, sums_length, torch_twin
from conftest import numba_works as _numba_works

#: Each epilogue kind and a fresh layer of the activation it stands for.
ACTIVATIONS = {
    "relu": (epilogues.RELU, cr.ReLU), "leaky_relu": (epilogues.LEAKY_RELU, lambda: cr.LeakyReLU(0.2)),
    "sigmoid": (epilogues.SIGMOID, cr.Sigmoid), "tanh": (epilogues.TANH, cr.Tanh),
    "gelu": (epilogues.GELU, cr.GELU), "identity": (epilogues.IDENTITY, cr.Identity),
}
SHAPES = [(1, 1), (7, 13), (33, 5)]
LAYOUTS = ["C", "F", "strided"]


def kernels_module():
    if FORCED_NUMPY or not _numba_works():
        pytest.skip("needs the compiled engine")
    with _engine.using("compiled"):
        return _engine.compiled()


def laid_out(a, layout):
    """A copy of ``a`` in C order, Fortran order, or as a strided view of a larger array."""
    if layout in ("C", "F"):
        return np.array(a, order=layout)
    big = np.zeros((2 * a.shape[0], 3 * a.shape[1]), a.dtype)
    view = big[::2, 1::3]
    view[...] = a
    assert a.size == 1 or not (view.flags.c_contiguous or view.flags.f_contiguous)
    return view


def elementwise_tolerance(dtype, kind):
    """A few units in the last place; GELU's Φ: the layer's erf (2e-13) against libm's."""
    eps = float(np.finfo(dtype).eps)
    return max(16 * eps, 1e-12) if kind == epilogues.GELU else 16 * eps


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("which", ["numpy twin", "kernel"])
def test_an_epilogue_equals_the_layers(which, name, dtype, shape, layout):
    """A = g(Z + b), then dZ = dA ⊙ g'(·) and db = Σ_rows dZ, against Dense and the
    activation layer; the product Z = X·W is the caller's (fed here in each layout)."""
    module = epilogues if which == "numpy twin" else kernels_module()
    kind, make = ACTIVATIONS[name]
    rng = np.random.default_rng([sum(map(ord, name)), *shape])
    n, m = shape
    XW = (3 * rng.standard_normal(shape)).astype(dtype)     # the product, as BLAS left it
    b = rng.standard_normal(m).astype(dtype)
    dA = rng.standard_normal(shape).astype(dtype)
    layer = make()
    A_ref = layer.forward(XW + b)
    dZ_ref = layer.backward(dA)
    db_ref = dZ_ref.sum(axis=0)
    alpha = dtype(getattr(layer, "alpha", 0.0))

    Z = laid_out(XW, layout)
    A = laid_out(np.zeros(shape, dtype), layout) if kind == epilogues.GELU else Z
    module.bias_activation(Z, b, kind, alpha, A)
    tol = elementwise_tolerance(dtype, kind)
    assert A.dtype == dtype
    assert_close(A, A_ref, tol, f"{name} A = g(Z + b)")
    if kind == epilogues.GELU:              # Z + b kept for the backward pass
        assert_close(Z, XW + b, tol, "Z + b")

    dA_in = laid_out(dA, layout)
    dZ = laid_out(np.zeros(shape, dtype), layout)
    db = np.full(m, np.nan, dtype)          # overwritten, not added to
    module.activation_backward(dA_in, A, Z, kind, alpha, dZ, db)
    got = dA_in if kind == epilogues.IDENTITY else dZ
    # g' from A (1 − A², A(1 − A)) moves by |A|·δA for a rounding δA of A: where g' is
    # small, that is large relative to dZ, so the bound is relative to |dA|·max(1, |A|)²
    scale = np.max(np.abs(dA)) * max(1.0, float(np.max(np.abs(A_ref)))) ** 2
    relative = scale / max(float(np.max(np.abs(dZ_ref))), np.finfo(dtype).tiny)
    assert_close(got, dZ_ref, tol * relative, f"{name} dZ = dA ⊙ g'")
    assert_close(db, db_ref, (tol + 4 * n * float(np.finfo(dtype).eps)) * relative,
                 f"{name} db = Σ_rows dZ")
    np.testing.assert_array_equal(dA_in, dA if kind != epilogues.IDENTITY else dA_in)


@pytest.mark.parametrize("which", ["numpy twin", "kernel"])
def test_the_backward_epilogue_may_overwrite_dA_in_place(which):
    module = epilogues if which == "numpy twin" else kernels_module()
    rng = np.random.default_rng(5)
    for name, (kind, make) in ACTIVATIONS.items():
        if kind == epilogues.IDENTITY:
            continue
        Z = rng.standard_normal((6, 4))
        layer = make()
        dA = rng.standard_normal((6, 4))
        A_ref, dZ_ref = layer.forward(Z.copy()), None
        dZ_ref = layer.backward(dA)
        Zc = Z.copy()
        A = np.empty_like(Z) if kind == epilogues.GELU else Zc
        module.bias_activation(Zc, np.zeros(4), kind, getattr(layer, "alpha", 0.0), A)
        d = dA.copy()
        db = np.empty(4)
        module.activation_backward(d, A, Zc, kind, getattr(layer, "alpha", 0.0), d, db)
        assert_close(d, dZ_ref, 1e-12, f"{name} in place")
        assert_close(A, A_ref, 1e-12, f"{name} A")


def test_non_finite_values_pass_through_the_kernels_as_through_numpy():
    """NaN and ±inf: max(NaN, 0) is NaN and inf·0 is NaN, so the guard sees them."""
    kernels = kernels_module()
    Z = np.array([[np.nan, np.inf, -np.inf, 1.0]])
    dA = np.array([[1.0, np.inf, np.inf, np.nan]])
    for name, (kind, make) in ACTIVATIONS.items():
        layer = make()
        with np.errstate(invalid="ignore", over="ignore"):
            A_ref = layer.forward(Z + 0)
            dZ_ref = layer.backward(dA)
        results = []
        for module in (epilogues, kernels):
            Zc = Z.copy()
            A = np.empty_like(Z) if kind == epilogues.GELU else Zc
            dZ, db = np.empty_like(Z), np.empty(4)
            with np.errstate(invalid="ignore", over="ignore"):
                module.bias_activation(Zc, np.zeros(4), kind, getattr(layer, "alpha", 0.0), A)
                module.activation_backward(dA, A, Zc, kind, getattr(layer, "alpha", 0.0), dZ, db)
            results.append((A, dA if kind == epilogues.IDENTITY else dZ))
        for A, dZ in results:
            np.testing.assert_array_equal(np.isnan(A), np.isnan(A_ref), err_msg=f"{name} A")
            np.testing.assert_array_equal(np.isnan(dZ), np.isnan(dZ_ref), err_msg=f"{name} dZ")
            finite = np.isfinite(A_ref)
            np.testing.assert_allclose(A[finite], A_ref[finite], rtol=1e-12, err_msg=name)


# -- fit's planned step -------------------------------------------------------------------

def spied(monkeypatch):
    """Counts of the epilogue kernels' calls."""
    import collections
    calls = collections.Counter()
    kernels = kernels_module()
    for name in ("bias_activation", "activation_backward"):
        def counted(*args, _kernel=getattr(kernels, name), _name=name):
            calls[_name] += 1
            return _kernel(*args)
        monkeypatch.setattr(kernels, name, counted)
    return calls


def network(hidden, output, dtype, seed=0, extra=()):
    """A network above the kernels' MIN_SIZE, with non-zero biases."""
    rng = np.random.default_rng(seed)
    body = cr.mlp([20, 90, 40, 6], hidden=hidden, output=output, seed=rng, dtype=dtype)
    layers = list(body.layers)
    for layer in layers:
        if isinstance(layer, cr.Dense):
            layer.b = rng.normal(0, 0.3, layer.b.shape).astype(dtype)
    layers[2:2] = list(extra)
    net = cr.Sequential(layers, dtype=dtype)
    assert net.n_params >= _engine.MIN_SIZE
    return net


LOSSES = {
    "softmax+CE": ("softmax", cr.CrossEntropy, "labels"),
    "softmax+CE(rows)": ("softmax", lambda: cr.CrossEntropy(label_smoothing=0.1), "rows"),
    "sigmoid+BCE": ("sigmoid", cr.BinaryCrossEntropy, "binary"),
    "identity+MSE": ("identity", cr.MSE, "real"),
    "tanh+MSE": ("tanh", cr.MSE, "real"),
}


def data(kind, rng, n, dtype):
    X = rng.standard_normal((n, 20)).astype(dtype)
    if kind == "labels":
        return X, rng.integers(0, 6, n)
    if kind == "rows":
        return X, rng.integers(0, 6, n)
    if kind == "binary":
        return X, rng.integers(0, 2, (n, 6)).astype(dtype)
    return X, rng.standard_normal((n, 6)).astype(dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "identity"])
@pytest.mark.parametrize("pair", list(LOSSES))
def test_the_planned_step_equals_the_textbook_walk(pair, hidden, dtype, layout, monkeypatch):
    """Inside fit (net.fitting()) the compiled engine runs the plan; outside, the layers one
    by one: the same loss and the same gradients, to BLAS's rounding."""
    calls = spied(monkeypatch)
    output, make_loss, kind = LOSSES[pair]
    net = network(hidden, output, dtype)
    rng = np.random.default_rng([len(pair), len(hidden)])
    X, y = data(kind, rng, 37, dtype)
    loss = make_loss()
    from chainrule.validation import prepare_data
    X, _, Y = prepare_data(net, X, y, loss)
    X = laid_out(X, layout)
    with _engine.using("compiled"):
        expected = net.forward_backward(X, Y, loss)      # outside fit: the textbook walk
        grads = net.flat_grads.copy()
        assert calls["bias_activation"] == 0
        with net.fitting():
            got = net.forward_backward(X, Y, loss)
            second = net.forward_backward(X[:5], Y[:5], loss)   # another batch size
    assert calls["bias_activation"] == 6 and calls["activation_backward"] == 6
    length = sums_length(net) + len(X)
    # the loss is a Python float summed from the dtype's logits: compare at the dtype's precision
    assert_blas_close(np.asarray(got, dtype), np.asarray(expected, dtype), length, "loss")
    with net.fitting():
        again = net.forward_backward(X, Y, loss)
    assert_blas_close(np.asarray(again, dtype), np.asarray(expected, dtype), length, "loss again")
    assert_blas_close(net.flat_grads, grads, length, "gradients")
    assert np.isfinite(second)


def test_layers_the_plan_does_not_fuse_run_as_themselves(monkeypatch):
    """Dropout and BatchNorm between the pairs, an L2 penalty, and a Dense layer at the end
    (the identity epilogue): the planned step still equals the textbook walk."""
    calls = spied(monkeypatch)
    dtype = np.float64
    net = network("relu", "identity", dtype, extra=[cr.BatchNorm(90), cr.Dropout(0.0)])
    net.layers[0].l2 = 0.01
    net = cr.Sequential(net.layers, dtype=dtype)
    rng = np.random.default_rng(2)
    X, Y = data("real", rng, 19, dtype)
    with _engine.using("compiled"):
        expected = net.forward_backward(X, Y, cr.MSE())
        grads = net.flat_grads.copy()
        with net.fitting():
            got = net.forward_backward(X, Y, cr.MSE())
    assert calls["bias_activation"] == 3
    assert_blas_close(np.asarray(got), np.asarray(expected), sums_length(net) + len(X), "loss")
    assert_blas_close(net.flat_grads, grads, sums_length(net) + len(X), "gradients")


def test_after_the_compiled_cross_entropy_the_loss_holds_no_stale_probabilities():
    """The kernel gives dZ itself and leaves the loss no A: a backward_logits() after it must
    be the clear error, not the gradient of an earlier call's probabilities."""
    kernels_module()
    net = network("relu", "softmax", np.float64)
    rng = np.random.default_rng(4)
    X, y = data("labels", rng, 11, np.float64)
    loss = cr.CrossEntropy()
    with _engine.using("compiled"):
        net.loss_value(X, y, loss)            # the textbook forward_logits: loss.A is set
        loss.forward_logits(net.forward(X), y)
        assert loss.A is not None
        with net.fitting():
            net.forward_backward(X, y, loss)  # the kernel's path
    with pytest.raises(RuntimeError, match="backward was called before forward"):
        loss.backward_logits()


def test_the_ledger_records_every_array_while_fit_runs_the_plan(monkeypatch):
    """net.trace takes the textbook walk (every layer's arrays); fit takes the plan."""
    calls = spied(monkeypatch)
    net = network("tanh", "softmax", np.float32)
    rng = np.random.default_rng(3)
    X, y = data("labels", rng, 8, np.float32)
    with _engine.using("compiled"):
        ledger = net.trace(X, y, cr.CrossEntropy())
        assert calls["bias_activation"] == 0
        net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(), epochs=2, batch_size=4,
                verbose=0)
    assert calls["bias_activation"] == 2 * 2 * 3
    forward = [step for step in ledger.steps if step.phase == "forward"]
    assert len(forward) >= len(net.layers)


# -- the whole step against PyTorch, on both engines -------------------------------------------

@pytest.mark.parametrize("hidden", ["relu", "leaky_relu", "sigmoid", "tanh", "gelu"])
@pytest.mark.parametrize("pair", ["softmax+CE", "sigmoid+BCE", "identity+MSE"])
def test_fit_matches_torch_on_both_engines(pair, hidden, engine):
    """Three epochs of mini-batch Adam, in order, in float64: the weights equal torch's."""
    torch = pytest.importorskip("torch")
    output, make_loss, kind = LOSSES[pair]
    net = network(hidden, output, np.float64, seed=4)
    rng = np.random.default_rng([9, len(hidden)])
    X, y = data(kind, rng, 24, np.float64)
    twin = torch_twin(net, drop_last=pair == "softmax+CE")
    if hidden == "leaky_relu":
        for module in twin:
            if isinstance(module, torch.nn.LeakyReLU):
                assert module.negative_slope == 0.01
    t_loss = {"softmax+CE": torch.nn.functional.cross_entropy,
              "sigmoid+BCE": torch.nn.functional.binary_cross_entropy,
              "identity+MSE": torch.nn.functional.mse_loss}[pair]
    t_opt = torch.optim.Adam(twin.parameters(), lr=0.01)
    net.fit(X, y, loss=make_loss(), optimizer=cr.Adam(0.01), epochs=3, batch_size=8,
            shuffle=False, verbose=0)
    t_y = torch.tensor(y)
    for _ in range(3):
        for start in range(0, len(X), 8):
            t_opt.zero_grad()
            t_loss(twin(torch.tensor(X[start:start + 8])), t_y[start:start + 8]).backward()
            t_opt.step()
    linears = [m for m in twin if isinstance(m, torch.nn.Linear)]
    dense = [layer for layer in net.layers if isinstance(layer, cr.Dense)]
    for i, (layer, linear) in enumerate(zip(dense, linears)):
        assert_close(layer.W, linear.weight.detach().numpy().T, 1e-7, f"W of Dense {i}")
        assert_close(layer.b, linear.bias.detach().numpy(), 1e-7, f"b of Dense {i}")


# -- the guard of the one-pass optimizer kernels --------------------------------------------

@pytest.mark.parametrize("name, settings", [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)), ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, momentum=0.8)),
    ("Adagrad", dict(lr=0.1))], ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_refused_step_leaves_weights_and_state_bitwise(name, settings, dtype, engine):
    """Non-finite gradients (NaN, inf, and one whose square overflows) and an update that
    overflows the weights: each refused, the weights, the state and t bitwise as before,
    then the next good step as if none had been tried."""
    rng = np.random.default_rng(8)
    net = network("tanh", "softmax", dtype)
    twin = net.copy()
    opt, twin_opt = getattr(cr, name)(**settings), getattr(cr, name)(**settings)
    grads = [rng.standard_normal(net.n_params).astype(dtype) for _ in range(3)]
    for o, n in ((opt, net), (twin_opt, twin)):
        for g in grads[:2]:
            n.flat_grads[...] = g
            o.step(n)
    before = net.flat_params.copy(), opt.state_dict()
    big = np.finfo(dtype).max
    lr = opt.lr
    for bad, step_lr, why in ((np.nan, lr, "gradient"), (np.inf, lr, "gradient"),
                              (np.sqrt(big) * 4, lr, "gradient"), (1.0, big, "weights")):
        g = grads[2].copy()
        g[100] = bad
        net.flat_grads[...] = g
        opt.lr = step_lr
        with np.errstate(over="ignore", invalid="ignore"):
            assert opt.try_step(net) == why, bad
        np.testing.assert_array_equal(net.flat_params, before[0])
        state = opt.state_dict()
        assert state["t"] == before[1]["t"] == 2
        for key, value in before[1].items():
            np.testing.assert_array_equal(state[key], value, err_msg=key)
    opt.lr = lr
    for o, n in ((opt, net), (twin_opt, twin)):
        n.flat_grads[...] = grads[2]
        o.step(n)
    np.testing.assert_array_equal(net.flat_params, twin.flat_params)
    for key, value in twin_opt.state_dict().items():
        np.testing.assert_array_equal(opt.state_dict()[key], value, err_msg=key)
