"""fit and evaluate: the mini-batch loop, History, reproducibility, verbosity, dtype, divergence."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr

from conftest import Probe


def blobs(rng, n=24, k=3, d=2):
    """k separated clusters of points, labelled 0..k-1."""
    y = np.arange(n) % k
    centres = np.array([[3.0 * np.cos(2 * np.pi * c / k), 3.0 * np.sin(2 * np.pi * c / k)] for c in range(k)])
    X = centres[y][:, :d] + rng.normal(0, 0.5, (n, d))
    return X, y


# -- a hand-worked step -----------------------------------------------------------------------

def test_one_sgd_step_worked_by_hand():
    """A 1-1-1 network, x = 2, y = 1, MSE, one SGD step with lr = 0.1, computed on paper.

    Forward:  z1 = w1·x + b1 = 0.5·2 + 0.1 = 1.1
              a1 = σ(1.1)             = 0.7502601056
              z2 = w2·a1 + b2 = −0.3·a1 + 0.2 = −0.0250780317   (identity output)
              L  = (z2 − y)²          = 1.0507849710
    Backward: dz2 = 2(z2 − y)         = −2.0501560634
              dw2 = a1·dz2            = −1.5381503046,   db2 = dz2
              da1 = dz2·w2            =  0.6150468190
              dz1 = da1·a1(1 − a1)    =  0.1152412484
              dw1 = x·dz1             =  0.2304824968,   db1 = dz1
    Update:   w ← w − 0.1·dw:  w1 = 0.4769517503, b1 = 0.0884758752,
                               w2 = −0.1461849695, b2 = 0.4050156063
    """
    net = cr.Sequential([cr.Dense(1, 1), cr.Sigmoid(), cr.Dense(1, 1), cr.Identity()], dtype=np.float64)
    net[0].W, net[0].b, net[2].W, net[2].b = [[0.5]], [0.1], [[-0.3]], [0.2]
    history = net.fit(np.array([[2.0]]), np.array([1.0]), loss=cr.MSE(), optimizer=cr.SGD(lr=0.1),
                      epochs=1, batch_size=None, verbose=0)

    # the same numbers, derived again with nothing but math
    a1 = 1 / (1 + math.exp(-1.1))
    z2 = -0.3 * a1 + 0.2
    dz2 = 2 * (z2 - 1)
    dz1 = dz2 * -0.3 * a1 * (1 - a1)
    assert history["loss"] == [pytest.approx((z2 - 1) ** 2, rel=1e-14)]
    assert history["loss"][0] == pytest.approx(1.0507849710, abs=1e-10)
    expected = {"0.W": 0.5 - 0.1 * 2 * dz1, "0.b": 0.1 - 0.1 * dz1,
                "2.W": -0.3 - 0.1 * a1 * dz2, "2.b": 0.2 - 0.1 * dz2}
    on_paper = {"0.W": 0.4769517503, "0.b": 0.0884758752, "2.W": -0.1461849695, "2.b": 0.4050156063}
    for name, value, _grad in net.parameters():
        assert value.item() == pytest.approx(expected[name], rel=1e-14), name
        assert value.item() == pytest.approx(on_paper[name], abs=1e-10), name
    assert net[0].dW.item() == pytest.approx(0.2304824968, abs=1e-10)
    assert net[2].dW.item() == pytest.approx(-1.5381503046, abs=1e-10)


# -- the loop ---------------------------------------------------------------------------------

def test_same_seed_same_run(rng):
    X, y = blobs(rng)
    runs = []
    for _ in range(2):
        net = cr.mlp([2, 6, 3], hidden="tanh", output="softmax", seed=3)
        history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.05), epochs=4,
                          batch_size=5, seed=8, verbose=0)
        runs.append((net.flat_params.copy(), history.history))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    other = cr.mlp([2, 6, 3], hidden="tanh", output="softmax", seed=3)
    other.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.05), epochs=4, batch_size=5,
              seed=9, verbose=0)
    assert not np.array_equal(other.flat_params, runs[0][0])  # the seed does drive the shuffling


def test_history_contents(rng):
    X, y = blobs(rng)
    X_val, y_val = blobs(rng, n=9)
    net = cr.mlp([2, 6, 3], hidden="relu", output="softmax", seed=0)
    history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), epochs=3,
                      validation_data=(X_val, y_val), verbose=0, seed=0)
    assert set(history.history) == {"loss", "val_loss", "val_accuracy", "lr"}
    assert history.epoch == [0, 1, 2]
    assert all(len(v) == 3 for v in history.history.values())
    assert history["loss"] is history.history["loss"]
    final = net.evaluate(X_val, y_val, loss=cr.CrossEntropy())
    assert history["val_loss"][-1] == pytest.approx(final["loss"], rel=1e-6)
    assert history["val_accuracy"][-1] == final["accuracy"]
    assert repr(history).startswith("History(3 epochs: loss=")

    reg = cr.mlp([2, 3, 1], seed=0)
    history = reg.fit(X, X[:, 0], loss=cr.MSE(), optimizer=cr.SGD(0.01), epochs=2,
                      validation_data=(X_val, X_val[:, 0]), verbose=0)
    assert set(history.history) == {"loss", "val_loss", "lr"}  # no accuracy for regression
    history = reg.fit(X, X[:, 0], loss=cr.MSE(), optimizer=cr.SGD(0.01), epochs=2, verbose=0)
    assert set(history.history) == {"loss", "lr"}


def test_epoch_loss_is_the_mean_of_the_batch_losses(rng):
    X, y = blobs(rng, n=10)
    seen = []
    record = cr.LambdaCallback(on_batch_end=lambda b, logs: seen.append((logs["loss"], logs["size"])))
    net = cr.mlp([2, 4, 3], output="softmax", seed=0)
    history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), batch_size=4,
                      verbose=0, callbacks=[record])
    assert [size for _, size in seen] == [4, 4, 2]
    mean = sum(value * size for value, size in seen) / 10
    assert history["loss"] == [pytest.approx(mean, rel=1e-12)]


@pytest.mark.parametrize("batch_size, sizes", [
    (None, [10]), (10, [10]), (64, [10]), (5, [5, 5]), (4, [4, 4, 2]), (3, [3, 3, 3, 1]), (1, [1] * 10),
])
def test_batch_sizes(batch_size, sizes, rng):
    X, y = blobs(rng, n=10)
    seen = []
    record = cr.LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs["size"]))
    opt = cr.SGD(0.1)
    cr.mlp([2, 4, 3], output="softmax", seed=0).fit(
        X, y, loss=cr.CrossEntropy(), optimizer=opt, epochs=2, batch_size=batch_size,
        verbose=0, callbacks=[record])
    assert seen == sizes * 2
    assert opt.t == 2 * len(sizes)


def test_full_batch_fit_is_plain_gradient_descent(rng):
    X, y = blobs(rng, n=12)
    net = cr.mlp([2, 5, 3], hidden="sigmoid", output="softmax", seed=1, dtype=np.float64)
    manual = net.copy()
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.5), epochs=5, batch_size=None, verbose=0)
    loss, opt = cr.CrossEntropy(), cr.SGD(0.5)
    for _ in range(5):
        manual.forward_backward(X, loss.prepare(y, 3, np.float64), loss)
        opt.step(manual)
    np.testing.assert_allclose(net.flat_params, manual.flat_params, rtol=1e-12, atol=1e-14)


def test_in_order_mini_batches(rng):
    X, y = blobs(rng, n=10)
    net = cr.mlp([2, 5, 3], hidden="relu", output="softmax", seed=1, dtype=np.float64)
    manual = net.copy()
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(0.01), epochs=2, batch_size=4,
            shuffle=False, verbose=0)
    loss, opt = cr.CrossEntropy(), cr.Adam(0.01)
    Y = loss.prepare(y, 3, np.float64)
    for _ in range(2):
        for start in range(0, 10, 4):
            manual.forward_backward(X[start:start + 4], Y[start:start + 4], loss)
            opt.step(manual)
    np.testing.assert_allclose(net.flat_params, manual.flat_params, rtol=1e-12, atol=1e-14)


def test_shuffled_epochs_visit_every_row_once(rng):
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    probe = Probe()
    net = cr.Sequential([probe, cr.Dense(2, 1, seed=0), cr.Identity()])
    net.fit(X, np.zeros(10), loss=cr.MSE(), optimizer=cr.SGD(1e-4), epochs=2, batch_size=3,
            seed=0, verbose=0)
    epochs = [np.concatenate(probe.seen_X[:4]), np.concatenate(probe.seen_X[4:8])]
    for rows in epochs:
        np.testing.assert_array_equal(rows[np.argsort(rows[:, 0])], X)
    assert not np.array_equal(epochs[0], X) and not np.array_equal(epochs[0], epochs[1])


def test_callbacks_and_early_stop(rng):
    X, y = blobs(rng, n=10)
    calls = []

    class Recorder(cr.Callback):
        def on_train_begin(self, logs):
            calls.append("begin")

        def on_epoch_end(self, epoch, logs):
            calls.append(epoch)
            if epoch == 1:
                self.run.stop_training = True

        def on_train_end(self, logs):
            calls.append("end")

    history = cr.mlp([2, 3, 3], output="softmax", seed=0).fit(
        X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), epochs=10, verbose=0, callbacks=[Recorder()])
    assert calls == ["begin", 0, 1, "end"]
    assert len(history["loss"]) == 2


def test_training_learns(rng):
    X, y = blobs(rng, n=60)
    net = cr.mlp([2, 8, 3], hidden="relu", output="softmax", seed=0)
    history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(0.05), epochs=30,
                      batch_size=16, seed=0, verbose=0)
    assert history["loss"][-1] < 0.2 * history["loss"][0]
    assert net.evaluate(X, y)["accuracy"] >= 0.95


# -- verbosity ----------------------------------------------------------------------------

def _small_fit(verbose, batch_size=4, epochs=2):
    rng = np.random.default_rng(0)
    X, y = blobs(rng, n=10)
    cr.mlp([2, 3, 3], output="softmax", seed=0).fit(
        X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), epochs=epochs, batch_size=batch_size,
        verbose=verbose)


def test_verbose_0_is_silent(capsys):
    _small_fit(0)
    assert capsys.readouterr() == ("", "")


def test_verbose_2_prints_one_line_per_epoch(capsys):
    _small_fit(2, epochs=3)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 3 and err == ""
    for i, line in enumerate(lines):
        assert line.startswith(f"epoch {i + 1}/3 - loss ")
        float(line.rsplit(" ", 1)[1])


def test_verbose_1_shows_a_progress_bar_per_epoch(capsys):
    _small_fit(1, epochs=2)
    out, err = capsys.readouterr()
    assert out == ""
    assert "epoch 1/2" in err and "epoch 2/2" in err and "3/3" in err and "loss" in err


def test_verbose_1_full_batch_shows_one_bar_over_epochs(capsys):
    _small_fit(1, batch_size=None, epochs=5)
    err = capsys.readouterr().err
    assert "training" in err and "5/5" in err and "loss" in err


# -- dtype ----------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, output, optimizer", [
    (cr.CrossEntropy(), "softmax", cr.Adam(0.01)),
    (cr.BinaryCrossEntropy(), "sigmoid", cr.RMSprop(0.01, momentum=0.9)),
    (cr.MSE(), "tanh", cr.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (cr.MSE(), "identity", cr.Adagrad(0.1, weight_decay=1e-3)),
])
def test_float32_stays_float32_through_fit(loss, output, optimizer, rng):
    X, y = blobs(rng, n=10)  # float64 data, int labels
    if isinstance(loss, cr.BinaryCrossEntropy):
        y = (y == 0).astype(np.float64)
    elif isinstance(loss, cr.MSE):
        y = rng.standard_normal((10, 3))
    n_out = 1 if isinstance(loss, cr.BinaryCrossEntropy) else 3
    body = cr.mlp([2, 4, n_out], hidden="elu", output=output, seed=0)
    probe = Probe()
    net = cr.Sequential([body[0], body[1], probe, *body.layers[2:]])
    history = net.fit(X, y, loss=loss, optimizer=optimizer, epochs=2, batch_size=4,
                      validation_data=(X, y), verbose=0)
    assert {a.dtype for a in probe.seen_X} == {np.dtype(np.float32)}
    assert {a.dtype for a in probe.seen_dA} == {np.dtype(np.float32)}
    assert net.flat_params.dtype == np.float32 and net.flat_grads.dtype == np.float32
    assert all(v.dtype == np.float32 for _, v, _ in net.parameters())
    assert all(a.dtype == np.float32 for a in optimizer.state.values())
    assert net.predict(X).dtype == np.float32
    assert all(isinstance(v, float) for values in history.history.values() for v in values)


# -- divergence ----------------------------------------------------------------------------

def test_divergence_stops_before_damaging_the_weights(rng):
    X = rng.standard_normal((8, 2)) * 1e4
    y = rng.standard_normal(8) * 1e4
    net = cr.mlp([2, 4, 1], hidden="relu", seed=0)
    kept = []
    record = cr.LambdaCallback(on_batch_end=lambda b, logs: kept.append(net.flat_params.copy()))
    with pytest.raises(cr.DivergenceError, match=r"training diverged at epoch \d+, batch \d+: the loss is .*"
                                                 r"learning rate \(lr=1e\+06\) is likely too high.*unscaled") as info:
        net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(1e6), epochs=50, batch_size=4, verbose=0,
                callbacks=[record])
    assert kept, "the first batch should train; a later one diverges"
    assert np.all(np.isfinite(net.flat_params))
    np.testing.assert_array_equal(net.flat_params, kept[-1])  # the weights of the last good step
    error = info.value
    assert isinstance(error, FloatingPointError)
    assert error.epoch * 2 + error.batch == len(kept)
    assert len(error.history.history.get("loss", [])) == error.epoch


# -- evaluate -------------------------------------------------------------------------------

def test_evaluate(rng):
    X, y = blobs(rng, n=12)
    net = cr.mlp([2, 4, 3], output="softmax", seed=0)
    result = net.evaluate(X, y, loss=cr.CrossEntropy())
    assert set(result) == {"loss", "accuracy"}
    A = net.predict(X)
    assert result["accuracy"] == np.mean(A.argmax(axis=1) == y)
    assert result["loss"] == pytest.approx(-np.mean(np.log(A[np.arange(12), y])), rel=1e-5)
    assert net.evaluate(X, y) == {"accuracy": result["accuracy"]}
    reg = cr.mlp([2, 1], seed=0)
    out = reg.evaluate(X, X[:, 0], loss=cr.MSE(), metrics=("mse", "mae", "r2"))
    pred = reg.predict(X)[:, 0]
    assert out["loss"] == pytest.approx(out["mse"], rel=1e-6)
    assert out["mse"] == pytest.approx(np.mean((pred - X[:, 0]) ** 2), rel=1e-6)
    assert out["mae"] == pytest.approx(np.mean(np.abs(pred - X[:, 0])), rel=1e-6)


def test_evaluate_binary_accuracy(rng):
    X = rng.standard_normal((20, 2))
    y = (X[:, 0] > 0).astype(int)
    net = cr.mlp([2, 1], output="sigmoid", seed=0)
    A = net.predict(X)[:, 0]
    assert net.evaluate(X, y)["accuracy"] == np.mean((A > 0.5) == y)


def test_predictions_kept_by_a_callback_are_not_overwritten_by_training(rng):
    """Inside fit layers reuse scratch arrays; what predict/evaluate hand out must stay the caller's."""
    X, y = rng.standard_normal((10, 2)), rng.standard_normal(10)
    net = cr.mlp([2, 4, 1], hidden="tanh", seed=0)
    kept = []
    record = cr.LambdaCallback(on_epoch_end=lambda e, logs: kept.append((net.predict(X), net.predict(X).copy())))
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(0.1), epochs=3, batch_size=None, verbose=0, callbacks=[record])
    for epoch, (returned, snapshot) in enumerate(kept):
        np.testing.assert_array_equal(returned, snapshot, err_msg=f"prediction of epoch {epoch} was overwritten")
    assert not np.array_equal(kept[0][1], kept[-1][1])  # training did move the predictions


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_never_writes_into_the_data(dtype, shuffle, rng):
    X, y = blobs(rng, n=10)
    X = X.astype(dtype)
    X_saved, y_saved = X.copy(), y.copy()
    X.setflags(write=False)
    y.setflags(write=False)
    net = cr.mlp([2, 4, 3], output="softmax", seed=0)  # float32: float32 X is used without a copy
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), epochs=2, batch_size=3,
            shuffle=shuffle, validation_data=(X, y), verbose=0)
    net.evaluate(X, y, loss=cr.CrossEntropy())
    np.testing.assert_array_equal(X, X_saved)
    np.testing.assert_array_equal(y, y_saved)


