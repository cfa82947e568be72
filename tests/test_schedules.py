"""Learning-rate schedules: the sequences of torch.optim.lr_scheduler over 100 epochs, and fit."""
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import schedules as S

EPOCHS = 100
TORCH = torch.optim.lr_scheduler

CASES = [
    (lambda: S.StepLR(0.1, step_size=10), lambda o: TORCH.StepLR(o, step_size=10)),
    (lambda: S.StepLR(0.1, step_size=7, gamma=0.5), lambda o: TORCH.StepLR(o, 7, gamma=0.5)),
    (lambda: S.ExponentialLR(0.1, gamma=0.95), lambda o: TORCH.ExponentialLR(o, gamma=0.95)),
    (lambda: S.CosineAnnealingLR(0.1, T_max=100), lambda o: TORCH.CosineAnnealingLR(o, T_max=100)),
    (lambda: S.CosineAnnealingLR(0.1, T_max=30, eta_min=1e-3),
     lambda o: TORCH.CosineAnnealingLR(o, T_max=30, eta_min=1e-3)),
    (lambda: S.LinearLR(0.1), lambda o: TORCH.LinearLR(o)),
    (lambda: S.LinearLR(0.1, start_factor=0.01, end_factor=0.5, total_iters=40),
     lambda o: TORCH.LinearLR(o, start_factor=0.01, end_factor=0.5, total_iters=40)),
    (lambda: S.OneCycleLR(0.5, total_steps=100),
     lambda o: TORCH.OneCycleLR(o, max_lr=0.5, total_steps=100, cycle_momentum=False)),
    (lambda: S.OneCycleLR(0.5, total_steps=120, pct_start=0.25, anneal_strategy="linear",
                          three_phase=True, div_factor=10, final_div_factor=100),
     lambda o: TORCH.OneCycleLR(o, max_lr=0.5, total_steps=120, pct_start=0.25,
                                anneal_strategy="linear", three_phase=True, div_factor=10,
                                final_div_factor=100, cycle_momentum=False)),
]


def _torch_rates(make, metrics=None, lr=0.1):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    scheduler = make(opt)
    rates = []
    for epoch in range(EPOCHS):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step(metrics[epoch]) if metrics is not None else scheduler.step()
    return np.array(rates)


def _our_rates(schedule, metrics=None):
    rates = []
    for epoch in range(EPOCHS):
        rates.append(schedule.lr)
        schedule.step({"val_loss": metrics[epoch]} if metrics is not None else {})
    return np.array(rates)


@pytest.mark.parametrize("ours,theirs", CASES, ids=lambda f: repr(f()) if f.__code__.co_argcount == 0 else "")
def test_sequence_equals_torch(ours, theirs):
    expected = _torch_rates(theirs)
    got = _our_rates(ours())
    assert len(np.unique(expected)) > 5  # a schedule that moves
    # torch computes some recursively: equal up to rounding in the last bits
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("settings", [
    dict(factor=0.5, patience=3, cooldown=2, min_lr=1e-3),
    dict(factor=0.1, patience=0, threshold=0.05, threshold_mode="abs"),
    dict(mode="max", factor=0.7, patience=5, threshold=1e-3),
])
def test_reduce_on_plateau_equals_torch(settings):
    rng = np.random.default_rng(0)
    metrics = np.abs(5 + np.cumsum(rng.normal(0, 0.3, EPOCHS)))  # wanders: plateaus and drops
    expected = _torch_rates(lambda o: TORCH.ReduceLROnPlateau(o, **settings), metrics)
    got = _our_rates(S.ReduceLROnPlateau(0.1, **settings), metrics)
    assert len(np.unique(expected)) >= 3
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def _data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    return X, X @ np.array([1.0, -1.0, 0.5])


def test_optimizer_takes_a_schedule_and_history_records_each_epochs_rate():
    X, y = _data()
    schedule = S.StepLR(0.05, step_size=3, gamma=0.5)
    opt = cr.SGD(lr=schedule, momentum=0.9)
    assert opt.schedule is schedule and opt.lr == 0.05
    h = cr.mlp([3, 4, 1], seed=0).fit(X, y, loss=cr.MSE(), optimizer=opt, epochs=8, verbose=0)
    np.testing.assert_allclose(h["lr"], [S.StepLR(0.05, 3, 0.5).lr_at(e) for e in range(8)])
    assert opt.lr == 0.05 * 0.5 ** 2  # left at the rate of the next epoch
    assert schedule.epoch == 8        # a second fit carries on from here, as torch does


