"""The best value so far, and the epochs since: the one helper under EarlyStopping,
ModelCheckpoint(keep_best), ReduceLROnPlateau and the tabular recipe's best epoch."""
import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.patience import Best, monitor_mode


def test_best_counts_improvements_and_waits():
    best = Best("min", delta=0.1)
    assert not best.found and best.value == math.inf
    assert [best.update(v, e) for e, v in enumerate([1.0, 0.95, 0.8, 0.85])] == [True, False, True, False]
    assert (best.value, best.epoch, best.wait) == (0.8, 2, 1)


def test_best_relative_is_torchs_rel_threshold():
    best = Best("max", delta=0.1, relative=True)
    best.update(10.0)
    assert not best.beats(11.0) and best.beats(11.01)  # > 10·(1 + 0.1)


def test_mode_auto_decides_by_the_name():
    assert monitor_mode("val_accuracy", "auto") == "max"
    assert monitor_mode("val_loss", "auto") == "min"
    with pytest.raises(ValueError, match="mode must be"):
        Best("auto")


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_model_checkpoint_min_delta_saves_only_a_clear_improvement(tmp_path):
    X, y = _data()
    net = cr.mlp([3, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    checkpoint = cr.ModelCheckpoint(tmp_path / "m.safetensors", keep_best=True, monitor="loss",
                                    min_delta=1e9)
    history = net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=4,
                      verbose=0, callbacks=[checkpoint])
    # nothing beats the first epoch by 1e9: only the first is saved
    assert checkpoint.best == history["loss"][0]


def test_reduce_lr_on_plateau_mode_auto_and_a_state_that_is_json():
    schedule = cr.schedules.ReduceLROnPlateau(1.0, monitor="val_accuracy", mode="auto",
                                              patience=0, factor=0.5)
    assert schedule.mode == "max"
    schedule.step({"val_accuracy": 0.5})
    schedule.step({"val_accuracy": 0.6})
    assert schedule.lr == 1.0  # rising accuracy is an improvement
    state = json.loads(json.dumps(schedule.state_dict()))
    schedule.step({"val_accuracy": 0.4})
    assert schedule.lr == 0.5
    again = cr.schedules.ReduceLROnPlateau(1.0, monitor="val_accuracy", mode="auto", patience=0,
                                           factor=0.5)
    again.load_state_dict(state)
    assert (again.best, again.bad_epochs) == (0.6, 0)
    again.step({"val_accuracy": 0.4})
    assert again.lr == 0.5
