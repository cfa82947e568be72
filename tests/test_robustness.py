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
    with pytest.raises(cr.DivergenceError, match=r"epoch 0, batch 0: the update made the "
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
        net.fit(X, y * 1e20, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), epochs=3, verbose=0)