def test_rates_recorded_are_the_rates_used():
    # each epoch's steps really use the recorded rate: replay them with a plain SGD
    X, y = _data()
    net = cr.mlp([3, 1], seed=0, dtype=np.float64)
    replay = net.copy()
    h = net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=S.ExponentialLR(0.1, 0.5)),
                epochs=4, batch_size=None, verbose=0)
    for lr in h["lr"]:
        replay.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=lr), epochs=1, batch_size=None, verbose=0)
    np.testing.assert_allclose(net.flat_params, replay.flat_params, rtol=1e-13)


def test_plain_optimizer_records_a_constant_rate():
    X, y = _data()
    h = cr.mlp([3, 1], seed=0).fit(X, y, loss=cr.MSE(), optimizer=cr.Adam(lr=3e-3), epochs=3,
                                   verbose=0)
    assert h["lr"] == [3e-3] * 3


def test_plateau_schedule_in_fit_reads_the_logs():
    X, y = _data()
    opt = cr.SGD(lr=S.ReduceLROnPlateau(1e-6, monitor="loss", patience=0, factor=0.5))
    h = cr.mlp([3, 1], seed=0).fit(X, y, loss=cr.MSE(), optimizer=opt, epochs=4, verbose=0)
    assert h["lr"][-1] < h["lr"][0]  # a rate of 1e-6 learns next to nothing: the loss plateaus
    with pytest.raises(ValueError, match="monitors 'val_loss', which is not in the epoch's logs"):
        cr.mlp([3, 1], seed=0).fit(X, y, loss=cr.MSE(), epochs=1, verbose=0,
                                   optimizer=cr.SGD(lr=S.ReduceLROnPlateau(0.1)))


def test_learning_rate_scheduler_callback_with_a_function():
    X, y = _data()
    cb = cr.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    h = cr.mlp([3, 1], seed=0).fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.5), epochs=4,
                                   verbose=0, callbacks=[cb])
    np.testing.assert_allclose(h["lr"], [0.1, 0.05, 0.1 / 3, 0.025])
    with pytest.raises(ValueError, match="use one of them"):
        cr.mlp([3, 1], seed=0).fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=S.StepLR(0.1, 2)),
                                   verbose=0, callbacks=[cr.LearningRateScheduler(S.StepLR(0.1, 2))])
    with pytest.raises(ValueError, match="gave nan for epoch 0"):
        cr.mlp([3, 1], seed=0).fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), verbose=0,
                                   callbacks=[cr.LearningRateScheduler(lambda e, lr: float("nan"))])


def test_settings_are_checked():
    with pytest.raises(ValueError, match="step_size must be >= 1, got 0"):
        S.StepLR(0.1, step_size=0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        S.ExponentialLR(-1, 0.9)
    with pytest.raises(ValueError, match="anneal_strategy"):
        S.OneCycleLR(0.1, 10, anneal_strategy="cosine")
    one_cycle = S.OneCycleLR(0.1, total_steps=3)
    for _ in range(3):
        one_cycle.step()
    with pytest.raises(ValueError, match="past its total_steps=3"):
        one_cycle.step()
    schedule = S.StepLR(0.1, 2)
    schedule.step(), schedule.step()
    schedule.reset()
    assert schedule.lr == 0.1 and schedule.epoch == 0


@pytest.mark.parametrize("state, message", [
    ({"step": 3}, "holds 'step', which is not one of its own"),            # would shadow the method
    ({"__class__": "x"}, "holds '__class__'"),
    ({"lr": "0.1"}, "state 'lr' must be number"),
    ({"lr": float("nan")}, "state 'lr' must be number"),
    ({"mode": 1}, "state 'mode' must be str"),
    ({"epoch": True}, "state 'epoch' must be number"),
    ([("lr", 0.1)], "state must be a mapping"),
    ({"best": "low"}, "best must be a number and bad_epochs a count"),
    ({"bad_epochs": 1e400}, "best must be a number and bad_epochs a count"),
])
def test_a_schedule_takes_from_a_checkpoint_only_its_own_keys_and_kinds(state, message):
    schedule = S.ReduceLROnPlateau(0.1)
    before = schedule.state_dict()
    with pytest.raises(ValueError, match=message):
        schedule.load_state_dict(state)
    assert schedule.state_dict() == before   # refused whole: nothing taken
    assert callable(schedule.step)


def test_a_schedule_state_round_trips_through_json():
    import json
    schedule = S.OneCycleLR(0.1, 20)
    for _ in range(7):
        schedule.step()
    twin = S.OneCycleLR(0.1, 20)
    twin.load_state_dict(json.loads(json.dumps(schedule.state_dict())))
    assert [twin.step() for _ in range(5)] == [schedule.step() for _ in range(5)]
