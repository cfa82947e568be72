"""Checkpoints: exact resume, best-only saving, atomic writes that survive SIGKILL."""
import os
import signal
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.checkpoint import read_checkpoint


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
    history = _fit(again, cr.SGD(lr=0.1), 2, resume_from=path)
    np.testing.assert_array_equal(again.flat_params, net.flat_params)
    assert history.epoch == [0, 1]


def test_a_checkpoint_is_also_a_model_file(tmp_path):
    path = tmp_path / "c.safetensors"
    net = _net()
    _fit(net, cr.Adam(), 1, callbacks=[cr.ModelCheckpoint(path)])
    X, _ = _data()
    np.testing.assert_array_equal(cr.load(path).predict(X), net.predict(X))
    _, info, state = read_checkpoint(path)
    assert info["optimizer"] == "Adam" and state["t"] == 5
    assert sorted(state) == ["m", "t", "v"]
    assert set(info["history"]) == {"loss", "val_loss", "val_accuracy"}


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
    with pytest.raises(ValueError, match=r"monitors 'val_auc'.*available: loss, val_accuracy"):
        _fit(_net(), cr.SGD(lr=0.1), 1,
             callbacks=[cr.ModelCheckpoint(tmp_path / "c", keep_best=True, monitor="val_auc")])


def test_settings_are_checked_at_construction(tmp_path):
    with pytest.raises(ValueError, match="every must be an integer >= 1, got 0"):
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
    """Child process: train with a checkpoint every epoch until killed."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 32))
    y = rng.integers(0, 4, 64)
    net = cr.mlp([32, 256, 256, 4], output="softmax", seed=0)  # ~75k weights: ~0.9 MB files
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(), epochs=10**9, batch_size=64,
            seed=0, verbose=0, callbacks=[cr.ModelCheckpoint(path)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_while_writing_always_leaves_a_complete_checkpoint(tmp_path):
    path = tmp_path / "c.safetensors"
    rng = np.random.default_rng(0)
    epochs_seen = []
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
        time.sleep(float(rng.uniform(0.0, 0.06)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        net, info, state = read_checkpoint(path)  # complete, or this raises
        assert net.n_params == 32 * 256 + 256 + 256 * 256 + 256 + 256 * 4 + 4
        assert len(info["history"]["loss"]) == info["epoch"] + 1
        assert state["t"] == info["epoch"] + 1 and state["m"].shape == (net.n_params,)
        epochs_seen.append(info["epoch"])
    leftovers = [f for f in os.listdir(tmp_path) if f != "c.safetensors"]
    assert all(f.startswith(".c.safetensors.") and f.endswith(".tmp") for f in leftovers)
    assert max(epochs_seen) > 0  # the kills really came while checkpoints were being written
