"""Nothing lost: bad input gives a clear error, extreme values stay finite, and a
diverging run stops with the last finite weights."""
import numpy as np
import pytest

import chainrule as cr


def _regression(n=64, n_in=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in))
    return X, X @ rng.standard_normal(n_in)


class _Recorder(cr.Callback):
    """Copies the weights and the loss after every step."""

    def __init__(self):
        self.weights, self.losses, self.at = [], [], []
        self.epoch = None

    def on_train_begin(self, logs):
        self.weights.append(self.run.net.flat_params.copy())

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        self.weights.append(self.run.net.flat_params.copy())
        self.losses.append(logs["loss"])
        self.at.append((self.epoch, batch))


# -- divergence -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_learning_rate_stops_at_the_first_nonfinite_loss(dtype):
    X, y = _regression()
    net = cr.mlp([5, 8, 1], hidden="tanh", seed=0, dtype=dtype)
    rec = _Recorder()
    with pytest.raises(cr.DivergenceError) as caught:
        net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=1e12), epochs=20, batch_size=16,
                shuffle=False, verbose=0, callbacks=[rec])
    err = caught.value
    assert isinstance(err, FloatingPointError)
    # every step before the error had a finite loss; the error comes at the very next batch
    assert np.all(np.isfinite(rec.losses)) and len(rec.losses) >= 1
    last_epoch, last_batch = rec.at[-1]
    expected = (last_epoch, last_batch + 1) if last_batch + 1 < 4 else (last_epoch + 1, 0)
    assert (err.epoch, err.batch) == expected
    # the weights are finite and bitwise those before the bad step
    assert np.all(np.isfinite(net.flat_params))
    np.testing.assert_array_equal(net.flat_params, rec.weights[-1])
    message = str(err)
    assert f"epoch {err.epoch}, batch {err.batch}" in message
    assert "lr=1e+12" in message and "learning rate" in message
    assert "layer" in message and err.layer is not None
    assert err.history is not None


def test_a_step_that_overflows_the_weights_is_undone():
    """A finite loss and gradient, but lr·g overflows float32: the step is taken back."""
    X, y = _regression()
    net = cr.mlp([5, 8, 1], hidden="tanh", seed=0)
    start = net.flat_params.copy()
    with pytest.raises(cr.DivergenceError, match=r"epoch 0, batch 0: the update would have made the "
                       r"weights non-finite.*layer \d+ \(Dense") as caught:
        net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=3e38), epochs=2, batch_size=16, seed=0,
                verbose=0)
    np.testing.assert_array_equal(net.flat_params, start)
    assert caught.value.layer in (0, 2)


def test_history_up_to_the_divergence_is_on_the_error():
    X, y = _regression()
    net = cr.mlp([5, 8, 1], hidden="tanh", seed=0)
    optimizer = cr.SGD(lr=0.01)

    def blow_up(epoch, logs):
        if epoch == 1:
            optimizer.lr = 3e38
    with pytest.raises(cr.DivergenceError) as caught:
        net.fit(X, y, loss=cr.MSE(), optimizer=optimizer, epochs=5, batch_size=16, seed=0, verbose=0,
                callbacks=[cr.LambdaCallback(on_epoch_end=blow_up)])
    err = caught.value
    assert err.epoch == 2 and err.batch == 0
    assert err.history.epoch == [0, 1] and len(err.history["loss"]) == 2
    assert np.all(np.isfinite(net.flat_params))


def test_unscaled_inputs_are_named_as_a_likely_cause():
    X, y = _regression()
    X = X * 1e20
    net = cr.mlp([5, 4, 1], seed=0)
    with pytest.raises(cr.DivergenceError, match=r"unscaled \(largest \|x\| in the batch is"):
        # (targets of 1e20 would be refused up front: their square overflows float32)
        net.fit(X, y * 1e15, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), epochs=3, verbose=0)


# -- bad input: one clear error per mistake ------------------------------------------

_X = np.random.default_rng(0).standard_normal((10, 5))
_y = np.arange(10) % 3


def _fit3(X=_X, y=_y, loss=None, net=None, **kwargs):
    net = net or cr.mlp([5, 4, 3], output="softmax", seed=0)
    kwargs.setdefault("verbose", 0)
    return net.fit(X, y, loss=loss or cr.CrossEntropy(), optimizer=cr.SGD(lr=0.1), **kwargs)


