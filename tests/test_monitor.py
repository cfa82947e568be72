"""GradientMonitor: records gradient health, warns on broken networks, stays quiet on healthy ones."""
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.train.monitor import GradientMonitor, TrainingHealthWarning


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _fit(net, X, y, loss, optimizer, epochs=3, every=1):
    return net.fit(X, y, loss=loss, optimizer=optimizer, epochs=epochs, batch_size=32,
                   verbose=0, seed=0, callbacks=[cr.callbacks.GradientMonitor(every=every)])


def test_exposed_as_callback_and_warning_is_a_user_warning():
    assert cr.callbacks.GradientMonitor is GradientMonitor
    assert issubclass(TrainingHealthWarning, UserWarning)
    with pytest.raises(ValueError, match="every must be >= 1, got 0"):
        GradientMonitor(every=0)


def test_vanishing_in_deep_sigmoid_stack_with_normal_weights(data):
    X, y = data
    layers = []
    for i in range(10):
        layers += [cr.Dense(8, 8, init="normal", seed=i), cr.Sigmoid()]
    net = cr.Sequential(layers + [cr.Dense(8, 1, init="normal", seed=10), cr.Sigmoid()])
    with pytest.warns(TrainingHealthWarning, match="vanishing gradients") as caught:
        history = _fit(net, X, y, cr.BinaryCrossEntropy(), cr.SGD(lr=0.1))
    message = next(str(w.message) for w in caught if "vanishing" in str(w.message))
    assert "layer 0 (Dense)" in message or "layer 2 (Dense)" in message
    assert "sigmoid" in message and "N(0, 1)" in message
    assert any("vanishing" in m for m in history.warnings)
    norms = history.gradients["grad_norm"]
    assert norms["layer 0 (Dense)"][0] < 1e-2 * norms["layer 20 (Dense)"][0]


def test_exploding_with_learning_rate_10(data):
    X, y = data
    net = cr.mlp([8, 16, 1], hidden="relu", seed=0)
    with pytest.warns(TrainingHealthWarning, match=r"exploding .*lr=10"):
        # it may well diverge too: then the core's error names the first non-finite layer
        try:
            history = _fit(net, X, X[:, 0] * 3, cr.MSE(), cr.SGD(lr=10), epochs=2)
        except cr.DivergenceError as error:
            assert "layer" in str(error) and error.layer is not None
            history = error.history
    assert any("exploding" in m for m in history.warnings)


@pytest.mark.filterwarnings("ignore:.*vanishing gradients")  # also true: nothing flows back
def test_dead_relus_with_large_negative_biases(data):
    X, _ = data
    net = cr.mlp([8, 16, 16, 1], hidden="relu", seed=0)
    net[2].b = np.full(16, -10.0)  # layer 3 (the second ReLU) never turns on
    with pytest.warns(TrainingHealthWarning, match=r"layer 3 \(ReLU\): 100% .*dead.*negative biases"):
        history = _fit(net, X, X[:, 0], cr.MSE(), cr.Adam(lr=1e-3))
    assert history.gradients["dead_relu"]["layer 3 (ReLU)"][0] == 1.0
    assert history.gradients["dead_relu"]["layer 1 (ReLU)"][0] < 0.5


def test_saturated_sigmoid_layer(data):
    X, y = data
    net = cr.Sequential([cr.Dense(8, 16, init="normal", seed=0), cr.Sigmoid(),
                         cr.Dense(16, 1, seed=1), cr.Sigmoid()])
    net[0].W = net[0].W * 20  # huge weights pin every hidden unit at 0 or 1
    with pytest.warns(TrainingHealthWarning, match=r"layer 1 \(Sigmoid\): .* saturated"):
        _fit(net, X, y, cr.BinaryCrossEntropy(), cr.SGD(lr=0.1), epochs=1)


@pytest.mark.parametrize("hidden, optimizer", [("relu", cr.Adam(lr=1e-2)), ("tanh", cr.SGD(lr=0.1)),
                                               ("sigmoid", cr.SGD(lr=0.5))])
def test_quiet_on_a_healthy_network(data, hidden, optimizer):
    X, y = data
    net = cr.mlp([8, 16, 16, 1], hidden=hidden, output="sigmoid", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingHealthWarning)
        history = _fit(net, X, y, cr.BinaryCrossEntropy(), optimizer, epochs=20, every=3)
    assert history.warnings == []
    records = history.gradients
    steps = 20 * 2
    assert records["step"] == list(range(1, steps + 1, 3))
    assert set(records["grad_norm"]) == {"layer 0 (Dense)", "layer 2 (Dense)", "layer 4 (Dense)"}
    for values in records["grad_norm"].values():
        assert len(values) == len(records["step"]) and all(v > 0 for v in values)
    for values in records["update_ratio"].values():
        assert all(0 < v < 0.5 for v in values)


