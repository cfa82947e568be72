"""fit's data options: validation_split (stratified), sample_weight, class_weight, metrics."""
import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.utils.class_weight import compute_class_weight
from training_checks import assert_close, to_torch

import chainrule as cr


def _classification(n=60, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = rng.choice(k, size=n, p=np.linspace(1, 3, k) / np.linspace(1, 3, k).sum())
    return X, y


def _softmax_net(k=3):
    return cr.Sequential([cr.Dense(4, k, seed=0, dtype=np.float64), cr.Softmax()])


def _torch_weighted_step(net, X, y, class_weights, lr):
    """torch's weighted CrossEntropyLoss at the net's weights, and the weights after one SGD step."""
    W, b = to_torch(net[0].W, requires_grad=True), to_torch(net[0].b, requires_grad=True)
    loss = torch.nn.CrossEntropyLoss(weight=to_torch(class_weights))(
        to_torch(X) @ W + b, torch.tensor(y))
    loss.backward()
    return loss.item(), (W - lr * W.grad).detach(), (b - lr * b.grad).detach()


@pytest.mark.parametrize("class_weight", [{0: 3.0, 1: 0.5, 2: 1.7}, {1: 4.0}, "balanced"])
def test_class_weight_is_torchs_weighted_cross_entropy(class_weight):
    X, y = _classification()
    net = _softmax_net()
    if class_weight == "balanced":
        table = compute_class_weight("balanced", classes=np.arange(3), y=y)
    else:
        table = np.array([class_weight.get(c, 1.0) for c in range(3)])
    expected_loss, W, b = _torch_weighted_step(net, X, y, table, lr=0.5)
    h = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.5), batch_size=None,
                class_weight=class_weight, verbose=0)
    assert abs(h["loss"][0] - expected_loss) <= 1e-12
    assert_close(net[0].W, W, "W after one step")
    assert_close(net[0].b, b, "b after one step")
    plain = _softmax_net().fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.5),
                               batch_size=None, verbose=0)
    assert abs(plain["loss"][0] - expected_loss) > 1e-3  # the weights really changed the loss


def test_sample_weight_is_sklearns_weighted_log_loss():
    X, y = _classification(seed=1)
    w = np.random.default_rng(2).uniform(0, 3, len(y))
    net = _softmax_net()
    P = net.predict(X)
    h = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=1e-3), batch_size=None,
                sample_weight=w, verbose=0)
    assert h["loss"][0] == pytest.approx(skm.log_loss(y, P, sample_weight=w, labels=[0, 1, 2]),
                                         rel=1e-12)


def test_binary_class_weight_and_sample_weight_multiply():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    y = (rng.random(40) < 0.25).astype(int)
    w = rng.uniform(0.5, 2.0, 40)
    net = cr.Sequential([cr.Dense(4, 1, seed=0, dtype=np.float64), cr.Sigmoid()])
    p = net.predict(X)[:, 0]
    h = net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=1e-3), batch_size=None,
                sample_weight=w, class_weight={1: 3.0}, verbose=0)
    combined = w * np.where(y == 1, 3.0, 1.0)
    assert h["loss"][0] == pytest.approx(skm.log_loss(y, p, sample_weight=combined), rel=1e-12)


def test_each_mini_batch_is_a_weighted_mean():
    X, y = _classification(n=20, seed=4)
    w = np.random.default_rng(5).uniform(0.1, 2.0, 20)
    net = _softmax_net()
    P = net.predict(X)
    per_batch = []
    record = cr.LambdaCallback(on_batch_end=lambda b, logs: per_batch.append(logs["loss"]))
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=1e-30), batch_size=8, seed=0,
            sample_weight=w, verbose=0, callbacks=[record])  # lr ~0: the weights stay put
    order = np.random.default_rng(0).permutation(20)    # fit's shuffle for seed 0
    for i, start in enumerate(range(0, 20, 8)):
        rows = order[start:start + 8]
        expected = skm.log_loss(y[rows], P[rows], sample_weight=w[rows], labels=[0, 1, 2])
        assert per_batch[i] == pytest.approx(expected, rel=1e-12)


def test_zero_weight_rows_do_not_count():
    X, y = _classification(n=30, seed=6)
    w = np.r_[np.ones(20), np.zeros(10)]
    a, b = _softmax_net(), _softmax_net()
    a.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.05), epochs=5, batch_size=None,
          sample_weight=w, verbose=0)
    b.fit(X[:20], y[:20], loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.05), epochs=5,
          batch_size=None, verbose=0)
    np.testing.assert_allclose(a.flat_params, b.flat_params, rtol=1e-12)


