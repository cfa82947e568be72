"""The chain-rule ledger records the very gradients of a plain forward/backward pass."""
import numpy as np
import pytest

import chainrule as cr

ACTIVATIONS = [cr.Identity, cr.Sigmoid, cr.Tanh, cr.ReLU, cr.LeakyReLU, cr.ELU, cr.GELU,
               cr.Softplus, cr.Softmax]


def _net(hidden, output, n_out=3, dtype=np.float64, seed=0):
    return cr.Sequential([cr.Dense(4, 5, seed=seed, dtype=dtype), hidden(),
                          cr.Dense(5, n_out, seed=seed + 1, dtype=dtype), output()])


def _plain_pass(net, X, Y, loss):
    """Reference: Sequential.forward_backward for dW/db, and dX from the same calls."""
    net.forward_backward(X, Y, loss)
    grads = {name: g.copy() for name, _, g in net.parameters()}
    # dX: the same forward/backward again, keeping what the first layer returns
    body = net.layers[:-1] if net.fused_with(loss) else net.layers
    A = X
    for layer in body:
        A = layer.forward(A)
    if net.fused_with(loss):
        loss.forward_logits(A, Y)
        d = loss.backward_logits()
    else:
        loss.forward(A, Y)
        d = loss.backward()
    for layer in reversed(body):
        d = layer.backward(d)
    return grads, d


def _ledger_grads(trace):
    grads, dX = {}, None
    for step in trace.steps:
        if step.phase == "backward" and step.index is not None:
            for p in step.layer.params:
                if "d" + p in step.values:
                    grads[f"{step.index}.{p}"] = step.values["d" + p]
            if step.index == 0:
                dX = step.values["dX"]
    return grads, dX


def _check_exact(net, X, y, loss):
    reference = net.copy()
    trace = net.trace(X, y, loss)
    Y = loss.prepare(y, net.n_out, net.dtype)
    grads, dX = _plain_pass(reference, X.astype(net.dtype), Y, loss)
    ledger, ledger_dX = _ledger_grads(trace)
    assert set(ledger) == set(grads)
    for name in grads:
        assert np.array_equal(ledger[name], grads[name]), name
    assert np.array_equal(ledger_dX, dX)
    # the trace left the network's own gradients equal to those of the plain pass
    for name, _, g in net.parameters():
        assert np.array_equal(g, grads[name])
    return trace


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: a.__name__)
def test_ledger_gradients_equal_plain_pass_every_activation(activation):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    # the activation both inside (hidden) and at the output, with MSE (not fused)
    trace = _check_exact(_net(activation, activation), X, y, cr.MSE())
    assert not trace.fused
    assert trace.get(None, "backward").equation == "dA = 2(A − Y) / m"
    assert np.array_equal(trace.starting_gradient, trace.get(None, "backward").values["dA"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_softmax_cross_entropy(dtype):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(6, 4)), np.array([0, 1, 2, 2, 1, 0])
    trace = _check_exact(_net(cr.Tanh, cr.Softmax, dtype=dtype), X, y, cr.CrossEntropy())
    assert trace.fused
    step = trace.get(3, "backward")
    assert step.equation == "dZ = (A − Y) / n" and "fused" in step.note
    A, Y, dZ = step.values["A"], step.values["Y"], step.values["dZ"]
    assert dZ.dtype == dtype
    np.testing.assert_allclose(dZ, (A - Y) / len(A), rtol=1e-6, atol=1e-7)
    assert np.array_equal(trace.starting_gradient, dZ)


def test_fused_sigmoid_binary_cross_entropy():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(5, 4)), np.array([0, 1, 1, 0, 1])
    trace = _check_exact(_net(cr.ReLU, cr.Sigmoid, n_out=1), X, y, cr.BinaryCrossEntropy())
    step = trace.get(3, "backward")
    assert trace.fused and step.equation == "dZ = (A − Y) / m"
    np.testing.assert_allclose(step.values["dZ"], (step.values["A"] - step.values["Y"]) / 5)


def test_forward_values_are_the_network_outputs_and_parameters_unchanged():
    rng = np.random.default_rng(4)
    net = _net(cr.Sigmoid, cr.Identity, n_out=2)
    X, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    before = net.flat_params.copy()
    trace = net.trace(X, y, cr.MSE())
    assert np.array_equal(net.flat_params, before)
    assert np.array_equal(trace.get(3, "forward").values["A"], net.forward(X))
    assert trace.loss == pytest.approx(net.loss_value(X, y, cr.MSE()))
    # steps in the order they ran: forward through the layers, the loss, back in reverse
    order = [(s.index, s.phase) for s in trace.steps]
    assert order == [(0, "forward"), (1, "forward"), (2, "forward"), (3, "forward"),
                     (None, "forward"), (None, "backward"),
                     (3, "backward"), (2, "backward"), (1, "backward"), (0, "backward")]
    dense = trace.get(2, "backward")
    assert dense.shapes == {"dZ": (3, 2), "dW": (5, 2), "db": (2,), "dX": (3, 5)}