def _with(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


@pytest.mark.parametrize("call, error, words", [
    (lambda: _fit3(X=_with(_X, (3, 2), np.nan)), ValueError, "X contains NaN at row 3, column 2"),
    (lambda: _fit3(X=_with(_X, (7, 0), -np.inf)), ValueError, "X contains infinity at row 7, column 0"),
    (lambda: _fit3(y=_with(_y, 4, np.nan)), ValueError, "y contains NaN at row 4"),
    (lambda: _fit3(y=_with(_y, 1, np.inf), loss=cr.MSE(), net=cr.mlp([5, 1], seed=0)),
     ValueError, "y contains infinity at row 1"),
    (lambda: _fit3(X=[["a"] * 5] * 10), ValueError, r"X must be numeric, found .*'a'.* at index \(0, 0\)"),
    (lambda: _fit3(y=np.array(["x"] * 10)), ValueError, "y must be numeric"),
    (lambda: _fit3(X=_X.astype(complex)), TypeError, "X must be real-valued, got complex"),
    (lambda: _fit3(X=_X[None]), ValueError,
     r"X must be 2-D \(samples, features\), got 3-D with shape \(1, 10, 5\)"),
    (lambda: _fit3(X=_X[0]), ValueError, r"got 1-D with shape \(5,\).*reshape"),
    (lambda: _fit3(y=np.zeros((10, 1, 1))), ValueError,
     r"y must be 1-D \(n,\) or 2-D \(n, outputs\), got shape \(10, 1, 1\)"),
    (lambda: _fit3(X=np.ones((10, 7))), ValueError, "X has 7 features, but the network expects 5"),
    (lambda: _fit3(y=_y[:8]), ValueError, "y has 8 rows, but X has 10: they must match"),
    (lambda: _fit3(y=_y + 1), ValueError,
     r"class label 3 is outside the network's output width: labels must be in \[0, 2\] for 3 outputs"),
    (lambda: _fit3(y=_y - 1), ValueError, r"class label -1 is outside"),
    (lambda: _fit3(y=_y + 0.5), ValueError, "must be whole class numbers, found .*0.5"),
    (lambda: _fit3(X=_X[:0], y=_y[:0]), ValueError, r"X is empty: 0 samples \(shape \(0, 5\)\)"),
    (lambda: _fit3(y=_y, loss=cr.MSE()), ValueError,
     r"y has shape \(10,\), but the network has 3 output\(s\): expected \(10, 3\)"),
    (lambda: _fit3(validation_data=(_X,)), ValueError, r"validation_data must be a pair \(X_val, y_val\)"),
    (lambda: _fit3(validation_data=(_X[:, :3], _y)), ValueError, "X_val has 3 features, but the network expects 5"),
    (lambda: _fit3(validation_data=(_X, _with(_y, 2, np.nan))), ValueError, "y_val contains NaN at row 2"),
    (lambda: _fit3(batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    (lambda: _fit3(epochs=-1), ValueError, "epochs must be >= 1, got -1"),
    (lambda: _fit3(verbose=3), ValueError, "verbose must be 0, 1 or 2, got 3"),
    (lambda: _fit3(callbacks=[1]), TypeError, "callbacks\\[0\\] must be a chainrule Callback, got 1"),
    (lambda: _fit3(loss="mse"), TypeError, "loss must be a chainrule Loss"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_input_to_fit(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.parametrize("net, loss, y, words", [
    (cr.mlp([5, 4, 1], output="sigmoid", seed=0), cr.CrossEntropy(), _y % 2,
     r"CrossEntropy needs class probabilities from a Softmax output, but the network ends "
     r"with Sigmoid\(\) with 1 unit: use BinaryCrossEntropy"),
    (cr.mlp([5, 4, 3], output="sigmoid", seed=0), cr.CrossEntropy(), _y,
     r"ends with Sigmoid\(\) with 3 units: end with Softmax"),
    (cr.mlp([5, 4, 3], seed=0), cr.CrossEntropy(), _y,
     r"ends with Identity\(\), whose outputs are not probabilities: add Softmax"),
    (cr.mlp([5, 4, 1], seed=0), cr.BinaryCrossEntropy(), _y % 2,
     r"BinaryCrossEntropy takes probabilities in \[0, 1\], but the network ends with Identity\(\)"),
    (cr.Sequential([cr.Dense(5, 1)]), cr.BinaryCrossEntropy(), _y % 2, r"ends with Dense\(n_in=5"),
    (cr.mlp([5, 4, 1], output="sigmoid", seed=0), cr.BinaryCrossEntropy(), _y,
     r"BinaryCrossEntropy needs targets in \[0, 1\] \(labels 0 and 1\), found 2"),
    (cr.mlp([5, 4, 1], output="sigmoid", seed=0), cr.BinaryCrossEntropy(), _y - 1,
     r"found -1"),
])
def test_a_loss_that_does_not_fit_the_output(net, loss, y, words):
    with pytest.raises(ValueError, match=words):
        net.fit(_X, y, loss=loss, optimizer=cr.SGD(lr=0.1), verbose=0)
    if "targets" not in words:
        with pytest.raises(ValueError, match=words):
            net.evaluate(_X, y, loss=loss, metrics=())


@pytest.mark.parametrize("convert", [lambda X: (X > 0), lambda X: np.round(X * 3).astype(np.int64),
                                     lambda X: np.round(X).astype(np.int8)],
                         ids=["bool", "int64", "int8"])
def test_integer_and_boolean_inputs_are_converted(convert):
    X = convert(_X)
    net = cr.mlp([5, 4, 3], output="softmax", seed=0)
    _fit3(X=X, net=net, y=(_y > 0))
    assert net.flat_params.dtype == np.float32
    out = net.predict(X)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))


@pytest.mark.parametrize("call, words", [
    (lambda net: net.predict(_with(_X, (0, 4), np.nan)), "X contains NaN at row 0, column 4"),
    (lambda net: net.predict(np.ones((2, 4))), "X has 4 features, but the network expects 5"),
    (lambda net: net.predict(np.ones((0, 5))), "X is empty"),
    (lambda net: net.evaluate(_X, _with(_y, 1, np.inf)), "y contains infinity at row 1"),
    (lambda net: net.evaluate(_X, _y[:3]), "y has 3 rows, but X has 10"),
])
def test_bad_input_to_predict_and_evaluate(call, words):
    with pytest.raises(ValueError, match=words):
        call(cr.mlp([5, 4, 3], output="softmax", seed=0))


@pytest.mark.parametrize("make, words", [
    (lambda: cr.SGD(lr=-1), "lr must be > 0, got -1"),
    (lambda: cr.SGD(lr=float("nan")), "lr must be a finite number > 0, got nan"),
    (lambda: cr.SGD(lr=0.1, momentum=-0.5), "momentum must be >= 0, got -0.5"),
    (lambda: cr.Adam(betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\), got 1.0"),
    (lambda: cr.Dense(0, 3), "n_in must be >= 1, got 0"),
    (lambda: cr.LeakyReLU(alpha=-1), "alpha must be >= 0, got -1"),
    (lambda: cr.Sequential([cr.Dense(2, 3), cr.Dense(4, 1)]),
     "Dense\\(4, 1\\) expects 4 input features, but the layer before it gives 3"),
])
def test_settings_are_checked_at_construction(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_a_setting_of_the_wrong_kind_is_a_type_error():
    with pytest.raises(TypeError, match="n_out must be an integer >= 1, got 3.5"):
        cr.Dense(2, 3.5)


# -- numerical extremes ---------------------------------------------------------------

_STRICT = dict(over="raise", divide="raise", invalid="raise")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_at_huge_logits(dtype):
    Z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype)
    dA = np.ones_like(Z)
    with np.errstate(**_STRICT):
        for layer in (cr.Sigmoid(), cr.Tanh(), cr.ReLU(), cr.LeakyReLU(), cr.ELU(), cr.GELU(),
                      cr.Softplus(), cr.Softmax(), cr.Identity()):
            A = layer.forward(Z)
            dZ = layer.backward(dA)
            assert A.dtype == dtype and dZ.dtype == dtype, layer
            assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ)), layer
    s = cr.Sigmoid().forward(Z)
    np.testing.assert_array_equal(s[0, [0, -1]], [0.0, 1.0])
    assert s[0, 2] == 0.5
    p = cr.Softmax().forward(Z)
    assert p[0, -1] == 1.0 and p.sum() == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_losses_at_huge_logits(dtype):
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype)
    ce = cr.CrossEntropy()
    with np.errstate(**_STRICT):
        loss = ce.forward_logits(Z, np.array([1, 0]))  # both rows badly wrong: −log p ≈ 2e4
        dZ = ce.backward_logits()
    assert np.isfinite(loss) and loss == pytest.approx((2e4 + (2e4 + np.log(2))) / 2, rel=1e-6)
    assert np.all(np.isfinite(dZ)) and dZ.dtype == dtype
    np.testing.assert_allclose(dZ.sum(axis=1), 0, atol=1e-6)

    bce = cr.BinaryCrossEntropy()
    Zb = np.array([[1e4], [-1e4], [1e4], [-1e4]], dtype)
    Y = np.array([[1], [0], [0], [1]], dtype)
    with np.errstate(**_STRICT):
        loss = bce.forward_logits(Zb, Y)
        dZ = bce.backward_logits()
    assert loss == pytest.approx(2e4 / 4, rel=1e-6)  # two right (0), two wrong (1e4 each)
    np.testing.assert_array_equal(dZ.ravel(), np.array([0, 0, 1, -1], dtype) / 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_on_probabilities_exactly_zero_and_one(dtype):
    A = np.array([[0.0], [1.0], [0.0], [1.0]], dtype)
    Y = np.array([[0], [1], [1], [0]], dtype)
    bce = cr.BinaryCrossEntropy()
    with np.errstate(**_STRICT):
        loss = bce.forward(A, Y)
        dA = bce.backward()
    assert loss == pytest.approx(2 * 100 / 4)  # log clamped at −100, as PyTorch's BCELoss
    assert np.all(np.isfinite(dA)) and dA.dtype == dtype

    P = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype)
    ce = cr.CrossEntropy()
    with np.errstate(**_STRICT):
        right = ce.forward(P, np.array([0, 1]))
        wrong = ce.forward(P, np.array([1, 2]))
        dA = ce.backward()
    assert right == 0.0
    assert np.isfinite(wrong) and wrong == pytest.approx(-np.log(np.finfo(dtype).tiny))
    assert np.all(np.isfinite(dA))


def test_bce_clamp_matches_pytorch():
    torch = pytest.importorskip("torch")
    A = np.array([0.0, 1e-50, 0.3, 1.0, 1.0, 0.0])
    Y = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    expected = torch.nn.functional.binary_cross_entropy(torch.tensor(A), torch.tensor(Y)).item()
    with np.errstate(**_STRICT):
        assert cr.BinaryCrossEntropy().forward(A.reshape(-1, 1), Y.reshape(-1, 1)) == \
            pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output, loss, y", [
    ("softmax", cr.CrossEntropy(), np.array([0, 1, 2, 1])),
    ("sigmoid", cr.BinaryCrossEntropy(), np.array([[0, 1, 1], [1, 0, 0], [0, 0, 1], [1, 1, 0]])),
])
def test_training_step_with_saturated_outputs_is_clean(dtype, output, loss, y):
    """Weights so large that every output saturates: one step, no warning, finite result."""
    net = cr.mlp([2, 3], output=output, seed=0, dtype=dtype)
    net.layers[0].W = np.array([[1e4, -1e4, 1e4], [-1e4, 1e4, -1e4]])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]])
    with np.errstate(**_STRICT):
        net.fit(X, y, loss=loss, optimizer=cr.SGD(lr=0.1), epochs=1, verbose=0)
        out = net.predict(X)
        value = net.evaluate(X, y, loss=loss, metrics=())["loss"]
    assert np.all(np.isfinite(net.flat_params)) and np.all(np.isfinite(out))
    assert np.isfinite(value) and value > 0


