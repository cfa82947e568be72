"""Bad input: every mistake is caught up front, named with its numbers, and nothing half-trains."""
from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr

from conftest import assert_blas_close, sums_length

NAN, INF = float("nan"), float("inf")


def data(n=6, d=2, k=3):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, d)), np.arange(n) % k


def classifier(d=2, k=3):
    return cr.mlp([d, 4, k], hidden="tanh", output="softmax", seed=0)


def assert_rejected(error, message, X, y, net=None, loss=None, **settings):
    """fit raises ``error`` matching ``message``, and neither the network nor the optimizer moved."""
    net = net or classifier()
    optimizer = settings.pop("optimizer", cr.Adam(0.1))
    before = net.flat_params.copy()
    with pytest.raises(error, match=message):
        net.fit(X, y, loss=loss or cr.CrossEntropy(), optimizer=optimizer, verbose=0, **settings)
    np.testing.assert_array_equal(net.flat_params, before)  # nothing half-trained
    assert optimizer.t == 0 and optimizer.state == {}


# -- the data ---------------------------------------------------------------------------------

def test_nan_in_X_names_row_and_column():
    X, y = data()
    X[2, 1] = NAN
    assert_rejected(ValueError, r"X contains NaN at row 2, column 1; remove or impute", X, y)


def test_inf_in_X():
    X, y = data()
    X[4, 0] = -INF
    assert_rejected(ValueError, r"X contains infinity at row 4, column 0", X, y)


def test_nan_and_inf_in_y():
    X, _ = data()
    y = np.zeros(6)
    y[3] = INF
    assert_rejected(ValueError, r"y contains infinity at row 3", X, y, net=cr.mlp([2, 1], seed=0), loss=cr.MSE())
    Y = np.zeros((6, 2))
    Y[5, 1] = NAN
    assert_rejected(ValueError, r"y contains NaN at row 5, column 1", X, Y, net=cr.mlp([2, 2], seed=0), loss=cr.MSE())


def test_bad_values_in_validation_data():
    X, y = data()
    X_val = X.copy()
    X_val[1, 1] = NAN
    assert_rejected(ValueError, r"X_val contains NaN at row 1, column 1", X, y, validation_data=(X_val, y))
    assert_rejected(ValueError, r"y_val has 2 rows, but X_val has 6", X, y, validation_data=(X, y[:2]))
    assert_rejected(ValueError, r"X_val has 3 features, but the network expects 2", X, y,
                    validation_data=(np.zeros((6, 3)), y))
    assert_rejected(ValueError, r"validation_data must be a pair \(X_val, y_val\)", X, y, validation_data=X)


def test_non_numeric_data():
    X, y = data()
    Xs = X.astype(object)
    Xs[1, 0] = "a"
    assert_rejected(ValueError, r"X must be numeric, found 'a' at index \(1, 0\)", Xs, y)
    assert_rejected(ValueError, r"X must be numeric, found 'b' at index \(0, 1\)", np.array([["1", "b"]] * 6), y)
    assert_rejected(ValueError, r"y must be numeric, found 'cat' at index \(2,\)",
                    X, ["0", "1", "cat", "1", "0", "2"])
    assert_rejected(ValueError, r"X must be a rectangular array of numbers: .*inhomogeneous",
                    [[1.0, 2.0]] * 5 + [[3.0]], y)
    assert_rejected(TypeError, r"X must be real-valued, got complex dtype complex128", X + 1j, y)
    assert_rejected(TypeError, r"X must be an array, got None", None, y)


def test_feature_count_mismatch():
    X, y = data(d=3)
    assert_rejected(ValueError, r"X has 3 features, but the network expects 2", X, y)


def test_label_count_mismatch():
    X, y = data()
    assert_rejected(ValueError, r"y has 4 rows, but X has 6: they must match", X, y[:4])


@pytest.mark.parametrize("bad", [3, 7, -1])
def test_class_labels_outside_the_output_width(bad):
    X, y = data()
    y[4] = bad
    assert_rejected(ValueError, rf"class label {bad} is outside the network's output width: "
                                r"labels must be in \[0, 2\] for 3 outputs", X, y)