def test_ledger_values_are_copies_not_views_into_the_flat_buffer():
    rng = np.random.default_rng(5)
    net = _net(cr.ReLU, cr.Identity, n_out=1)
    X, y = rng.normal(size=(4, 4)), rng.normal(size=4)
    trace = net.trace(X, y, cr.MSE())
    dW = trace.get(0, "backward").values["dW"].copy()
    net.forward_backward(X * 3, np.zeros((4, 1)), cr.MSE())  # overwrites the flat gradients
    assert np.array_equal(trace.get(0, "backward").values["dW"], dW)


def test_renders_text_html_markdown():
    net = cr.mlp([2, 2, 1], hidden="sigmoid", output="sigmoid", seed=0, dtype=np.float64)
    trace = net.trace(np.array([[1.0, 0.0]]), [1], cr.BinaryCrossEntropy())
    text = str(trace)
    for expected in ("Z = X·W + b", "dW = Xᵀ·dZ", "dZ = (A − Y) / m", "fused", "loss"):
        assert expected in text
    page = trace.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<section id=") == len(trace.steps)
    assert "<table class='a'>" in page
    # numbered once per step: "#3", never "3. 3: Dense"
    assert "<span class='num'>#3</span>" in page and "3. 3:" not in page
    md = trace.to_markdown(arrays=True)
    assert md.startswith("| # | layer | phase | equation | shape | values |")
    assert "dX =" in md and "```" in md
    assert "Trace(" in repr(trace)


def test_bad_loss_is_a_clear_error():
    net = cr.mlp([2, 1], seed=0)
    with pytest.raises(TypeError, match="loss must be a chainrule Loss"):
        net.trace(np.zeros((1, 2)), [0.0], "mse")


class _Scale(cr.Layer):
    """A layer the ledger has no equation for: A = X ⊙ s, one parameter s."""

    params = ("s",)

    def __init__(self, n):
        self.s = np.linspace(0.5, 1.5, n)
        self.ds = np.zeros(n)

    def forward(self, X):
        self.X = X
        return X * self.s

    def backward(self, dA):
        X = self._cached("X")
        self.ds[...] = (dA * X).sum(axis=0)
        return dA * self.s


def test_unknown_layer_gets_a_generic_entry_and_exact_gradients():
    rng = np.random.default_rng(6)
    net = cr.Sequential([cr.Dense(4, 3, seed=0, dtype=np.float64), _Scale(3), cr.Softmax()])
    X, y = rng.normal(size=(5, 4)), np.eye(3)[[0, 1, 2, 1, 0]]  # one-hot targets
    trace = _check_exact(net, X, y, cr.CrossEntropy())
    step = trace.get(1, "backward")
    assert step.equation == "dX = dA through _Scale';  ds = ∂L/∂s"
    assert set(step.values) == {"dA", "ds", "dX"}
    assert trace.get(1, "forward").equation == "A = _Scale(X)"
    assert "_Scale" in str(trace)


def test_ledger_includes_the_penalties_training_adds():
    """With l1/l2 on a Dense layer, the ledger's loss and final dW equal forward_backward's."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    net = cr.Sequential([cr.Dense(3, 4, l1=1e-2, l2=1e-2, seed=0), cr.Tanh(),
                         cr.Dense(4, 2, seed=1), cr.Softmax()], dtype=np.float64)
    trace = net.trace(X, y, cr.CrossEntropy())
    traced = trace.loss, net.layers[0].dW.copy()
    last = [s for s in trace.steps if s.index == 0 and s.phase == "backward"][-1]
    loss = cr.CrossEntropy()
    value = net.forward_backward(X, loss.prepare(y, 2, np.float64), loss)
    assert traced[0] == value
    np.testing.assert_array_equal(traced[1], net.layers[0].dW)
    np.testing.assert_array_equal(last.values["dW"], net.layers[0].dW)


def _tiny():
    """examples/trace_tiny.py's network: every number checkable by hand."""
    net = cr.Sequential([cr.Dense(2, 2), cr.ReLU(), cr.Dense(2, 1), cr.Identity()], dtype=np.float64)
    net[0].W = [[1.0, -1.0], [0.5, 1.0]]
    net[0].b = [0.0, -2.0]
    net[2].W = [[1.0], [3.0]]
    net[2].b = [0.5]
    return net, np.array([[1.0, 2.0]]), np.array([1.5])