# -- streams of batches: fit(batches) without y ----------------------------------------------------

def _stream_data(rng):
    X, y = blobs(rng, n=12)
    return X, y, [(X[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4)]


def test_a_list_of_batches_trains_like_in_order_mini_batches(rng):
    X, y, batches = _stream_data(rng)
    a = cr.mlp([2, 4, 3], output="softmax", seed=0)
    b = a.copy()
    ha = a.fit(batches, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), epochs=2, verbose=0)
    hb = b.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), epochs=2, batch_size=4,
               shuffle=False, verbose=0)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert ha.history == hb.history


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_streams_of_unknown_length(verbose, rng, capsys):
    X, y, batches = _stream_data(rng)
    net = cr.mlp([2, 4, 3], output="softmax", seed=0)
    reference = net.copy()
    reference.fit(batches, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), epochs=2, verbose=0)
    history = net.fit(lambda: (pair for pair in batches), loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1),
                      epochs=2, verbose=verbose)
    np.testing.assert_array_equal(net.flat_params, reference.flat_params)
    assert len(history["loss"]) == 2
    one = cr.mlp([2, 4, 3], output="softmax", seed=0)
    one.fit((pair for pair in batches), loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), verbose=verbose)
    out, err = capsys.readouterr()
    if verbose == 1:
        assert "epoch 1/2" in err and "3batch" in err
    elif verbose == 2:
        assert out.count("epoch 1/") == 2