def test_one_hot_of_the_wrong_width():
    X, y = data()
    assert_rejected(ValueError, r"y has shape \(6, 4\): expected class labels of shape \(n,\) or "
                                r"one-hot rows of shape \(n, 3\)", X, np.eye(4)[y])


def test_regression_targets_of_the_wrong_width():
    X, _ = data()
    assert_rejected(ValueError, r"y has shape \(6, 3\), but the network has 2 output\(s\): expected \(6, 2\)",
                    X, np.zeros((6, 3)), net=cr.mlp([2, 2], seed=0), loss=cr.MSE())


def test_binary_targets_outside_0_1():
    X, _ = data()
    assert_rejected(ValueError, r"BinaryCrossEntropy needs targets in \[0, 1\] \(labels 0 and 1\), found 2",
                    X, np.array([0, 1, 2, 0, 1, 0]), net=cr.mlp([2, 1], output="sigmoid", seed=0),
                    loss=cr.BinaryCrossEntropy())


def test_empty_data():
    assert_rejected(ValueError, r"X is empty: 0 samples \(shape \(0, 2\)\); at least 1 is needed",
                    np.zeros((0, 2)), np.zeros(0, int))


def test_wrong_dimensions():
    X, y = data()
    assert_rejected(ValueError, re.escape("X must be 2-D (samples, features), got 1-D with shape (6,) "
                                          "(reshape a single feature with X.reshape(-1, 1)"), X[:, 0], y)
    assert_rejected(ValueError, r"X must be 2-D \(samples, features\), got 3-D with shape \(6, 2, 1\)$",
                    X[:, :, None], y)
    assert_rejected(ValueError, r"y must be 1-D \(n,\) or 2-D \(n, outputs\), got shape \(6, 1, 1\)",
                    X, y.reshape(6, 1, 1))
    assert_rejected(ValueError, r"y must be 1-D \(n,\) or 2-D \(n, outputs\), got shape \(\)", X, np.array(1))


def test_integer_and_bool_data_are_converted_not_rejected():
    X_int = np.array([[0, 1], [1, 0], [1, 1], [0, 0]] * 2)
    y = np.array([1, 1, 0, 0] * 2)
    nets = [cr.mlp([2, 3, 2], output="softmax", seed=0) for _ in range(3)]
    runs = [(X_int, y), (X_int.astype(bool), y.astype(bool)), (X_int.astype(np.float64), y)]
    for net, (X, labels) in zip(nets, runs):
        net.fit(X, labels, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.5), epochs=3, batch_size=None, verbose=0)
        assert net.flat_params.dtype == np.float32
    # the same float32 data, so the same run, bitwise
    np.testing.assert_array_equal(nets[0].flat_params, nets[2].flat_params)
    np.testing.assert_array_equal(nets[1].flat_params, nets[2].flat_params)
    assert_blas_close(nets[0].predict(X_int.astype(bool)), nets[0].predict(X_int.astype(np.float32)),
                      sums_length(nets[0]))
    reg = cr.mlp([2, 1], seed=0)
    reg.fit(X_int, np.arange(8), loss=cr.MSE(), optimizer=cr.SGD(0.01), verbose=0)  # integer targets
    assert reg.predict(X_int.tolist()).dtype == np.float32


# -- the settings of fit --------------------------------------------------------------------

# a whole number out of range is a ValueError; anything that is not an integer a TypeError
@pytest.mark.parametrize("value, error, rule", [
    (0, ValueError, ">= 1"), (-1, ValueError, ">= 1"), (2.5, TypeError, "an integer >= 1"),
    ("3", TypeError, "an integer >= 1"), (True, TypeError, "an integer >= 1"),
    (None, TypeError, "an integer >= 1")])
def test_bad_epochs(value, error, rule):
    X, y = data()
    assert_rejected(error, rf"epochs must be {rule}, got {re.escape(repr(value))}$", X, y, epochs=value)


@pytest.mark.parametrize("value, error, rule", [
    (0, ValueError, ">= 1"), (-4, ValueError, ">= 1"), (8.0, TypeError, "an integer >= 1"),
    ("32", TypeError, "an integer >= 1"), (False, TypeError, "an integer >= 1")])
