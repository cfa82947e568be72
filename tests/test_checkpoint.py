"""Checkpoints: exact resume, best-only saving, atomic writes that survive SIGKILL."""
import os
import signal
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.train.checkpoint import read_checkpoint

from conftest import assert_blas_close, sums_length


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 0)
    return X, y


def _net(seed=0, dtype=np.float32):
    return cr.mlp([6, 16, 8, 3], hidden="tanh", output="softmax", seed=seed, dtype=dtype)


def _fit(net, optimizer, epochs, **kwargs):
    X, y = _data()
    return net.fit(X[:70], y[:70], loss=cr.CrossEntropy(), optimizer=optimizer, epochs=epochs,
                   batch_size=16, seed=123, validation_data=(X[70:], y[70:]), verbose=0,
                   **kwargs)


@pytest.mark.parametrize("make_optimizer", [
    lambda: cr.SGD(lr=0.05, momentum=0.9),
    lambda: cr.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: cr.Adam(lr=0.01),
], ids=["sgd-momentum", "sgd-nesterov", "adam"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resume_equals_an_uninterrupted_run_bitwise(tmp_path, make_optimizer, dtype):
    whole = _net(dtype=dtype)
    history = _fit(whole, make_optimizer(), 4)

    path = tmp_path / "ckpt.safetensors"
    first = _net(dtype=dtype)
    _fit(first, make_optimizer(), 2, callbacks=[cr.ModelCheckpoint(path)])
    assert read_checkpoint(path)[1]["epoch"] == 1

    resumed = _net(seed=99, dtype=dtype)  # fresh weights, overwritten by the checkpoint
    optimizer = make_optimizer()
    resumed_history = _fit(resumed, optimizer, 4, resume_from=path)

    np.testing.assert_array_equal(resumed.flat_params, whole.flat_params)
    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()
    assert resumed_history.epoch == [0, 1, 2, 3]
    assert resumed_history.history == history.history
    assert optimizer.t == 4 * 5  # 70 rows in batches of 16: 5 steps an epoch


def test_resume_then_checkpoint_again_continues_the_chain(tmp_path):
    path = tmp_path / "c.safetensors"
    whole = _net()
    _fit(whole, cr.Adam(lr=0.01), 3)
    net = _net()
    _fit(net, cr.Adam(lr=0.01), 1, callbacks=[cr.ModelCheckpoint(path)])
    net = _net()
    _fit(net, cr.Adam(lr=0.01), 2, resume_from=path, callbacks=[cr.ModelCheckpoint(path)])
    net = _net()
    _fit(net, cr.Adam(lr=0.01), 3, resume_from=path)
    assert net.flat_params.tobytes() == whole.flat_params.tobytes()


def test_resuming_a_finished_run_trains_no_further(tmp_path):
    path = tmp_path / "c.safetensors"
    net = _net()
    _fit(net, cr.SGD(lr=0.1), 2, callbacks=[cr.ModelCheckpoint(path)])
    again = _net(seed=5)
    with pytest.warns(UserWarning, match="nothing left to train"):
        history = _fit(again, cr.SGD(lr=0.1), 2, resume_from=path)
    np.testing.assert_array_equal(again.flat_params, net.flat_params)
    assert history.epoch == [0, 1]


def test_a_checkpoint_is_also_a_model_file(tmp_path):
    path = tmp_path / "c.safetensors"
    net = _net()
    _fit(net, cr.Adam(), 1, callbacks=[cr.ModelCheckpoint(path)])
    X, _ = _data()
    loaded = cr.load(path)
    np.testing.assert_array_equal(loaded.flat_params, net.flat_params)
    assert_blas_close(loaded.predict(X), net.predict(X), sums_length(net))
    _, info, state = read_checkpoint(path)
    assert info["optimizer"] == "Adam" and state["t"] == 5
    assert sorted(state) == ["m_scaled", "t", "v"]
    assert set(info["history"]) == {"loss", "val_loss", "val_accuracy", "lr"}


def test_every_n_epochs(tmp_path):
    path = tmp_path / "c.safetensors"
    saved = []

    class Spy(cr.ModelCheckpoint):
        def on_epoch_end(self, epoch, logs):
            super().on_epoch_end(epoch, logs)
            if path.exists():
                saved.append(read_checkpoint(path)[1]["epoch"])
    _fit(_net(), cr.SGD(lr=0.1), 5, callbacks=[Spy(path, every=2)])
    assert sorted(set(saved)) == [1, 3]


def test_keep_best_holds_the_best_epoch(tmp_path):
    path = tmp_path / "best.safetensors"
    history = _fit(_net(), cr.SGD(lr=2.0), 8,
                   callbacks=[cr.ModelCheckpoint(path, keep_best=True, monitor="val_loss")])
    best = int(np.argmin(history["val_loss"]))
    assert read_checkpoint(path)[1]["epoch"] == best
    assert read_checkpoint(path)[1]["best"] == min(history["val_loss"])


def test_keep_best_with_an_unknown_monitor(tmp_path):
    with pytest.raises(ValueError, match=r"monitors 'val_auc'.*available: loss, lr, val_accuracy"):
        _fit(_net(), cr.SGD(lr=0.1), 1,
             callbacks=[cr.ModelCheckpoint(tmp_path / "c", keep_best=True, monitor="val_auc")])


def test_settings_are_checked_at_construction(tmp_path):
    with pytest.raises(ValueError, match="every must be >= 1, got 0"):
        cr.ModelCheckpoint(tmp_path / "c", every=0)
    with pytest.raises(ValueError, match="mode must be"):
        cr.ModelCheckpoint(tmp_path / "c", mode="up")
    with pytest.raises(ValueError, match="is a folder"):
        cr.ModelCheckpoint(tmp_path)


def test_resume_refuses_a_different_network_or_optimizer(tmp_path):
    path = tmp_path / "c.safetensors"
    _fit(_net(), cr.SGD(lr=0.1, momentum=0.9), 1, callbacks=[cr.ModelCheckpoint(path)])
    other = cr.mlp([6, 5, 3], hidden="tanh", output="softmax", seed=0)
    with pytest.raises(ValueError, match="holds a different network"):
        _fit(other, cr.SGD(lr=0.1, momentum=0.9), 2, resume_from=path)
    with pytest.raises(ValueError, match="saved with a SGD optimizer; resume it with the same "
                                         "kind, not Adam"):
        _fit(_net(), cr.Adam(), 2, resume_from=path)
    with pytest.raises(ValueError, match="holds a different network"):
        _fit(_net(dtype=np.float64), cr.SGD(lr=0.1, momentum=0.9), 2, resume_from=path)


def test_resume_from_a_plain_model_file(tmp_path):
    path = tmp_path / "m.safetensors"
    _net().save(path)
    with pytest.raises(ValueError, match="is a model file, not a checkpoint"):
        _fit(_net(), cr.SGD(lr=0.1), 2, resume_from=path)


def test_nothing_left_behind_and_stale_temporaries_cleared(tmp_path):
    path = tmp_path / "c.safetensors"
    stale = tmp_path / ".c.safetensors.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep me")
    _fit(_net(), cr.SGD(lr=0.1), 3, callbacks=[cr.ModelCheckpoint(path)])
    assert sorted(os.listdir(tmp_path)) == ["c.safetensors", "notes.txt"]


# -- SIGKILL while writing ----------------------------------------------------------

def _write_checkpoints_forever(path):
    """Child process: train with a checkpoint every epoch until killed, resuming
    from the checkpoint the previous child left, as a restarted job would."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 32))
    y = rng.integers(0, 4, 64)
    net = cr.mlp([32, 256, 256, 4], output="softmax", seed=0)  # ~75k weights: ~0.9 MB files
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(), epochs=10**9, batch_size=64,
            seed=0, verbose=0, callbacks=[cr.ModelCheckpoint(path)],
            resume_from=path if path.exists() else None)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_while_writing_always_leaves_a_complete_checkpoint(tmp_path):
    path = tmp_path / "c.safetensors"
    rng = np.random.default_rng(0)
    epochs_seen, mid_write = [], 0
    # the children fork from a warm process (numba's kernels loaded, when numba is there),
    # as each would otherwise spend its short life loading them: fit's planned work loads
    # them in each child, a one-epoch fit here would not
    cr.engine.load()
    _write_checkpoints_once = cr.mlp([32, 256, 256, 4], output="softmax", seed=0)
    _write_checkpoints_once.fit(rng.standard_normal((64, 32)), rng.integers(0, 4, 64),
                                loss=cr.CrossEntropy(), optimizer=cr.Adam(), verbose=0)
    for attempt in range(25):
        pid = os.fork()
        if pid == 0:  # child
            try:
                _write_checkpoints_forever(path)
            finally:
                os._exit(1)
        deadline = time.monotonic() + 10
        while attempt == 0 and not path.exists() and time.monotonic() < deadline:
            time.sleep(0.002)  # the first run needs one complete checkpoint to start with
        time.sleep(float(rng.uniform(0.0, 0.25)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        mid_write += any(f.endswith(".tmp") for f in os.listdir(tmp_path))
        net, info, state = read_checkpoint(path)  # complete, or this raises
        assert net.n_params == 32 * 256 + 256 + 256 * 256 + 256 + 256 * 4 + 4
        assert len(info["history"]["loss"]) == info["epoch"] + 1
        assert state["t"] == info["epoch"] + 1 and state["m_scaled"].shape == (net.n_params,)
        epochs_seen.append(info["epoch"])
    leftovers = [f for f in os.listdir(tmp_path) if f != "c.safetensors"]
    print("epochs at each kill:", epochs_seen, "killed mid-write:", mid_write)
    assert all(f.startswith(".c.safetensors.") and f.endswith(".tmp") for f in leftovers)
    # each child went on from the last complete checkpoint: the kills came mid-run
    assert epochs_seen == sorted(epochs_seen) and epochs_seen[-1] > epochs_seen[0]


def test_resume_restores_the_learning_rate(tmp_path):
    path = tmp_path / "c.safetensors"
    optimizer = cr.SGD(lr=0.1)
    halve = cr.LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(optimizer, "lr", optimizer.lr / 2))
    _fit(_net(), optimizer, 2, callbacks=[halve, cr.ModelCheckpoint(path)])
    resumed = cr.SGD(lr=0.1)
    with pytest.warns(UserWarning, match="nothing left to train"):
        _fit(_net(), resumed, 2, resume_from=path)
    assert resumed.lr == 0.025


class _Noise(cr.Identity):
    """Adds Gaussian noise in training, from its own generator (as Dropout draws masks)."""

    def __init__(self, scale=0.1, seed=0):
        self.scale, self.rng = scale, np.random.default_rng(seed)

    def forward(self, Z):
        self.Z = Z
        return Z + self.scale * self.rng.standard_normal(Z.shape) if self.training else Z

    def config(self):
        return {"scale": self.scale}


def test_layer_generators_are_saved_so_noisy_layers_resume_exactly(tmp_path):

    def net():
        return cr.Sequential([cr.Dense(6, 8, seed=0), cr.Tanh(), _Noise(seed=7),
                              cr.Dense(8, 3, seed=1), cr.Softmax()])
    whole = net()
    _fit(whole, cr.Adam(lr=0.01), 4)
    path = tmp_path / "c.safetensors"
    _fit(net(), cr.Adam(lr=0.01), 2, callbacks=[cr.ModelCheckpoint(path)])
    resumed = cr.Sequential([cr.Dense(6, 8, seed=3), cr.Tanh(), _Noise(seed=99),
                             cr.Dense(8, 3, seed=4), cr.Softmax()])
    _fit(resumed, cr.Adam(lr=0.01), 4, resume_from=path)
    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()


class Tanh(cr.Tanh):
    """Named like chainrule's own: a file naming "Tanh" loads as cr.Tanh, so it cannot be saved."""


def test_an_unsaveable_network_fails_before_training(tmp_path):
    net = cr.Sequential([cr.Dense(6, 3, seed=0), Tanh(), cr.Softmax()])
    start = net.flat_params.copy()
    with pytest.raises(ValueError, match=r"layer 1 \(Tanh\(\)\) is of class .*loads as chainrule's own"):
        _fit(net, cr.SGD(lr=0.1), 2, callbacks=[cr.ModelCheckpoint(tmp_path / "c")])
    np.testing.assert_array_equal(net.flat_params, start)
    assert os.listdir(tmp_path) == []


def test_a_missing_folder_fails_before_training(tmp_path):
    net = _net()
    start = net.flat_params.copy()
    path = tmp_path / "missing" / "c.safetensors"
    with pytest.raises(ValueError, match=r"ModelCheckpoint path '.*c.safetensors': its folder "
                                         r"'.*missing' does not exist; create it first"):
        _fit(net, cr.SGD(lr=0.1), 2, callbacks=[cr.ModelCheckpoint(path)])
    np.testing.assert_array_equal(net.flat_params, start)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_a_read_only_folder_fails_before_training(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    net = _net()
    start = net.flat_params.copy()
    try:
        with pytest.raises(ValueError, match=r"ModelCheckpoint path '.*c.safetensors': cannot "
                                             r"write in its folder '.*locked' \(Permission denied"):
            _fit(net, cr.SGD(lr=0.1), 2, callbacks=[cr.ModelCheckpoint(folder / "c.safetensors")])
    finally:
        folder.chmod(0o700)
    np.testing.assert_array_equal(net.flat_params, start)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_killed_between_writing_and_renaming_leaves_the_old_checkpoint(tmp_path):
    """Deterministic companion of the test above: die at the worst moment, the fsync."""
    path = tmp_path / "c.safetensors"
    _fit(_net(), cr.Adam(), 1, callbacks=[cr.ModelCheckpoint(path)])
    old = path.read_bytes()
    pid = os.fork()
    if pid == 0:  # child: the next checkpoint's bytes are written, then the process dies
        try:
            from chainrule.files import model as crio
            crio.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
            _fit(_net(), cr.Adam(), 3, callbacks=[cr.ModelCheckpoint(path)])
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert path.read_bytes() == old
    assert read_checkpoint(path)[1]["epoch"] == 0
    assert len(os.listdir(tmp_path)) == 2  # the half-finished temporary file is still there
    _fit(_net(), cr.Adam(), 2, callbacks=[cr.ModelCheckpoint(path)], resume_from=path)
    assert os.listdir(tmp_path) == ["c.safetensors"]
    assert read_checkpoint(path)[1]["epoch"] == 1


def _bn_net(seed=0, dtype=np.float64):
    return cr.Sequential([cr.Dense(6, 8, seed=seed, dtype=dtype), cr.BatchNorm(8, dtype=dtype),
                          cr.ReLU(), cr.Dense(8, 3, seed=seed + 1, dtype=dtype), cr.Softmax()])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resume_restores_batchnorm_running_statistics(tmp_path, dtype):
    whole = _bn_net(dtype=dtype)
    _fit(whole, cr.SGD(lr=0.05, momentum=0.9), 4)
    path = tmp_path / "c.safetensors"
    _fit(_bn_net(dtype=dtype), cr.SGD(lr=0.05, momentum=0.9), 2,
         callbacks=[cr.ModelCheckpoint(path)])
    resumed = _bn_net(seed=5, dtype=dtype)
    _fit(resumed, cr.SGD(lr=0.05, momentum=0.9), 4, resume_from=path)

    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()
    for name in ("running_mean", "running_var"):
        assert getattr(resumed.layers[1], name).tobytes() == getattr(whole.layers[1], name).tobytes()
    X, _ = _data()
    assert_blas_close(resumed.predict(X), whole.predict(X), sums_length(whole))


def _lrs(optimizer):
    lrs = []
    return lrs, cr.LambdaCallback(on_epoch_begin=lambda epoch, logs: lrs.append(optimizer.lr))


def test_resume_continues_the_learning_rate_schedule(tmp_path):
    def optimizer():
        return cr.SGD(lr=cr.schedules.StepLR(0.05, step_size=1, gamma=0.5))
    whole_opt = optimizer()
    whole_lrs, spy = _lrs(whole_opt)
    whole = _net()
    history = _fit(whole, whole_opt, 4, callbacks=[spy])
    assert whole_lrs == [0.05, 0.025, 0.0125, 0.00625]

    path = tmp_path / "c.safetensors"
    _fit(_net(), optimizer(), 2, callbacks=[cr.ModelCheckpoint(path)])
    resumed_opt = optimizer()
    resumed_lrs, spy = _lrs(resumed_opt)
    resumed = _net(seed=9)
    resumed_history = _fit(resumed, resumed_opt, 4, resume_from=path, callbacks=[spy])
    assert resumed_lrs == whole_lrs[2:]
    assert resumed_history["lr"] == history["lr"]
    assert resumed_opt.schedule.epoch == whole_opt.schedule.epoch == 4
    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()


@pytest.mark.parametrize("make_schedule", [
    lambda: cr.schedules.ReduceLROnPlateau(0.5, factor=0.5, patience=0),
    lambda: cr.schedules.OneCycleLR(0.1, total_steps=5),
    lambda: cr.schedules.CosineAnnealingLR(0.05, T_max=5),
], ids=["plateau", "one-cycle", "cosine"])
def test_resume_continues_stateful_schedules(tmp_path, make_schedule):
    whole = _net()
    history = _fit(whole, cr.SGD(lr=make_schedule(), momentum=0.9), 5)
    assert len(set(history["lr"])) > 1  # the schedule did change the rate
    path = tmp_path / "c.safetensors"
    _fit(_net(), cr.SGD(lr=make_schedule(), momentum=0.9), 3, callbacks=[cr.ModelCheckpoint(path)])
    resumed = _net(seed=4)
    resumed_history = _fit(resumed, cr.SGD(lr=make_schedule(), momentum=0.9), 5, resume_from=path)
    assert resumed_history["lr"] == history["lr"]
    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()


@pytest.mark.parametrize("make", [lambda: cr.schedules.StepLR(0.05, step_size=1, gamma=0.5),
                                  lambda: cr.schedules.ReduceLROnPlateau(0.5, patience=0, factor=0.5)],
                         ids=["StepLR", "ReduceLROnPlateau"])
def test_a_schedule_held_by_a_callback_resumes_exactly(tmp_path, make):
    whole = _net()
    history = _fit(whole, cr.SGD(lr=0.05), 5, callbacks=[cr.LearningRateScheduler(make())])
    assert len(set(history["lr"])) > 1  # the schedule did lower the rate
    path = tmp_path / "c.safetensors"
    _fit(_net(), cr.SGD(lr=0.05), 2, callbacks=[cr.LearningRateScheduler(make()),
                                                cr.ModelCheckpoint(path)])
    resumed = _net()
    again = _fit(resumed, cr.SGD(lr=0.05), 5, resume_from=path,
                 callbacks=[cr.LearningRateScheduler(make())])
    assert again.history == history.history
    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()
    plain = tmp_path / "plain.safetensors"  # saved without the callback: no state to resume
    _fit(_net(), cr.SGD(lr=0.05), 2, callbacks=[cr.ModelCheckpoint(plain)])
    with pytest.raises(ValueError, match="cannot resume a LearningRateScheduler.*holds no state"):
        _fit(_net(), cr.SGD(lr=0.05), 4, resume_from=plain,
             callbacks=[cr.LearningRateScheduler(make())])


def test_resume_refuses_a_different_schedule(tmp_path):
    path = tmp_path / "c.safetensors"
    _fit(_net(), cr.SGD(lr=cr.schedules.StepLR(0.05, step_size=1, gamma=0.5)), 1,
         callbacks=[cr.ModelCheckpoint(path)])
    with pytest.raises(ValueError, match="saved with a StepLR schedule.*got no schedule"):
        _fit(_net(), cr.SGD(lr=0.05), 2, resume_from=path)
    with pytest.raises(ValueError, match="saved with a StepLR schedule.*got ExponentialLR"):
        _fit(_net(), cr.SGD(lr=cr.schedules.ExponentialLR(0.05, gamma=0.5)), 2, resume_from=path)
    plain = tmp_path / "plain.safetensors"
    _fit(_net(), cr.SGD(lr=0.05), 1, callbacks=[cr.ModelCheckpoint(plain)])
    with pytest.raises(ValueError, match="saved with a constant learning rate.*not a StepLR"):
        _fit(_net(), cr.SGD(lr=cr.schedules.StepLR(0.05, step_size=1)), 2, resume_from=plain)


@pytest.mark.parametrize("monitor", ["val_f1", "val_precision", "val_recall", "val_accuracy",
                                     "r2", "val_r2"])
def test_auto_mode_is_max_for_higher_is_better_metrics(tmp_path, monitor):
    assert cr.ModelCheckpoint(tmp_path / "c", monitor=monitor).mode == "max"
    assert cr.EarlyStopping(monitor=monitor).mode == "max"


@pytest.mark.parametrize("monitor", ["val_loss", "loss", "val_mae"])
def test_auto_mode_is_min_for_losses(tmp_path, monitor):
    assert cr.ModelCheckpoint(tmp_path / "c", monitor=monitor).mode == "min"
    assert cr.EarlyStopping(monitor=monitor).mode == "min"


def test_keep_best_remembers_its_best_on_resume(tmp_path):
    path = tmp_path / "best.safetensors"
    first = _fit(_net(), cr.SGD(lr=0.05), 3,
                 callbacks=[cr.ModelCheckpoint(path, keep_best=True, monitor="val_loss")])
    saved = read_checkpoint(path)[1]
    assert saved["best"] == min(first["val_loss"])
    checkpoint = cr.ModelCheckpoint(path, keep_best=True, monitor="val_loss")  # a fresh callback
    seen = []
    spy = cr.LambdaCallback(on_train_begin=lambda logs: seen.append(checkpoint.best))
    optimizer = cr.SGD(lr=0.05)
    # from epoch 3 on the rate is absurd, so no resumed epoch beats the saved best
    worse = cr.LambdaCallback(on_epoch_begin=lambda epoch, logs: setattr(optimizer, "lr", 50.0))
    history = _fit(_net(), optimizer, 5, resume_from=path, callbacks=[checkpoint, spy, worse])
    assert seen == [saved["best"]]
    assert min(history["val_loss"][3:]) > saved["best"]
    assert checkpoint.best == saved["best"]
    assert read_checkpoint(path)[1]["epoch"] == saved["epoch"]  # the best file was kept


def test_keep_best_is_not_restored_for_another_monitor(tmp_path):
    path = tmp_path / "best.safetensors"
    _fit(_net(), cr.SGD(lr=0.05), 2,
         callbacks=[cr.ModelCheckpoint(path, keep_best=True, monitor="val_loss")])
    checkpoint = cr.ModelCheckpoint(tmp_path / "b.safetensors", keep_best=True, monitor="loss")
    history = _fit(_net(), cr.SGD(lr=0.05), 3, resume_from=path, callbacks=[checkpoint])
    assert checkpoint.best == history["loss"][2]


def test_keep_best_does_not_carry_over_between_fits(tmp_path):
    checkpoint = cr.ModelCheckpoint(tmp_path / "a.safetensors", keep_best=True, monitor="val_loss")
    _fit(_net(), cr.SGD(lr=0.05), 3, callbacks=[checkpoint])
    checkpoint.best = -1.0  # as if an unrelated run had reached a loss no one can beat
    checkpoint.path = os.fspath(tmp_path / "b.safetensors")
    history = _fit(_net(seed=1), cr.SGD(lr=0.05), 2, callbacks=[checkpoint])
    assert os.path.exists(checkpoint.path)
    assert checkpoint.best == min(history["val_loss"])


def test_resume_works_with_a_custom_init(tmp_path):
    def small(n_in, n_out, rng):
        return 0.1 * rng.standard_normal((n_in, n_out))

    def net(seed):
        return cr.Sequential([cr.Dense(6, 8, init=small, seed=seed), cr.Tanh(),
                              cr.Dense(8, 3, init=small, seed=seed + 1), cr.Softmax()])
    whole = net(0)
    _fit(whole, cr.Adam(lr=0.01), 3)
    path = tmp_path / "c.safetensors"
    _fit(net(0), cr.Adam(lr=0.01), 1, callbacks=[cr.ModelCheckpoint(path)])
    resumed = net(7)
    _fit(resumed, cr.Adam(lr=0.01), 3, resume_from=path)
    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()
    with pytest.raises(ValueError, match="holds a different network"):
        other = cr.Sequential([cr.Dense(6, 8, init=small, seed=0), cr.ReLU(),
                               cr.Dense(8, 3, init=small, seed=1), cr.Softmax()])
        _fit(other, cr.Adam(lr=0.01), 3, resume_from=path)


# -- callbacks' state, the validation split and the epoch count on resume ---------------

def _stopping(restore_best_weights):
    return cr.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=restore_best_weights)


@pytest.mark.parametrize("restore_best_weights", [False, True])
def test_early_stopping_resumes_exactly(tmp_path, restore_best_weights):
    """Its best value, best epoch, patience count (and best weights) are in the checkpoint:
    the resumed run stops at the same epoch with the same weights as the uninterrupted one."""
    whole, stopper = _net(), _stopping(restore_best_weights)
    history = _fit(whole, cr.SGD(lr=0.5, momentum=0.9), 40, callbacks=[stopper])
    stop = stopper.stopped_epoch
    assert stop is not None and stop < 39 and stopper.best_epoch < stop - 1  # a run that waited
    path = tmp_path / "c.safetensors"
    _fit(_net(), cr.SGD(lr=0.5, momentum=0.9), stop,  # one epoch before the stop, mid-patience
         callbacks=[_stopping(restore_best_weights), cr.ModelCheckpoint(path)])
    assert read_checkpoint(path)[1]["callbacks"]["EarlyStopping#0"]["wait"] == 1
    resumed, again = _net(), _stopping(restore_best_weights)
    resumed_history = _fit(resumed, cr.SGD(lr=0.5, momentum=0.9), 40, resume_from=path,
                           callbacks=[again, cr.ModelCheckpoint(path)])
    assert (again.stopped_epoch, again.best_epoch, again.best) == \
        (stop, stopper.best_epoch, stopper.best)
    assert resumed_history.history == history.history
    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()
    # the file now holds the stopped run: resuming it trains no further, and says so
    last = _net()
    with pytest.warns(UserWarning, match=r"stopped training after epoch \d+: nothing left to train"):
        _fit(last, cr.SGD(lr=0.5, momentum=0.9), 40, resume_from=path,
             callbacks=[_stopping(restore_best_weights)])
    assert last.flat_params.tobytes() == whole.flat_params.tobytes()


def test_validation_split_drawn_without_a_seed_is_the_same_on_resume(tmp_path):
    """seed=None: the split's rows are in the checkpoint; nothing is drawn again."""
    import shutil
    X, y = _data()
    path, copy = tmp_path / "c.safetensors", tmp_path / "after-2.safetensors"
    keep = cr.LambdaCallback(on_epoch_begin=lambda epoch, logs: epoch == 2 and shutil.copy(path, copy))

    def fit(net, **kwargs):
        return net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.01), epochs=4,
                       batch_size=16, seed=None, validation_split=0.3, verbose=0, **kwargs)
    whole = _net()
    history = fit(whole, callbacks=[cr.ModelCheckpoint(path), keep])
    rows = read_checkpoint(copy)[1]["validation_rows"]
    assert len(rows) == 27 and rows.dtype == np.int64
    resumed = _net()
    assert fit(resumed, resume_from=copy).history == history.history
    assert resumed.flat_params.tobytes() == whole.flat_params.tobytes()
    with pytest.raises(ValueError, match=r"saved with validation_split=0.3 of 90 rows; resume it "
                                         r"with the same split of the same data, got "
                                         r"validation_split=0.2 of 90 rows"):
        _net().fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.01), epochs=4,
                   validation_split=0.2, verbose=0, resume_from=copy)