def test_text_ledger_prints_small_arrays_in_full_with_w_and_b():
    net, X, y = _tiny()
    lines = str(net.trace(X, y, cr.MSE())).splitlines()
    first = lines.index("#0  layer 0: Dense · forward")
    # X | W | b → Z side by side, W's two rows on two lines
    assert lines[first + 2].split() == ["X", "(1×2)", "W", "(2×2)", "b", "(2,)", "Z", "(1×2)"]
    assert lines[first + 3].split() == ["1", "2", "1", "-1", "0", "-2", "2", "-1"]
    assert lines[first + 4].split() == ["0.5", "1"]
    # the backward Dense step shows the X its dW = Xᵀ·dZ reads, from forward step #0
    back = lines.index("#9  layer 0: Dense · backward")
    assert lines[back + 4].split()[:5] == ["X", "(1×2)", "from", "#0", "dZ"]
    assert lines[back + 6].split()[:3] == ["4", "0", "0.5"]  # dW's second row, then W's


def test_text_ledger_summarises_large_arrays():
    net = cr.mlp([20, 3, 1], seed=0, dtype=np.float64)
    X = np.random.default_rng(0).normal(size=(30, 20))
    text = str(net.trace(X, X[:, 0], cr.MSE()))
    assert "X (30×20)" in text and "mean" in text


def test_chinese_ledger_keeps_the_equations():
    net, X, y = _tiny()
    trace = net.trace(X, y, cr.MSE())
    zh, en = trace.to_text(lang="zh"), trace.to_text()
    assert "第 0 层: Dense · 前向" in zh and "反向传播的起点" in zh and "前向" not in en
    assert [l for l in zh.splitlines() if "=" in l and "·" in l][:2] == \
        [l for l in en.splitlines() if "=" in l and "·" in l][:2]
    assert "<html lang='zh'>" in trace.to_html(lang="zh") and "链式法则账本" in trace.to_html(lang="zh")
    with pytest.raises(ValueError, match="lang must be one of en, zh, got 'fr'"):
        trace.to_text(lang="fr")


def test_fused_loss_shows_the_textbook_form_and_it_gives_the_same_number():
    net = cr.mlp([2, 3, 1], hidden="tanh", output="sigmoid", seed=0, dtype=np.float64)
    X = np.random.default_rng(1).normal(size=(7, 2))
    y = (X[:, 0] > 0).astype(int)
    step = net.trace(X, y, cr.BinaryCrossEntropy()).get(None, "forward")
    assert step.equation.startswith("L = −(1/m) Σ [Y log A + (1 − Y) log(1 − A)] = ")
    A, Y = step.values["A"], step.values["Y"]
    textbook = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    assert step.values["L"] == pytest.approx(textbook, rel=1e-12)


@pytest.mark.parametrize("make", [lambda: cr.SGD(lr=0.3), lambda: cr.SGD(lr=0.1, momentum=0.9),
                                  lambda: cr.Adam(lr=0.05)], ids=["sgd", "momentum", "adam"])
def test_update_in_the_ledger_equals_a_real_step_and_changes_nothing(make):
    rng = np.random.default_rng(7)
    net = cr.mlp([3, 4, 2], hidden="tanh", output="softmax", seed=0, dtype=np.float64)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    optimizer, loss = make(), cr.CrossEntropy()
    Y = loss.prepare(y, 2, np.float64)
    # a step already taken: the optimizer's state (moments, t) is part of the next update
    net.forward_backward(X, Y, loss)
    optimizer.step(net)
    params, state = net.flat_params.copy(), optimizer.state_dict()

    trace = net.trace(X, y, loss, optimizer=optimizer)
    assert np.array_equal(net.flat_params, params)  # the network unchanged
    after = optimizer.state_dict()
    assert after["t"] == state["t"] and all(np.array_equal(after[k], state[k]) for k in state)

    real = net.copy()
    real.forward_backward(X, Y, loss)
    real_optimizer = make()
    real_optimizer.load_state_dict(state)
    real_optimizer.step(real)
    updates = trace.update_steps()
    assert [s.index for s in updates] == [0, 2]
    for step in updates:
        W, dW, dWstep, W_new = (step.values[k] for k in ("W", "dW", "ΔW", "W_new"))
        assert np.array_equal(W, net.layers[step.index].W)
        assert np.array_equal(W_new, real.layers[step.index].W)
        assert np.array_equal(step.values["b_new"], real.layers[step.index].b)
        np.testing.assert_allclose(W + dWstep, W_new, rtol=0, atol=1e-15)
        assert np.array_equal(dW, trace.get("dW", "backward", layer=step.index))
    if type(optimizer) is cr.SGD and not optimizer.momentum:
        step = updates[0]
        np.testing.assert_array_equal(step.values["W_new"], step.values["W"] - 0.3 * step.values["dW"])
        assert step.equation == "W_new = W − lr·dW;  b_new = b − lr·db"
    assert trace.loss_after == pytest.approx(real.loss_value(X, Y, loss), rel=1e-12)
    assert trace.loss_after < trace.loss
    assert "loss after the update, same batch" in str(trace)