def test_weights_are_checked():
    X, y = _classification(n=10)
    fit = lambda **kw: _softmax_net().fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.1),
                                          verbose=0, **kw)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(10,\)"):
        fit(sample_weight=np.ones(9))
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0, found -1.0"):
        fit(sample_weight=-np.ones(10))
    with pytest.raises(ValueError, match="class_weight has key 5"):
        fit(class_weight={5: 2.0})
    with pytest.raises(ValueError, match="'balanced' or a dict"):
        fit(class_weight="auto")
    with pytest.raises(ValueError, match="class_weight needs class labels"):
        cr.mlp([4, 1]).fit(X, y.astype(float), loss=cr.MSE(), optimizer=cr.SGD(lr=0.1),
                           class_weight="balanced", verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight must have at least one positive weight, "
                                         r"got all 10 equal to 0"):
        fit(sample_weight=np.zeros(10))
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match=rf"sample_weight must be finite and >= 0, found {bad}"):
            fit(sample_weight=np.r_[np.ones(9), bad])
    with pytest.raises(ValueError, match=r"class_weight \(for the classes present\) must have at "
                                         r"least one positive weight"):
        fit(class_weight={0: 0.0, 1: 0.0, 2: 0.0})
    with pytest.raises(ValueError, match=r"sample_weight times class_weight must have at least one"):
        fit(sample_weight=(y == 0).astype(float), class_weight={0: 0.0})
    with pytest.raises(ValueError, match=r"validation_split=0.5 holds out every row of positive "
                                         r"weight"):
        w = np.zeros(10)
        w[0] = 1.0
        cr.mlp([4, 1]).fit(X, y.astype(float), loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), verbose=0,
                           sample_weight=w, validation_split=0.5, seed=_seed_holding_out_row_0(X))


def _seed_holding_out_row_0(X):
    """A seed whose validation_split=0.5 of (X, y) (not stratified: MSE) holds out row 0."""
    from chainrule.train.sampling import validation_rows
    return next(seed for seed in range(100)
                if 0 in validation_rows(len(X), 0.5, None, np.random.default_rng(seed)))


def _weighted_fit(dtype, sample_weight=None, class_weight=None, epochs=3):
    X, y = _classification(n=40, seed=8)
    net = cr.mlp([4, 6, 3], hidden="tanh", output="softmax", seed=0, dtype=dtype)
    history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.01), epochs=epochs,
                      batch_size=8, seed=1, validation_split=0.25, sample_weight=sample_weight,
                      class_weight=class_weight, verbose=0)
    return net, history


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-300, 1e-50, 1.0, 1e300, 1.5e308])
def test_equal_weights_of_any_scale_train_exactly_as_no_weights(dtype, scale):
    """Weights are relative: 1e-50 does not vanish in float32 (no step at all) nor 1e300
    overflow (a DivergenceError); equal ones take the unweighted path, bitwise."""
    plain, plain_history = _weighted_fit(dtype)
    weighted, history = _weighted_fit(dtype, sample_weight=np.full(40, scale))
    assert weighted.flat_params.tobytes() == plain.flat_params.tobytes()
    assert history.history == plain_history.history
    by_class, _ = _weighted_fit(dtype, class_weight={0: scale, 1: scale, 2: scale})
    assert by_class.flat_params.tobytes() == plain.flat_params.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unequal_weights_mean_the_same_at_any_scale(dtype):
    w = np.random.default_rng(9).uniform(0.1, 3.0, 40)
    plain, _ = _weighted_fit(dtype)
    reference, _ = _weighted_fit(dtype, sample_weight=w)
    assert not np.allclose(reference.flat_params, plain.flat_params)  # the weights change training
    for scale in (1e-50, 1e300):
        scaled, _ = _weighted_fit(dtype, sample_weight=w * scale)
        np.testing.assert_allclose(scaled.flat_params, reference.flat_params,
                                   rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_validation_split_is_stratified_and_seeded():
    X, y = _classification(n=200, seed=7)
    X = np.column_stack([X, np.arange(200)])     # a column that identifies each row
    held = []  # the validation rows fit evaluates, recovered by the id column
    net = cr.Sequential([cr.Dense(5, 3, seed=0, dtype=np.float64), cr.Softmax()])
    from chainrule.train import loop as training
    original = training._validation_logs

    def spy(net_, validation, loss, metric_functions):
        held.append(validation[0][:, -1].astype(int))
        return original(net_, validation, loss, metric_functions)

    training._validation_logs = spy
    try:
        h = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.01), validation_split=0.25,
                    epochs=2, seed=3, verbose=0)
        net2 = cr.Sequential([cr.Dense(5, 3, seed=0, dtype=np.float64), cr.Softmax()])
        net2.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.01), validation_split=0.25,
                 epochs=1, seed=3, verbose=0)
    finally:
        training._validation_logs = original
    val = held[0]
    np.testing.assert_array_equal(held[0], held[1])    # the same rows every epoch
    np.testing.assert_array_equal(held[0], held[2])    # and for the same seed
    for c in range(3):
        share = np.mean(y[val] == c)
        assert abs(share - np.mean(y == c)) < 0.02, (c, share)   # per class, up to rounding
    assert abs(len(val) - 50) <= 2 and "val_loss" in h.history and "val_accuracy" in h.history