def test_the_layer_named_is_the_first_the_step_would_have_made_non_finite():
    from chainrule.train.divergence import first_nonfinite_parameters
    net = cr.mlp([3, 4, 2, 1], seed=0)          # Dense, ReLU, Dense, ReLU, Dense, identity
    proposed = net.flat_params.copy()
    assert first_nonfinite_parameters(net, proposed) is not None   # finite: the largest
    offset_b2 = net[0].W.size + net[0].b.size + net[2].W.size       # layer 2's bias
    proposed[offset_b2 + 1] = np.inf
    assert first_nonfinite_parameters(net, proposed) == 2
    proposed[net[0].W.size - 1] = np.nan                             # layer 0's weights
    assert first_nonfinite_parameters(net, proposed) == 0
    assert np.all(np.isfinite(net.flat_params))                      # its own are untouched


def test_a_float16_network_is_not_called_divergent_for_a_norm_beyond_float16s_range():
    """‖w‖² of a few hundred ordinary float16 weights exceeds 65504: the finite checks sum
    in float32, so training goes on (it used to stop with a DivergenceError)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 300)).astype(np.float16)
    y = rng.integers(0, 2, 32)
    net = cr.mlp([300, 300, 2], output="softmax", init="normal", seed=0, dtype=np.float16)
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.dot(net.flat_params, net.flat_params))   # in float16 itself
    history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=1e-4), epochs=2,
                      batch_size=16, verbose=0)
    assert len(history["loss"]) == 2 and np.all(np.isfinite(net.flat_params))