def test_bad_streams(rng):
    X, y, batches = _stream_data(rng)
    net = cr.mlp([2, 4, 3], output="softmax", seed=0)
    fit = lambda data, **kw: net.fit(data, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.1), verbose=0, **kw)
    with pytest.raises(ValueError, match=r"a generator or iterator can be read only once, but epochs=2"):
        fit(iter(batches), epochs=2)
    with pytest.raises(ValueError, match=r"batch 1 of the data stream is not a pair \(X_batch, y_batch\)"):
        fit([batches[0], X])
    with pytest.raises(ValueError, match=r"the data stream gave no batches in epoch 0"):
        fit([])
    with pytest.raises(TypeError, match=r"fit\(X\) without y needs an iterable of \(X_batch, y_batch\) pairs"):
        fit(X)
    bad = batches[1][0].copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"batch 1 of the data stream: X contains NaN at row 2, column 1"):
        fit([batches[0], (bad, batches[1][1])])
    with pytest.raises(ValueError, match=r"batch 2 of the data stream: y has 3 rows, but X has 4"):
        fit([batches[0], batches[1], (batches[2][0], batches[2][1][:3])])


def test_evaluate_takes_one_metric_name_as_a_string():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    net = cr.mlp([3, 4, 2], output="softmax", seed=0)
    scores = net.evaluate(X, y, loss=cr.CrossEntropy(), metrics="accuracy")
    assert set(scores) == {"loss", "accuracy"} and 0 <= scores["accuracy"] <= 1


def test_fit_refuses_metrics_it_would_have_nowhere_to_compute():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    net = cr.mlp([3, 4, 2], output="softmax", seed=0)
    with pytest.raises(ValueError, match="metrics on validation data"):
        net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.1), metrics=("accuracy",),
                verbose=0)
    history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.1), metrics=("f1",),
                      validation_split=0.2, seed=0, verbose=0)
    assert "val_f1" in history.history


def test_callbacks_are_told_when_fit_raises(tmp_path):
    """A DivergenceError still lets callbacks clean up: the CSV log is closed and complete."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    seen = []
    log = cr.CSVLogger(tmp_path / "log.csv")
    net = cr.mlp([3, 8, 2], output="softmax", seed=0)
    with pytest.raises(cr.DivergenceError):
        net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=1e30), epochs=5, batch_size=8,
                verbose=0, callbacks=[log, cr.LambdaCallback(on_train_end=seen.append)])
    assert log._file is None
    assert len(seen) == 1 and isinstance(seen[0]["error"], cr.DivergenceError)