def test_get_is_forgiving_and_says_what_the_ledger_holds():
    net, X, y = _tiny()
    trace = net.trace(X, y, cr.MSE())
    assert trace.get("L") == 1.0 and trace.get("loss", "forward") is trace.get(None, "forward")
    np.testing.assert_array_equal(trace.get("dW", layer=0), [[2, 0], [4, 0]])
    with pytest.raises(KeyError, match=r"^'dW' is in layers \[0, 2\]: say which, e.g. "
                                       r"trace.get\('dW', layer=2\)$"):
        trace.get("dW")
    with pytest.raises(KeyError, match="layer 0 has a step in each of backward, forward: name one"):
        trace.get(0)
    with pytest.raises(KeyError, match="no array 'dQ'; the ledger's arrays are A, L, W, X"):
        trace.get("dQ")
    with pytest.raises(ValueError, match="phase must be one of forward, backward, update, got 'back'"):
        trace.get(0, "back")


def test_the_ledger_is_recorded_by_the_walk_fit_runs(monkeypatch):
    # net.trace records what net.forward_backward computes, in that very call: the ledger's
    # loss is the value the walk returned, and each recorded array is the one the layer returned
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
    net = cr.mlp([3, 4, 1], hidden="tanh", output="sigmoid", seed=0, dtype=np.float64)
    calls, returned = [], {}
    walk = cr.Sequential.forward_backward

    def spy(self, X, Y, loss, record=None):
        calls.append(record)
        value = walk(self, X, Y, loss, record=record)
        returned["value"] = value
        return value

    for i, layer in enumerate(net.layers):
        original = layer.forward
        def forward(A, original=original, i=i):
            returned[i] = original(A)
            return returned[i]
        monkeypatch.setattr(layer, "forward", forward)
    monkeypatch.setattr(cr.Sequential, "forward_backward", spy)
    ledger = net.trace(X, y, cr.BinaryCrossEntropy())
    assert len(calls) == 1 and calls[0] is not None
    assert ledger.loss == returned["value"]
    forward_steps = [s for s in ledger.steps if s.phase == "forward" and s.index is not None]
    for step in forward_steps[:2]:   # Dense, Tanh: copies of the very arrays the layers returned
        out = step.values["Z"] if step.index == 0 else step.values["A"]
        assert np.array_equal(out, returned[step.index])


def test_exp_and_poisson_show_their_fused_equations_in_both_languages():
    rng = np.random.default_rng(3)
    net = cr.mlp([2, 3, 1], output="exp", seed=rng, dtype=np.float64)
    X, y = rng.standard_normal((4, 2)), np.array([0.0, 2.0, 1.0, 5.0])
    trace = net.trace(X, y, cr.Poisson())
    assert trace.fused
    loss_step = trace.get(None, "forward")
    assert loss_step.equation == "L = (1/m) Σ (A − Y·log A) = (1/m) Σ (e^Z − Y·Z)"
    start = trace.get(3, "backward")
    assert start.equation == "dZ = (A − Y) / m"
    np.testing.assert_allclose(trace.starting_gradient, (np.exp(loss_step.values["Z"])
                                                         - y[:, None]) / 4, rtol=1e-12)
    assert "exp 与泊松损失合并计算" in trace.to_text(lang="zh")


def test_chinese_ledger_tells_the_traces_own_words_and_keeps_its_columns():
    net = cr.mlp([2, 3, 1], output="sigmoid", seed=0, dtype=np.float64)
    X = np.array([[1.0, 2.0], [0.5, -1.0]])
    trace = net.trace(X, [1, 0], cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1))
    zh = trace.to_text(lang="zh")
    assert "(inside the fused loss)" in trace.to_text() and "inside the fused" not in zh
    assert "（在合并计算的损失之内）" in zh and "（在合并计算的损失之内）" in trace.to_html(lang="zh")
    # "X (2×2) 取自第 2 步" is wider on screen than its length: the numbers under each label
    # start where the label starts, in both languages (a CJK character takes two columns)
    from chainrule.explain.text import width
    for text in (zh, trace.to_text()):
        lines = text.splitlines()
        k = next(i for i, line in enumerate(lines) if line.lstrip().startswith("X (2×2)") and "dW" in line)
        label, numbers = lines[k], lines[k + 1]
        start = label.index("dZ (")
        assert numbers[width(label[:start]) - 1] == " " and numbers[width(label[:start])] != " "
    assert width("取自第 2 步") == 11 and width("W (2×1)") == 7
    assert max(width(line) for line in zh.splitlines()) <= 110   # the notes wrap too