def test_bad_batch_size(value, error, rule):
    X, y = data()
    assert_rejected(error, rf"batch_size must be {rule}, got {re.escape(repr(value))}$", X, y,
                    batch_size=value)


@pytest.mark.parametrize("value", [3, -1, "1", 1.5])
def test_bad_verbose(value):
    X, y = data()
    net = classifier()
    before = net.flat_params.copy()
    with pytest.raises(ValueError, match=rf"verbose must be 0, 1 or 2, got {re.escape(repr(value))}$"):
        net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), verbose=value)
    np.testing.assert_array_equal(net.flat_params, before)


def test_loss_optimizer_callbacks_and_seed_are_checked():
    X, y = data()
    assert_rejected(TypeError, r"loss must be a chainrule Loss such as cr.MSE\(\) or cr.CrossEntropy\(\), "
                               r"got 'cross_entropy'", X, y, loss="cross_entropy")
    net = classifier()
    with pytest.raises(TypeError, match=r"optimizer must be a chainrule Optimizer such as cr.SGD\(lr=0.1\) "
                                        r"or cr.Adam\(\), got 'adam'"):
        net.fit(X, y, loss=cr.CrossEntropy(), optimizer="adam", verbose=0)
    assert_rejected(TypeError, r"callbacks\[1\] must be a chainrule Callback, got <function", X, y,
                    callbacks=[cr.History(), lambda *a: None])
    assert_rejected(TypeError, r"seed must be an int, a numpy.random.Generator or None, got 0.5", X, y, seed=0.5)
    assert_rejected(ValueError, r"seed must be an integer >= 0, a numpy.random.Generator or None, "
                                r"got -1$", X, y, seed=-1)
    assert_rejected(TypeError, r"callbacks must be a list of chainrule Callbacks \(or None\), got "
                               r"History\(0 epochs\): put it in a list", X, y, callbacks=cr.History())
    assert_rejected(TypeError, r"callbacks must be a list of chainrule Callbacks \(or None\), got 3$",
                    X, y, callbacks=3)


def test_callbacks_none_means_no_callbacks():
    X, y = data()
    a, b = classifier(), classifier()
    for net, callbacks in ((a, None), (b, ())):
        net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), seed=0, verbose=0,
                callbacks=callbacks)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)


@pytest.mark.parametrize("weights", [["a"] * 6, [1, 1, "x", 1, 1, 1]])
def test_non_numeric_sample_weight_is_named(weights):
    X, y = data()
    assert_rejected(ValueError, r"sample_weight must be numeric, found '(a|x)' at index \((0|2),\)",
                    X, y, sample_weight=weights)


@pytest.mark.parametrize("unit", ["datetime64[s]", "timedelta64[ms]"])
def test_dates_and_durations_are_not_taken_as_numbers(unit):
    X, y = data()
    what = "dates" if unit.startswith("datetime") else "durations"
    assert_rejected(TypeError, rf"X must be numbers, got dtype {re.escape(unit)}: convert the {what}",
                    X.astype(unit), y)
    assert_rejected(TypeError, rf"y must be numbers, got dtype {re.escape(unit)}",
                    X, y.astype(unit), net=cr.mlp([2, 1], seed=0), loss=cr.MSE())
    with pytest.raises(TypeError, match=rf"X must be numbers, got dtype {re.escape(unit)}"):
        classifier().predict(X.astype(unit))


