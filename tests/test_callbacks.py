"""EarlyStopping (restoring the best weights), LearningRateScheduler, CSVLogger, LambdaCallback."""
import csv

import numpy as np
import pytest

import chainrule as cr


def _overfitting_run():
    """Training data y = X·w, validation y = ½X·w: the validation loss falls, then rises."""
    rng = np.random.default_rng(0)
    w = np.array([2.0, -1.0, 1.5])
    X, X_val = rng.normal(size=(64, 3)), rng.normal(size=(32, 3))
    net = cr.Sequential([cr.Dense(3, 6, seed=1, dtype=np.float64), cr.BatchNorm(6, dtype=np.float64),
                         cr.Tanh(), cr.Dense(6, 1, seed=2, dtype=np.float64)])
    return net, X, X @ w, (X_val, 0.5 * (X_val @ w))


def test_early_stopping_restores_the_best_weights_and_buffers():
    net, X, y, validation = _overfitting_run()
    seen = []
    record = cr.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (net.flat_params.copy(), net[1].running_mean.copy(), net[1].running_var.copy())))
    stop = cr.EarlyStopping(patience=3, restore_best_weights=True)
    h = net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=200, batch_size=16,
                validation_data=validation, verbose=0, seed=0, callbacks=[record, stop])
    best = int(np.argmin(h["val_loss"]))
    assert stop.best_epoch == best and stop.best == min(h["val_loss"])
    assert stop.stopped_epoch == best + 3 == len(h["loss"]) - 1  # stopped after 3 bad epochs
    assert best > 0                                              # the minimum is in the middle
    assert not np.array_equal(seen[-1][0], seen[best][0])        # so restoring changes something
    np.testing.assert_array_equal(net.flat_params, seen[best][0])
    np.testing.assert_array_equal(net[1].running_mean, seen[best][1])
    np.testing.assert_array_equal(net[1].running_var, seen[best][2])
    assert net.loss_value(*validation[:1], validation[1].reshape(-1, 1), cr.MSE()) == \
        pytest.approx(h["val_loss"][best], rel=1e-12)


def test_early_stopping_without_restoring_keeps_the_last_weights():
    net, X, y, validation = _overfitting_run()
    last = []
    record = cr.LambdaCallback(on_epoch_end=lambda e, logs: last.append(net.flat_params.copy()))
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=200, batch_size=16, seed=0,
            validation_data=validation, verbose=0, callbacks=[record, cr.EarlyStopping(patience=3)])
    np.testing.assert_array_equal(net.flat_params, last[-1])


def test_early_stopping_modes_and_errors():
    assert cr.EarlyStopping(monitor="val_accuracy").mode == "max"
    assert cr.EarlyStopping(monitor="val_loss").mode == "min"
    net, X, y, validation = _overfitting_run()
    with pytest.raises(ValueError, match="monitors 'val_loss'.*available: loss, lr"):
        net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), verbose=0,
                callbacks=[cr.EarlyStopping()])
    with pytest.raises(ValueError, match="patience must be >= 0, got -1"):
        cr.EarlyStopping(patience=-1)
    with pytest.raises(TypeError, match="patience must be an integer >= 0, got 2.5"):
        cr.EarlyStopping(patience=2.5)
    # min_delta: improvements smaller than it do not count
    stop = cr.EarlyStopping(monitor="loss", min_delta=1e9)
    h = net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), epochs=50, verbose=0,
                callbacks=[stop])
    assert len(h["loss"]) == 2 and stop.best_epoch == 0


def test_csv_logger_writes_every_epoch(tmp_path):
    net, X, y, validation = _overfitting_run()
    path = tmp_path / "log.csv"
    h = net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), epochs=4, verbose=0,
                validation_data=validation, callbacks=[cr.CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "val_loss", "lr"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2, 3]
    for column, key in enumerate(rows[0][1:], start=1):
        assert [float(r[column]) for r in rows[1:]] == h[key]   # exact: repr round-trips
    # append: a second run adds rows, not a second header
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), epochs=2, verbose=0,
            validation_data=validation, callbacks=[cr.CSVLogger(path, append=True)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 7 and rows.count(rows[0]) == 1


def test_protocol_order_and_stop_training():
    net, X, y, _ = _overfitting_run()
    calls = []

    def on_batch_end(batch, logs):
        calls.append(("batch", batch))
        if len([c for c in calls if c[0] == "batch"]) == 6:
            cb.run.stop_training = True

    cb = cr.LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin",)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_batch_end=on_batch_end,
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_train_end=lambda logs: calls.append(("train_end",)))
    h = net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=5, batch_size=16,
                verbose=0, callbacks=[cb])
    assert calls == [("train_begin",), ("epoch_begin", 0), ("batch", 0), ("batch", 1),
                     ("batch", 2), ("batch", 3), ("epoch_end", 0, ["loss", "lr"]),
                     ("epoch_begin", 1), ("batch", 0), ("batch", 1),
                     ("epoch_end", 1, ["loss", "lr"]), ("train_end",)]
    assert len(h["loss"]) == 2 and cb.run.net is net and cb.run.history is h


def test_learning_rate_scheduler_sets_the_optimizer_rate():
    net, X, y, _ = _overfitting_run()
    opt = cr.SGD(lr=0.01)
    rates = []
    watch = cr.LambdaCallback(on_epoch_begin=lambda e, logs: rates.append(opt.lr))
    net.fit(X, y, loss=cr.MSE(), optimizer=opt, epochs=3, verbose=0,
            callbacks=[cr.LearningRateScheduler(cr.schedules.ExponentialLR(0.02, 0.5)), watch])
    assert rates == [0.02, 0.01, 0.005]
    with pytest.raises(TypeError, match="schedule must be"):
        cr.LearningRateScheduler(0.1)


def test_a_bar_over_short_epochs_shows_the_loss():
    # the estimators' bar (one over the epochs): epochs far shorter than its refresh
    # interval show their loss from the first epoch on, not only at the end
    import io
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2))
    y = (X[:, 0] > 0).astype(int)
    bar = cr.callbacks.ProgressBar(file=io.StringIO(), per_epoch=False)
    shown = []
    watch = cr.LambdaCallback(on_epoch_end=lambda epoch, logs: shown.append(bar.bar.postfix))
    net = cr.mlp([2, 3, 1], hidden="tanh", output="sigmoid", seed=0)
    net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=30,
            batch_size=None, verbose=0, callbacks=[bar, watch])
    assert shown[0] is not None and "loss" in shown[0]
    assert "loss" in shown[-1]


def test_a_bar_stopped_early_ends_showing_the_last_epochs_loss():
    # a run shorter than the bar's refresh interval, stopped before its last epoch: the bar
    # once closed on the first epoch's loss (the trial's "loss of epoch 1 at epoch 74")
    import io
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2))
    y = (X[:, 0] > 0).astype(int)
    out = io.StringIO()
    history = cr.History()
    net = cr.mlp([2, 3, 1], hidden="tanh", output="sigmoid", seed=0)
    net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.5), epochs=500,
            batch_size=None, verbose=0,
            callbacks=[cr.callbacks.ProgressBar(file=out, per_epoch=False), history,
                       cr.callbacks.EarlyStopping(monitor="loss", patience=3, min_delta=10.0)])
    losses = history["loss"]
    assert len(losses) == 4 and f"{losses[0]:.4f}" != f"{losses[-1]:.4f}"
    final = out.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert "4/500" in final and f"loss {losses[-1]:.4f}" in final, final