def test_validation_split_errors():
    X, y = _classification(n=10)
    net = _softmax_net()
    kw = dict(loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.1), verbose=0)
    with pytest.raises(ValueError, match="either validation_data or validation_split"):
        net.fit(X, y, validation_split=0.2, validation_data=(X, y), **kw)
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\), got 1.0"):
        net.fit(X, y, validation_split=1.0, **kw)
    with pytest.raises(ValueError, match="leaves .* for validation"):
        net.fit(X, y, validation_split=0.01, **kw)


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(8)
    A = rng.random((50, 4))
    y = rng.integers(0, 4, 50)
    pred = A.argmax(axis=1)
    from chainrule.train import metrics
    assert metrics.get("precision")(A, y) == pytest.approx(
        skm.precision_score(y, pred, average="macro", zero_division=0))
    assert metrics.get("recall")(A, y) == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert metrics.get("f1")(A, y) == pytest.approx(skm.f1_score(y, pred, average="macro"))
    for k in (1, 2, 3):
        assert metrics.get(f"top_{k}_accuracy")(A, y) == pytest.approx(
            skm.top_k_accuracy_score(y, A, k=k, labels=range(4)))
    assert metrics.get("top_k_accuracy")(A, y) == 1.0   # k = 5 >= 4 classes
    R, t = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    assert metrics.r2(R, t) == pytest.approx(skm.r2_score(t, R))
    assert metrics.mae(R, t) == pytest.approx(skm.mean_absolute_error(t, R))
    with pytest.raises(ValueError, match="unknown metric 'f2'"):
        metrics.get("f2")


def test_metrics_are_computed_on_validation_each_epoch():
    X, y = _classification(n=80, seed=9)
    X_val, y_val = _classification(n=40, seed=10)
    net = _softmax_net()
    h = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.05), epochs=3, verbose=0,
                validation_data=(X_val, y_val), metrics=("accuracy", "f1", "recall"))
    assert len(h["val_f1"]) == 3
    pred = net.predict(X_val).argmax(axis=1)
    assert h["val_f1"][-1] == pytest.approx(skm.f1_score(y_val, pred, average="macro"))
    assert h["val_recall"][-1] == pytest.approx(skm.recall_score(y_val, pred, average="macro"))
    assert h["val_accuracy"][-1] == pytest.approx(skm.accuracy_score(y_val, pred))
    assert h["val_loss"][-1] == pytest.approx(net.evaluate(X_val, y_val, loss=cr.CrossEntropy(),
                                                           metrics=())["loss"], rel=1e-12)
    reg = cr.mlp([4, 1], seed=0).fit(X, X[:, 0], loss=cr.MSE(), optimizer=cr.SGD(lr=0.1),
                                     validation_data=(X_val, X_val[:, 0]), metrics=("r2", "mae"),
                                     verbose=0)
    assert set(reg.history) == {"loss", "val_loss", "val_r2", "val_mae", "lr"}


@pytest.mark.parametrize("loss,score", [(cr.MSE(), skm.mean_squared_error),
                                        (cr.MAE(), skm.mean_absolute_error)], ids=repr)
def test_sample_weight_in_regression_is_sklearns_weighted_mean(loss, score):
    rng = np.random.default_rng(11)
    X, y, w = rng.normal(size=(30, 4)), rng.normal(size=30), rng.uniform(0, 2, 30)
    net = cr.mlp([4, 5, 1], seed=0, dtype=np.float64)
    A = net.predict(X)
    h = net.fit(X, y, loss=loss, optimizer=cr.SGD(lr=1e-30), batch_size=None, sample_weight=w,
                verbose=0)
    assert h["loss"][0] == pytest.approx(score(y, A[:, 0], sample_weight=w), rel=1e-12)


def test_stratified_shuffling_puts_every_class_in_every_batch():
    rng = np.random.default_rng(12)
    n = 200
    y = np.r_[np.zeros(180, int), np.ones(14, int), np.full(6, 2)]   # 90% / 7% / 3%
    X = np.column_stack([rng.normal(size=(n, 3)), np.arange(n)])    # last column: row id
    seen = []
    net = cr.Sequential([cr.Dense(4, 3, seed=0, dtype=np.float64), cr.Softmax()])
    original = net.forward_backward
    net.forward_backward = lambda Xb, Yb, loss: (seen.append(Xb[:, -1].astype(int)),
                                                 original(Xb, Yb, loss))[1]
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=1e-6), epochs=2, batch_size=20,
            shuffle="stratified", seed=0, verbose=0)
    epochs = [seen[:10], seen[10:]]
    for batches in epochs:
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))  # each row once
        for rows in batches:
            counts = np.bincount(y[rows], minlength=3)
            assert np.all(np.abs(counts - 20 * np.array([0.9, 0.07, 0.03])) <= 1), counts
    assert not np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))  # reshuffled
    # a plain shuffle leaves batches with none of the rare classes
    plain = np.random.default_rng(0).permutation(n)
    assert any(np.bincount(y[plain[i:i + 20]], minlength=3)[2] == 0 for i in range(0, n, 20))
    with pytest.raises(ValueError, match="shuffle='stratified' needs class labels"):
        cr.mlp([4, 1]).fit(X, y.astype(float), loss=cr.MSE(), optimizer=cr.SGD(lr=0.1),
                           shuffle="stratified", verbose=0)
    with pytest.raises(ValueError, match="shuffle must be True, False or 'stratified'"):
        net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.1), shuffle="yes", verbose=0)