def test_targets_whose_squared_error_overflows_are_blamed_not_the_learning_rate():
    """1e20 is finite in float32, but its square is not: MSE's loss would be inf at any lr."""
    X, _ = data()
    y = np.zeros(6)
    y[4] = 1e20
    assert_rejected(ValueError, r"y has 1e\+20 at row 4, whose square overflows float32 \(largest "
                                r"3.403e\+38, so \|y\| must stay below 1.845e\+19 for the MSE loss\): "
                                r"rescale y", X, y, net=cr.mlp([2, 1], seed=0), loss=cr.MSE())
    Y = np.zeros((6, 2))
    Y[1, 1] = -1e39
    assert_rejected(ValueError, r"y has -1e\+39 at row 1, column 1, which overflows float32",
                    X, Y, net=cr.mlp([2, 2], seed=0), loss=cr.MAE())
    y_val = np.zeros(6)
    y_val[0] = 3e19
    assert_rejected(ValueError, r"y_val has 3e\+19 at row 0, whose square overflows float32",
                    X, np.zeros(6), net=cr.mlp([2, 1], seed=0), loss=cr.MSE(),
                    validation_data=(X, y_val))
    # MAE and Huber do not square the targets, and float64 squares 1e20 without trouble
    cr.mlp([2, 1], seed=0).fit(X, y, loss=cr.MAE(), optimizer=cr.SGD(1e-3), verbose=0)
    cr.mlp([2, 1], seed=0, dtype=np.float64).fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(1e-3), verbose=0)


# -- predict and evaluate -------------------------------------------------------------------

def test_predict_and_evaluate_check_their_input():
    X, y = data()
    net = classifier()
    bad = X.copy()
    bad[3, 0] = NAN
    with pytest.raises(ValueError, match=r"X contains NaN at row 3, column 0"):
        net.predict(bad)
    with pytest.raises(ValueError, match=r"X has 5 features, but the network expects 2"):
        net.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        net.predict(X[0])
    for batch_size in (0, -1):
        with pytest.raises(ValueError, match=rf"batch_size must be >= 1, got {batch_size!r}$"):
            net.predict(X, batch_size=batch_size)
    for batch_size in (2.5, None):
        with pytest.raises(TypeError, match=rf"batch_size must be an integer >= 1, got {batch_size!r}$"):
            net.predict(X, batch_size=batch_size)
    with pytest.raises(ValueError, match=r"y has 5 rows, but X has 6"):
        net.evaluate(X, y[:5])
    with pytest.raises(ValueError, match=r"class label 9 is outside"):
        net.evaluate(X, np.full(6, 9), loss=cr.CrossEntropy())
    with pytest.raises(ValueError, match=r"unknown metric 'acc'; valid names: accuracy, .*mae, mse, .*r2"):
        net.evaluate(X, y, metrics=("acc",))
    with pytest.raises(TypeError, match=r"loss must be a chainrule Loss"):
        net.evaluate(X, y, loss="mse")


@pytest.mark.parametrize("metric", ["r2", "mse", "mae"])
def test_regression_metrics_on_class_labels_are_refused_before_any_work(metric, monkeypatch):
    X, y = data()
    net = classifier()  # 3 outputs, y holds one label per row
    message = (rf"metric '{metric}' compares each output with a target, so y must have the outputs' "
               r"shape \(6, 3\), got \(6,\) \(y holds one class label per row: ask for "
               r"metrics=\('accuracy',\) instead\)")
    with pytest.raises(ValueError, match=message):
        net.evaluate(X, y, metrics=(metric,))
    monkeypatch.setattr(type(net), "forward_backward", lambda *a: pytest.fail("trained"))
    assert_rejected(ValueError, message, X, y, net=net, metrics=(metric,),
                    validation_data=(X, y))


# -- settings of objects, checked when they are created -----------------------------------------