def test_update_ratio_is_the_actual_step(data):
    X, y = data
    net = cr.mlp([8, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    W0 = net[0].W.copy()
    b0 = net[0].b.copy()
    history = net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=1,
                      batch_size=None, verbose=0, callbacks=[GradientMonitor(every=1)])
    step = np.sqrt(np.sum((net[0].W - W0) ** 2) + np.sum((net[0].b - b0) ** 2))
    size = np.sqrt(np.sum(W0 ** 2) + np.sum(b0 ** 2))
    assert history.gradients["update_ratio"]["layer 0 (Dense)"][0] == pytest.approx(step / size, rel=1e-5)


def test_warn_false_records_silently(data):
    X, _ = data
    net = cr.mlp([8, 16, 16, 1], hidden="relu", seed=0)
    net[2].b = np.full(16, -10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingHealthWarning)
        history = net.fit(X, X[:, 0], loss=cr.MSE(), optimizer=cr.Adam(lr=1e-3), epochs=1,
                          verbose=0, callbacks=[GradientMonitor(every=1, warn=False)])
    assert any("dead ReLUs" in m for m in history.warnings)


def test_divergence_names_the_first_non_finite_layer(data):
    X, y = data
    # an absurd step makes the weights so large that a layer's output overflows
    net = cr.mlp([8, 16, 1], hidden="relu", output="sigmoid", seed=0, dtype=np.float64)
    with warnings.catch_warnings():  # the monitor may or may not get to warn first
        warnings.simplefilter("ignore", TrainingHealthWarning)
        where = r"non-finite value is in the (output|weights the update would give) of layer \d"
        with pytest.raises(cr.DivergenceError, match=where) as caught:
            _fit(net, X, y, cr.BinaryCrossEntropy(), cr.SGD(lr=1e300), epochs=5)
    first = caught.value.layer
    if "weights the update would give" in str(caught.value):
        # the update itself overflowed: it was not applied, the layer named holds the largest
        assert np.all(np.isfinite(net.flat_params))
        return
    A = X
    with np.errstate(all="ignore"):
        for i, layer in enumerate(net.layers[:first + 1]):
            A = layer.forward(A)
            assert np.all(np.isfinite(A)) == (i < first)


def _run_with_monitor(net, X, y, loss, optimizer, epochs=1):
    monitor = GradientMonitor(every=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            history = net.fit(X, y, loss=loss, optimizer=optimizer, epochs=epochs, batch_size=32,
                              verbose=0, seed=0, callbacks=[monitor])
        except cr.DivergenceError as error:
            history = error.history
    return monitor, history, [str(w.message) for w in caught if w.category is TrainingHealthWarning]


def test_findings_are_the_warnings_as_data(data):
    X, y = data
    net = cr.mlp([8, 16, 16, 1], hidden="relu", seed=0)
    net[2].b = np.full(16, -10.0)                      # dead ReLUs, and nothing flows back
    dead = _run_with_monitor(net, X, X[:, 0], cr.MSE(), cr.Adam(lr=1e-3))
    saturated = cr.Sequential([cr.Dense(8, 16, init="normal", seed=0), cr.Sigmoid(),
                               cr.Dense(16, 1, seed=1), cr.Sigmoid()])
    saturated[0].W = saturated[0].W * 20
    more = _run_with_monitor(saturated, X, y, cr.BinaryCrossEntropy(), cr.SGD(lr=0.1))
    exploding = _run_with_monitor(cr.mlp([8, 16, 1], hidden="relu", seed=0), X, X[:, 0] * 3, cr.MSE(),
                                  cr.SGD(lr=10), epochs=2)
    seen = {}
    for monitor, history, messages in (dead, more, exploding):
        # one finding per warning, in the same order, each with the step its message names
        assert len(monitor.findings) == len(messages) == len(history.warnings) > 0
        for finding, message in zip(monitor.findings, messages):
            assert message.startswith(f"step {finding['step']}: ")
            seen[finding["kind"]] = finding
    assert set(seen) == {"dead", "vanishing", "saturated", "exploding"}
    assert seen["dead"]["layer"] == 3 and seen["dead"]["share"] == 1.0
    assert seen["saturated"]["layer"] == 1 and seen["saturated"]["share"] > 0.9
    assert seen["exploding"]["of"] in ("updates", "gradients") and seen["exploding"]["lr"] == 10
    vanishing = seen["vanishing"]
    assert vanishing["worst"] in vanishing["layers"] and vanishing["ratio"] < 1e-3