def test_csv_logger_continues_its_file_from_the_checkpoint(tmp_path):
    """Rows logged after the checkpoint (a run killed later) are replaced, not repeated."""
    whole_log, log = tmp_path / "whole.csv", tmp_path / "log.csv"
    _fit(_net(), cr.Adam(lr=0.01), 4, callbacks=[cr.CSVLogger(whole_log)])
    path = tmp_path / "c.safetensors"
    _fit(_net(), cr.Adam(lr=0.01), 3, callbacks=[cr.CSVLogger(log), cr.ModelCheckpoint(path, every=2)])
    assert len(log.read_text().splitlines()) == 4  # header and epochs 0, 1, 2; saved after 1
    _fit(_net(), cr.Adam(lr=0.01), 4, resume_from=path, callbacks=[cr.CSVLogger(log)])
    assert log.read_text() == whole_log.read_text()


def test_resuming_with_no_epochs_left(tmp_path):
    path = tmp_path / "c.safetensors"
    net = _net()
    history = _fit(net, cr.Adam(lr=0.01), 2, callbacks=[cr.ModelCheckpoint(path)])
    again = _net()
    with pytest.warns(UserWarning, match=r"already holds all epochs=2 epochs: nothing left to "
                                          r"train \(pass epochs > 2 to train further\)"):
        assert _fit(again, cr.Adam(lr=0.01), 2, resume_from=path).history == history.history
    assert again.flat_params.tobytes() == net.flat_params.tobytes()
    fewer = _net()
    start = fewer.flat_params.copy()
    with pytest.raises(ValueError, match=r"holds 2 epochs, more than epochs=1: epochs counts every "
                                         r"epoch, the saved ones included; pass epochs > 2"):
        _fit(fewer, cr.Adam(lr=0.01), 1, resume_from=path)
    np.testing.assert_array_equal(fewer.flat_params, start)