@pytest.mark.parametrize("make, kind, message", [
    (lambda: cr.SGD(lr=-1), ValueError, r"lr must be > 0, got -1$"),
    (lambda: cr.SGD(lr=0), ValueError, r"lr must be > 0, got 0$"),
    (lambda: cr.SGD(lr=NAN), ValueError, r"lr must be a finite number > 0, got nan$"),
    (lambda: cr.SGD(lr="0.1"), TypeError, r"lr must be a number > 0, got '0.1'$"),
    (lambda: cr.SGD(lr=True), TypeError, r"lr must be a number > 0, got True$"),
    (lambda: cr.SGD(0.1, momentum=-0.5), ValueError, r"momentum must be >= 0, got -0.5$"),
    (lambda: cr.SGD(0.1, nesterov=True), ValueError, r"nesterov=True needs momentum > 0, got momentum=0$"),
    (lambda: cr.SGD(0.1, weight_decay=-1), ValueError, r"weight_decay must be >= 0, got -1$"),
    (lambda: cr.Adam(lr=-1e-3), ValueError, r"lr must be > 0, got -0.001$"),
    (lambda: cr.Adam(betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0, 1\), got 1.0$"),
    (lambda: cr.Adam(betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in \[0, 1\), got -0.1$"),
    (lambda: cr.Adam(eps=-1e-8), ValueError, r"eps must be >= 0, got -1e-08$"),
    (lambda: cr.Adam(weight_decay=INF), ValueError, r"weight_decay must be a finite number >= 0, got inf$"),
    (lambda: cr.AdamW(weight_decay=-0.01), ValueError, r"weight_decay must be >= 0, got -0.01$"),
    (lambda: cr.RMSprop(alpha=1.0), ValueError, r"alpha must be in \[0, 1\), got 1.0$"),
    (lambda: cr.RMSprop(momentum=-0.9), ValueError, r"momentum must be >= 0, got -0.9$"),
    (lambda: cr.Adagrad(lr=-0.01), ValueError, r"lr must be > 0, got -0.01$"),
    (lambda: cr.Adagrad(eps=-1.0), ValueError, r"eps must be >= 0, got -1.0$"),
])
def test_optimizer_settings(make, kind, message):
    with pytest.raises(kind, match=message):
        make()


@pytest.mark.parametrize("betas", [0.9, (0.9,), (0.9, 0.99, 0.999), None])
def test_adam_betas_must_be_a_pair(betas):
    with pytest.raises(ValueError, match=rf"betas must be a pair \(beta1, beta2\), got {re.escape(repr(betas))}$"):
        cr.Adam(betas=betas)


def test_an_optimizer_belongs_to_one_network():
    X, y = data()
    opt = cr.Adam(0.01)
    classifier().fit(X, y, loss=cr.CrossEntropy(), optimizer=opt, verbose=0)
    other = classifier()
    before = other.flat_params.copy()
    with pytest.raises(ValueError, match=r"this Adam already holds state for another network; "
                                         r"create a new optimizer \(or call reset\(\)\) for this one"):
        other.fit(X, y, loss=cr.CrossEntropy(), optimizer=opt, verbose=0)
    np.testing.assert_array_equal(other.flat_params, before)
    opt.reset()
    other.fit(X, y, loss=cr.CrossEntropy(), optimizer=opt, verbose=0)
    assert not np.array_equal(other.flat_params, before)


# -- a loss that takes probabilities needs the matching last layer ------------------------------

@pytest.mark.parametrize("output, loss, y, expected", [
    ("identity", cr.CrossEntropy(), np.arange(6) % 3, "Softmax"),
    ("sigmoid", cr.CrossEntropy(), np.arange(6) % 3, "Softmax"),
    ("identity", cr.BinaryCrossEntropy(), np.arange(6) % 2, "Sigmoid"),
    ("tanh", cr.BinaryCrossEntropy(), np.arange(6) % 2, "Sigmoid"),
])
def test_probability_losses_need_softmax_or_sigmoid_last(output, loss, y, expected):
    """Without it the loss takes logs of numbers that are not probabilities: a confusing
    divergence (or silent nonsense) instead of a clear message."""
    X, _ = data()
    n_out = 3 if isinstance(loss, cr.CrossEntropy) else 1
    net = cr.mlp([2, 4, n_out], output=output, seed=0)
    message = (rf"{type(loss).__name__} (needs|takes) .*probabilities.* the network ends with "
               rf"{type(net[-1]).__name__}\(\).*{expected}")
    assert_rejected(ValueError, message, X, y, net=net, loss=loss)
    with pytest.raises(ValueError, match=message):
        net.evaluate(X, y, loss=loss)


def test_values_too_large_for_the_networks_dtype_are_rejected_not_made_infinite():
    """1e39 is finite in float64 but inf in float32: caught after the conversion, named."""
    X, y = data()
    X[2, 1] = 1e39
    assert_rejected(ValueError, r"X has 1e\+39 at row 2, column 1, which overflows float32 "
                                r"\(largest 3.403e\+38\): rescale X or use a wider dtype", X, y)
    X_val = data()[0]
    X_val[4, 0] = -1e300
    assert_rejected(ValueError, r"X_val has -1e\+300 at row 4, column 0, which overflows float32",
                    data()[0], y, validation_data=(X_val, y))
    with pytest.raises(ValueError, match=r"X has 1e\+39 at row 0, column 1, which overflows float32"):
        classifier().predict([[0.0, 1e39]])
    wide = cr.mlp([2, 3], seed=0, dtype=np.float64)
    assert np.isfinite(wide.predict(X)).all()  # fits float64: nothing to reject
    from chainrule.validation import check_X
    largest = float(np.finfo(np.float32).max)  # the edge itself converts, whichever way it is checked
    for edge in (np.array([[largest, -largest]]), np.array([[largest, -largest]] * 2)[:, ::-1]):
        np.testing.assert_array_equal(check_X(edge, 2, np.float32), edge.astype(np.float32))
    with pytest.raises(ValueError, match=r"X has 70000 at row 0, column 0, which overflows float16"):
        check_X(np.array([[70000, 1]]), 2, np.float16)


def test_predict_takes_every_input_form_to_the_same_output():
    """Contiguous or not, float32 or float64, array or list: one answer, float32 out (to
    rounding: one row goes through another BLAS routine than four)."""
    rng = np.random.default_rng(0)
    net = cr.mlp([3, 5, 2], output="softmax", seed=0)
    wide = rng.standard_normal((4, 6))
    X32 = np.ascontiguousarray(wide[:, ::2], dtype=np.float32)
    expected = net.predict(X32)
    forms = {"float64": X32.astype(np.float64), "Fortran order": np.asfortranarray(X32),
             "strided columns": np.repeat(X32, 2, axis=1)[:, ::2],
             "strided rows": np.repeat(X32, 2, axis=0)[::2], "list": X32.tolist(),
             "read-only": np.array(X32), "one row": X32[:1], "tuple of rows": tuple(map(tuple, X32))}
    forms["read-only"].setflags(write=False)
    for name, X in forms.items():
        A = net.predict(X)
        assert A.dtype == np.float32, name
        assert_blas_close(A, expected[:len(A)], sums_length(net), name)
    assert cr.mlp([2, 1], seed=0).predict(np.array([[1, 0]], dtype=np.int64)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("form", ["contiguous", "strided", "list"])
def test_nan_and_inf_are_rejected_from_one_row_as_from_many(dtype, form):
    X = np.zeros((1, 4), dtype)
    X[0, 2] = NAN
    net = cr.mlp([2, 3], seed=0)
    Xs = {"contiguous": X[:, ::2].copy(), "strided": X[:, ::2], "list": X[:, ::2].tolist()}[form]
    with pytest.raises(ValueError, match=r"X contains NaN at row 0, column 1"):
        net.predict(Xs)
    X[0, 2] = -INF
    Xs = {"contiguous": X[:, ::2].copy(), "strided": X[:, ::2], "list": X[:, ::2].tolist()}[form]
    with pytest.raises(ValueError, match=r"X contains infinity at row 0, column 1"):
        net.predict(Xs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "Fortran", "strided"])
def test_finiteness_check_in_every_memory_layout(dtype, layout):
    """Large finite values pass (their sum or squares overflow: no warning, no error);
    a NaN or infinity is found and named wherever it sits."""
    from chainrule.validation import check_X
    big = np.finfo(dtype).max
    X = np.tile(np.array([[big, -big, big, 1.0]], dtype), (5, 2))
    arrange = {"C": np.ascontiguousarray, "Fortran": np.asfortranarray, "strided": lambda A: A[:, ::2]}[layout]
    A = arrange(X)
    np.testing.assert_array_equal(check_X(A, None, dtype), A)
    column = 3 if layout == "strided" else 6
    for value, what in ((NAN, "NaN"), (-INF, "infinity")):
        bad = X.copy()
        bad[3, 6] = value
        with pytest.raises(ValueError, match=rf"X contains {what} at row 3, column {column}"):
            check_X(arrange(bad), None, dtype)
